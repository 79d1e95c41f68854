import Foundation
import TestKubernetesAPI
import Testing

/// Neither the API bearer token nor the TLS private key ever reaches the log, even at trace
/// level, across a full flow: API lookups (found, not found), a mutation, a bad request, a
/// certificate reload and a shutdown. The second test adds mutual TLS to the API (a client key
/// in the kubeconfig), a rotated `tokenFile`, an API failure (500), an unusable key file on
/// reload, and an `Authorization` header sent to the webhook itself, in both log formats.
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
        // Rotate to a new pair in place: the reload logs what it loaded.
        let originalKey = try String(contentsOfFile: tls.key, encoding: .utf8)
        let rotated = try await TestTools.makeCertificate(in: directory, name: "rotated")
        try Data(contentsOf: URL(fileURLWithPath: rotated.key)).write(to: URL(fileURLWithPath: tls.key))
        try Data(contentsOf: URL(fileURLWithPath: rotated.certificate)).write(to: URL(fileURLWithPath: tls.certificate))
        #expect(try await webhook.waitForOutput(containing: "certificate reloaded", timeout: .seconds(5)))
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)

        let requests = api.requests
        // A GET of the account (get mode), or the LIST that filled the store (watch mode).
        #expect(requests.contains("/api/v1/namespaces/default/serviceaccounts/app-sa Bearer \(Self.token)")
            || requests.contains("/api/v1/serviceaccounts?limit=500 Bearer \(Self.token)"), "\(requests)")
        #expect(requests.allSatisfy { $0.hasSuffix(" Bearer \(Self.token)") }, "\(requests)")
        let log = webhook.output
        #expect(log.contains(#""level":"trace""#) || log.contains(#""level":"debug""#), "trace logging produced nothing verbose:\n\(log)")
        #expect(!log.contains(Self.token), "the bearer token was logged:\n\(log)")
        #expect(!log.contains("PRIVATE KEY"), "the private key was logged:\n\(log)")
        let keyBody = (originalKey + (try String(contentsOfFile: tls.key, encoding: .utf8)))
            .split(separator: "\n").filter { !$0.hasPrefix("-----") }
        for line in keyBody where line.count > 16 {
            #expect(!log.contains(line), "a line of the private key was logged")
        }
    }

    @Test(arguments: ["json", "text"])
    func traceLogsWithClientKeyTokenFileAndFailuresContainNoSecret(format: String) async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let client = try await TestTools.makeCertificate(in: directory, name: "client", commonName: "irsa-webhook client")
        let firstToken = "file-token-\(UUID().uuidString)"
        let secondToken = "rotated-token-\(UUID().uuidString)"
        let incomingToken = "incoming-\(UUID().uuidString)"
        let tokenFile = try TestTools.write(firstToken, to: "token", in: directory)
        let apiPort = try TestTools.freePort()
        let api = try WebhookProcess(
            ["python3", "-c", MutualTLSKubernetesAPI.script, "\(apiPort)", tls.certificate, tls.key, client.certificate, tokenFile],
            executable: "/usr/bin/env")
        #expect(try await api.waitForOutput(containing: "fake-api listening", timeout: .seconds(10)), "\(api.output)")
        func base64(_ path: String) throws -> String { try Data(contentsOf: URL(fileURLWithPath: path)).base64EncodedString() }
        let clientKeyData = try base64(client.key)
        let kubeconfig = try TestTools.write("""
            apiVersion: v1
            kind: Config
            clusters:
            - name: test
              cluster: {server: "https://127.0.0.1:\(apiPort)", certificate-authority-data: \(try base64(tls.certificate))}
            users:
            - name: test
              user: {client-certificate-data: \(try base64(client.certificate)), client-key-data: \(clientKeyData), tokenFile: token}
            contexts:
            - {name: test, context: {cluster: test, user: test}}
            current-context: test

            """, to: "kubeconfig", in: directory)
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "1",
            "--log-level", "trace", "--log-format", format,
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key, "--kubeconfig", kubeconfig,
            "--serviceaccount-source", "get",  // the API stand-in below answers GETs only
        ])
        let port = try await webhook.listeningPort()
        #expect(try await webhook.waitForOutput(containing: "Kubernetes API reachable", timeout: .seconds(10)), "\(webhook.output)")

        let review = try String(contentsOfFile: TestTools.root.appendingPathComponent("deploy/dev/review.json").path, encoding: .utf8)
        func admit(_ account: String) async throws -> Int {
            let body = try TestTools.write(review.replacingOccurrences(of: "\"app-sa\"", with: "\"\(account)\""), to: "\(account).json", in: directory)
            let answer = try await TestTools.run([
                "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "--cacert", tls.certificate,
                "-H", "Content-Type: application/json", "-H", "Authorization: Bearer \(incomingToken)",
                "--data-binary", "@\(body)", "https://127.0.0.1:\(port)/mutate",
            ], timeout: .seconds(15))
            return Int(answer.stdout) ?? -1
        }
        #expect(try await admit("app-sa") == 200)
        #expect(try await admit("boom-sa") == 200, "a failing lookup is answered (fail-open)")
        #expect(try await webhook.waitForOutput(containing: "ServiceAccount lookup failed", timeout: .seconds(5)), "\(webhook.output)")
        try secondToken.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .milliseconds(1_500))  // past the provider's 1 s check interval
        #expect(try await admit("other-sa") == 200)
        #expect(try await TestTools.curl("POST", port: port, path: "/mutate", caFile: tls.certificate,
                                         contentType: "application/json", bodyFile: try TestTools.write("{", to: "bad.json", in: directory)).status == 400)

        // An unusable key file: the reload fails and says so without quoting the file.
        let goodKey = try Data(contentsOf: URL(fileURLWithPath: tls.key))
        let badKeyLine = "bad-key-material-\(UUID().uuidString)"
        try "-----BEGIN PRIVATE KEY-----\n\(badKeyLine)\n-----END PRIVATE KEY-----\n".write(toFile: tls.key, atomically: false, encoding: .utf8)
        #expect(try await webhook.waitForOutput(containing: "certificate reload failed", timeout: .seconds(5)), "\(webhook.output)")
        try goodKey.write(to: URL(fileURLWithPath: tls.key))
        #expect(try await webhook.waitForOutput(containing: "certificate reloaded", timeout: .seconds(5)), "\(webhook.output)")
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)

        let apiLog = api.output
        for account in ["app-sa", "boom-sa", "other-sa"] {
            #expect(apiLog.contains("/serviceaccounts/\(account) authorized=True client-certificate=True"), "\(account):\n\(apiLog)")
        }
        #expect(!apiLog.contains("authorized=False"), "\(apiLog)")
        let log = webhook.output
        #expect(log.contains("trace") || log.contains("debug"), "trace logging produced nothing verbose:\n\(log)")
        for secret in [firstToken, secondToken, incomingToken, badKeyLine, "PRIVATE KEY"] {
            #expect(!log.contains(secret), "\(secret) was logged:\n\(log)")
        }
        #expect(!log.lowercased().contains("bearer"), "an Authorization header was logged:\n\(log)")
        #expect(!log.lowercased().contains("authorization"), "an Authorization header was logged:\n\(log)")
        let keyLines = try [tls.key, client.key].flatMap { path in
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("-----") && $0.count > 16 }
        }
        for line in keyLines { #expect(!log.contains(line), "a line of a private key was logged") }
        for offset in stride(from: 0, to: clientKeyData.count - 24, by: 24) {
            let chunk = clientKeyData.dropFirst(offset).prefix(24)
            #expect(!log.contains(chunk), "part of client-key-data was logged")
        }
    }
}

