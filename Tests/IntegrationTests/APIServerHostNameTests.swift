import Foundation
import TestKubernetesAPI
import Testing

/// A kubeconfig naming its API server by host name, as nearly every real one does: the name is
/// resolved, the certificate verified against it, and pods get their role; a name that does not
/// resolve is reported as such, naming the host, in the pod's warning and the log.
@Suite(.timeLimit(.minutes(2))) struct APIServerHostNameTests {
    static let role = "arn:aws:iam::111122223333:role/by-host-name"

    @Test func kubeconfigNamingTheServerLocalhostGivesThePodItsRole() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let api = try FakeKubernetesAPI()
        try api.setAccounts(["default/app-sa": ["vultr.com/role-arn": Self.role]])
        let kubeconfig = api.kubeconfig.replacingOccurrences(of: "server: https://127.0.0.1:", with: "server: https://localhost:")
        #expect(kubeconfig.contains("server: https://localhost:"))
        let (webhook, port, caFile) = try await Self.startWebhook(kubeconfig: { _ in kubeconfig }, apiTimeout: "2s", in: directory)

        #expect(try await webhook.waitForOutput(containing: "Kubernetes API reachable", timeout: .seconds(20)), "\(webhook.output)")
        let answer = try await Self.admit(port: port, caFile: caFile)
        let json = try #require(answer.json, "\(answer.body)")
        let patch = try #require(try TestTools.patch(of: json), "\(answer.body)")
        #expect("\(patch)".contains(Self.role), "\(patch)")
        #expect(try await TestTools.curl("GET", port: port, path: "/readyz", caFile: caFile).status == 200)
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }

    @Test func unresolvableServerNameIsReportedNamingTheHost() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let host = "irsa-webhook-api.invalid"  // RFC 6761: never resolves
        let (webhook, port, caFile) = try await Self.startWebhook(kubeconfig: { certificateAuthorityPEM in
            FakeKubernetesAPI.kubeconfig(port: 6443, certificateAuthorityPEM: certificateAuthorityPEM, token: "unused-token")
                .replacingOccurrences(of: "server: https://127.0.0.1:", with: "server: https://\(host):")
        }, apiTimeout: "500ms", in: directory)

        let start = ContinuousClock.now
        let answer = try await Self.admit(port: port, caFile: caFile)
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(4), "answered after \(elapsed)")
        let response = try #require((answer.json?["response"]) as? [String: Any], "\(answer.body)")
        #expect(response["allowed"] as? Bool == true, "\(response)")
        let warnings = response["warnings"] as? [String] ?? []
        #expect(warnings.count == 1 && warnings[0].contains(host) && warnings[0].contains("resolve"), "\(warnings)")
        #expect(try await webhook.waitForOutput(containing: "cannot resolve host \\\"\(host)\\\"", timeout: .seconds(5)), "\(webhook.output)")
        #expect(!webhook.output.contains("not a numeric"), "\(webhook.output)")
        #expect(try await TestTools.curl("GET", port: port, path: "/readyz", caFile: caFile).status == 503)
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }

    /// The webhook with the kubeconfig `kubeconfig` builds from a CA certificate (PEM).
    private static func startWebhook(kubeconfig: (String) -> String, apiTimeout: String, in directory: URL) async throws
        -> (WebhookProcess, port: Int, caFile: String) {
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let path = try TestTools.write(kubeconfig(try String(contentsOfFile: tls.certificate, encoding: .utf8)), to: "kubeconfig", in: directory)
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "1", "--api-timeout", apiTimeout,
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key, "--kubeconfig", path,
        ])
        return (webhook, try await webhook.listeningPort(), tls.certificate)
    }

    private static func admit(port: Int, caFile: String) async throws -> TestTools.HTTPAnswer {
        try await TestTools.curl(
            "POST", port: port, path: "/mutate", caFile: caFile, contentType: "application/json",
            bodyFile: TestTools.root.appendingPathComponent("deploy/dev/review.json").path)
    }
}
