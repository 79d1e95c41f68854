import Foundation

/// A stand-in Kubernetes API over HTTPS, written in Python: answers
/// `GET /api/v1/namespaces/default/serviceaccounts/app-sa` with an annotated ServiceAccount when
/// the bearer token matches, 404 for other accounts, 401 without the token. Logs one line per
/// request (method, path, whether the token matched; never the token).
enum FakeKubernetesAPI {
    static let script = #"""
import http.server, json, ssl, sys
port, cert, key, token = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        authorized = self.headers.get("Authorization") == "Bearer " + token
        print("fake-api %s %s authorized=%s" % (self.command, self.path, authorized), flush=True)
        if not authorized:
            status, body = 401, {"kind": "Status", "code": 401}
        elif self.path == "/api/v1/namespaces/default/serviceaccounts/app-sa":
            status, body = 200, {"kind": "ServiceAccount", "apiVersion": "v1", "metadata": {"name": "app-sa", "namespace": "default",
                "annotations": {"vultr.com/role-arn": "arn:aws:iam::111122223333:role/from-api"}}}
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
server.socket = context.wrap_socket(server.socket, server_side=True)
print("fake-api listening on 127.0.0.1:%d" % port, flush=True)
server.serve_forever()
"""#

    /// Starts the fake API on `port` (killed when the returned process is released).
    static func start(port: Int, certificate: String, key: String, token: String) async throws -> WebhookProcess {
        let api = try WebhookProcess(
            ["python3", "-c", script, "\(port)", certificate, key, token], executable: "/usr/bin/env")
        guard try await api.waitForOutput(containing: "fake-api listening", timeout: .seconds(10)) else {
            throw TestToolError("the fake Kubernetes API did not start:\n\(api.output)")
        }
        return api
    }

    /// A kubeconfig for `https://127.0.0.1:<port>` trusting `caFile`, with a bearer token.
    static func kubeconfig(port: Int, caFile: String, token: String) throws -> String {
        let authority = try Data(contentsOf: URL(fileURLWithPath: caFile)).base64EncodedString()
        return """
        apiVersion: v1
        kind: Config
        clusters:
        - name: test
          cluster:
            server: https://127.0.0.1:\(port)
            certificate-authority-data: \(authority)
        users:
        - name: test
          user:
            token: \(token)
        contexts:
        - name: test
          context:
            cluster: test
            user: test
        current-context: test

        """
    }
}