/// A stand-in Kubernetes API for `SecretLoggingTests`: HTTPS requiring a client certificate
/// signed by argv[4], and a bearer token equal to the current content of the file argv[5] (so a
/// rotation shows). `app-sa` and `other-sa` are annotated ServiceAccounts, `boom-sa` answers
/// 500, others 404. Logs the path and whether the token and a client certificate were presented.
private enum MutualTLSKubernetesAPI {
    static let script = #"""
import http.server, json, ssl, sys
port, cert, key, client_ca, token_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        token = open(token_file).read().strip()
        authorized = self.headers.get("Authorization") == "Bearer " + token
        has_certificate = self.connection.getpeercert() is not None
        print("fake-api %s %s authorized=%s client-certificate=%s" % (self.command, self.path, authorized, has_certificate), flush=True)
        name = self.path.rsplit("/", 1)[-1]
        if not authorized:
            status, body = 401, {"kind": "Status", "code": 401, "reason": "Unauthorized"}
        elif name == "boom-sa":
            status, body = 500, {"kind": "Status", "code": 500, "message": "internal error"}
        elif name in ("app-sa", "other-sa"):
            status, body = 200, {"kind": "ServiceAccount", "apiVersion": "v1", "metadata": {"name": name, "namespace": "default",
                "annotations": {"vultr.com/role-arn": "arn:aws:iam::111122223333:role/" + name}}}
        else:
            status, body = 404, {"kind": "Status", "code": 404, "reason": "NotFound"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *arguments): pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); context.load_cert_chain(cert, key)
context.verify_mode = ssl.CERT_REQUIRED; context.load_verify_locations(client_ca)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("fake-api listening on 127.0.0.1:%d" % port, flush=True)
server.serve_forever()
"""#
}

