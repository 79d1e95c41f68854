import Foundation
import Testing
import Yams

/// deploy/make-kubeconfig.sh, run with the real kubectl against a TokenRequest endpoint on
/// 127.0.0.1 (a small HTTPS server in Python that answers `kubectl create token` as the API
/// server does and records what it was asked).
@Suite("deploy/make-kubeconfig.sh")
struct DeployKubeconfigTests {
    static let script = Deploy.url("make-kubeconfig.sh").path

    /// Answers POST .../serviceaccounts/NAME/token with a TokenRequest, anything else with 404;
    /// prints its port, then one JSON line per request (method, path, Authorization, body hex).
    static let tokenServer = #"""
    import http.server, json, ssl, sys
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args): pass
        def record(self, body):
            print(json.dumps({"method": self.command, "path": self.path, "authorization": self.headers.get("Authorization"),
                              "body": body.hex()}), flush=True)
        def do_GET(self):
            self.record(b""); self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.record(body)
            answer = json.dumps({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                                 "status": {"token": "token-of-the-webhook", "expirationTimestamp": "2030-01-01T00:00:00Z"}}).encode()
            self.send_response(201); self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer))); self.end_headers(); self.wfile.write(answer)
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); context.load_cert_chain(sys.argv[1], sys.argv[2])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.timeout = 1
    for _ in range(60):
        server.handle_request()
    """#

    /// The environment with KUBECONFIG (and HOME, for kubectl's cache) pointing into `directory`.
    static func environment(kubeconfig: String, home: URL) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["KUBECONFIG"] = kubeconfig
        environment["HOME"] = home.path
        return environment
    }

    @Test("writes a kubeconfig with the context's server and CA and a ServiceAccount token of the asked lifetime",
          .enabled(if: Deploy.which("kubectl") != nil, "kubectl is not installed"))
    func writesKubeconfig() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (certificate, key) = try await TestTools.makeCertificate(in: directory, name: "api", commonName: "fake API")
        let log = directory.appendingPathComponent("requests.log")
        try Data().write(to: log)
        let logHandle = try FileHandle(forWritingTo: log)
        defer { try? logHandle.close() }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-c", Self.tokenServer, certificate, key]
        server.standardOutput = logHandle
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate(); server.waitUntilExit() } }

        var port: String?
        let deadline = ContinuousClock.now + .seconds(10)
        while port == nil, ContinuousClock.now < deadline, server.isRunning {
            port = (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").first.map(String.init)
            if port == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        let listening = try #require(port, "the token server did not start")
        let admin = try TestTools.write("""
            apiVersion: v1
            kind: Config
            clusters: [{name: fake, cluster: {server: "https://127.0.0.1:\(listening)", certificate-authority: "\(certificate)"}}]
            users: [{name: admin, user: {token: admin-token}}]
            contexts: [{name: admin@fake, context: {cluster: fake, user: admin}}]
            current-context: admin@fake
            """, to: "admin.kubeconfig", in: directory)

        let out = directory.appendingPathComponent("webhook.kubeconfig")
        let result = try await TestTools.run(["bash", Self.script, "--out", out.path, "--duration", "720h", "--namespace", "team-a"],
                                             environment: Self.environment(kubeconfig: admin, home: directory), timeout: .seconds(60))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(!result.stderr.contains("token-of-the-webhook"), "the token is written to the file only")

        let mode = try FileManager.default.attributesOfItem(atPath: out.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let kubeconfig = try #require(try Yams.compose(yaml: String(contentsOf: out, encoding: .utf8)))
        let cluster = kubeconfig["clusters"]?[0]?["cluster"]
        #expect(cluster?["server"]?.string == "https://127.0.0.1:\(listening)")
        let caData = Data(base64Encoded: cluster?["certificate-authority-data"]?.string ?? "")
        #expect(caData == (try Data(contentsOf: URL(fileURLWithPath: certificate))), "the CA is the context's, inlined")
        #expect(kubeconfig["users"]?[0]?["user"]?["token"]?.string == "token-of-the-webhook")
        #expect(kubeconfig["current-context"]?.string == "irsa-webhook")
        #expect(kubeconfig["contexts"]?[0]?["context"]?["namespace"]?.string == "team-a")

        let requests = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").dropFirst()
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let tokenRequest = try #require(requests.first { $0["method"] as? String == "POST" })
        #expect(tokenRequest["path"] as? String == "/api/v1/namespaces/team-a/serviceaccounts/irsa-webhook/token")
        #expect(tokenRequest["authorization"] as? String == "Bearer admin-token")
        // spec.expirationSeconds = 2,592,000 (720h): protobuf varint 80 9a 9e 01, or "2592000" in JSON.
        let body = tokenRequest["body"] as? String ?? ""
        #expect(body.contains("809a9e01") || body.contains("32353932303030"), "the token's lifetime is the asked one: \(body)")
    }

    @Test("without a kubectl context it stops with a message and exit code 1, writing nothing",
          .enabled(if: Deploy.which("kubectl") != nil, "kubectl is not installed"))
    func noContext() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let empty = try TestTools.write("apiVersion: v1\nkind: Config\n", to: "empty.kubeconfig", in: directory)
        let out = directory.appendingPathComponent("webhook.kubeconfig")
        let result = try await TestTools.run(["bash", Self.script, "--out", out.path],
                                             environment: Self.environment(kubeconfig: empty, home: directory), timeout: .seconds(30))
        #expect(result.status == 1)
        #expect(result.stderr.contains("make-kubeconfig.sh: no kubectl context"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test("--help prints the usage on standard output and exits 0")
    func help() async throws {
        let result = try await TestTools.run(["bash", Self.script, "--help"], timeout: .seconds(20))
        #expect(result.status == 0)
        #expect(result.stdout.contains("Usage:") && result.stdout.contains("--duration"))
        #expect(result.stderr.isEmpty)
    }

    @Test("bad arguments are refused with a message and exit code 2",
          arguments: [[String](), ["--out"], ["--out", "x", "--duration", "1y"], ["--out", "x", "--namespace", "Team_A"], ["--frobnicate"]])
    func badArguments(arguments: [String]) async throws {
        let result = try await TestTools.run(["bash", Self.script] + arguments, timeout: .seconds(20))
        #expect(result.status == 2)
        #expect(result.stderr.contains("make-kubeconfig.sh"))
        #expect(result.stdout.isEmpty)
    }
}
