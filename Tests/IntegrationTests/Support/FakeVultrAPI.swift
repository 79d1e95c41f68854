import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A stand-in for Vultr's API on 127.0.0.1 over real HTTPS (a Python process with a certificate
/// made by openssl at start), serving `POST /v2/oidc/issuer` as the issuer command uses it and
/// recording every request. It answers 401 unless the bearer token is `apiKey`, 400 with
/// `rejection` as the API's error message when one is given, and otherwise 201 with the
/// registered issuer. It exits when the test process drops it or dies.
final class FakeVultrAPI: @unchecked Sendable {
    /// One request as the fake saw it.
    struct Request {
        var method: String
        var path: String
        var authorization: String?
        var contentType: String?
        var body: String
    }

    let port: Int
    /// The server certificate, its own CA: clients trust it with SSL_CERT_FILE.
    let certificateFile: String
    private let directory: URL
    private let process = Process()
    private let lifeline = Pipe()

    static let script = #"""
import http.server, json, os, ssl, sys, threading
cert, key, api_key, rejection, log = sys.argv[1:6]

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(log, "a") as f:
            f.write(json.dumps({"method": "POST", "path": self.path, "authorization": self.headers.get("Authorization"),
                                "contentType": self.headers.get("Content-Type"), "body": body.decode("utf-8", "replace")}) + "\n")
        if self.path != "/v2/oidc/issuer":
            status, answer = 404, {"error": "Invalid API path.", "status": 404}
        elif self.headers.get("Authorization") != "Bearer " + api_key:
            status, answer = 401, {"error": "Invalid API token.", "status": 401}
        elif rejection:
            status, answer = 400, {"error": rejection, "status": 400}
        else:
            status, answer = 201, {"oidc_issuer": dict(json.loads(body), id="cb676a46-66fd-4dfb-b839-443f2e6c0b60")}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
server.serve_forever()
"""#

    /// Starts the fake; it accepts the bearer token `apiKey`.
    init(apiKey: String, rejection: String = "") async throws {
        directory = try TestTools.temporaryDirectory()
        let tls = try await TestTools.makeCertificate(in: directory, name: "vultr", commonName: "fake Vultr API")
        certificateFile = tls.certificate
        let script = try TestTools.write(Self.script, to: "fake-vultr-api.py", in: directory)
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", script, tls.certificate, tls.key, apiKey, rejection, directory.appendingPathComponent("requests.jsonl").path,
        ]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = lifeline
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            throw TestToolError("the fake Vultr API did not start: \(line)")
        }
        self.port = port
    }

    deinit {
        try? lifeline.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The URL to pass as --vultr-api-url.
    var url: String { "https://127.0.0.1:\(port)" }

    private var requestLog: String { directory.appendingPathComponent("requests.jsonl").path }

    /// Every request received so far, oldest first.
    var requests: [Request] {
        let text = (try? String(contentsOfFile: requestLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Request(method: object["method"] as? String ?? "", path: object["path"] as? String ?? "",
                           authorization: object["authorization"] as? String, contentType: object["contentType"] as? String,
                           body: object["body"] as? String ?? "")
        }
    }
}
