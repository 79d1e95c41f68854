import Foundation
import TestKubernetesAPI
import Testing

/// Neither the API bearer token nor the TLS private key ever reaches the log, even at trace
/// level, across a full flow: API lookups (found, not found), a mutation, a bad request, a
/// certificate reload and a shutdown.
@Suite struct SecretLoggingTests {
    static let token = "secret-token-XYZ"

    @Test func traceLogsContainNoTokenAndNoKey() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let api = try FakeKubernetesAPI(token: Self.token)
        try api.setAccounts(["default/app-sa": ["vultr.com/role-arn": "arn:aws:iam::111122223333:role/from-api"]])
        let kubeconfig = try TestTools.write(api.kubeconfig, to: "kubeconfig", in: directory)
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "1",
            "--log-level", "trace", "--log-format", "json",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key, "--kubeconfig", kubeconfig,
        ])
        let port = try await webhook.listeningPort()
        #expect(try await webhook.waitForOutput(containing: "Kubernetes API reachable", timeout: .seconds(10)), "\(webhook.output)")

        let reviewFile = TestTools.root.appendingPathComponent("deploy/dev/review.json").path
        let mutated = try await TestTools.curl(
            "POST", port: port, path: "/mutate", caFile: tls.certificate, contentType: "application/json", bodyFile: reviewFile)
        #expect(mutated.status == 200)
        let mutatedJSON = try #require(mutated.json, "\(mutated.body)")
        let operations = try #require(try TestTools.patch(of: mutatedJSON), "\(mutated.body)")
        #expect(String(decoding: try JSONSerialization.data(withJSONObject: operations), as: UTF8.self)
            .contains("from-api"), "the role did not come from the API")
        let unknown = try await TestTools.curl(
            "POST", port: port, path: "/mutate", caFile: tls.certificate, contentType: "application/json",
            bodyFile: TestTools.root.appendingPathComponent("Tests/AdmissionTests/Fixtures/apiserver-sample.review.json").path)
        #expect(unknown.status == 200)
        let bad = try TestTools.write("{", to: "bad.json", in: directory)
        #expect(try await TestTools.curl("POST", port: port, path: "/mutate", caFile: tls.certificate,
                                         contentType: "application/json", bodyFile: bad).status == 400)
        // Rewrite the key file in place: the reload logs what it loaded.
        try Data(contentsOf: URL(fileURLWithPath: tls.key)).write(to: URL(fileURLWithPath: tls.key))
        #expect(try await webhook.waitForOutput(containing: "certificate reloaded", timeout: .seconds(5)))
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)

        let requests = api.requests
        #expect(requests.contains("/api/v1/namespaces/default/serviceaccounts/app-sa Bearer \(Self.token)"), "\(requests)")
        #expect(requests.allSatisfy { $0.hasSuffix(" Bearer \(Self.token)") }, "\(requests)")
        let log = webhook.output
        #expect(log.contains(#""level":"trace""#) || log.contains(#""level":"debug""#), "trace logging produced nothing verbose:\n\(log)")
        #expect(!log.contains(Self.token), "the bearer token was logged:\n\(log)")
        #expect(!log.contains("PRIVATE KEY"), "the private key was logged:\n\(log)")
        let keyBody = try String(contentsOfFile: tls.key, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("-----") }
        for line in keyBody where line.count > 16 {
            #expect(!log.contains(line), "a line of the private key was logged")
        }
    }
}
