extension FakeKubernetesAPI {
    /// The fake API server: Python's http.server over TLS on 127.0.0.1 port 0 (the port is printed
    /// on stdout). It serves GET /api/v1/namespaces/{ns}/serviceaccounts/{name} from
    /// `accounts.json` in its state directory as real ServiceAccount JSON, 404 with a real Status
    /// otherwise, checks the bearer token, appends every request to `requests.log`, and obeys
    /// `control.json` (re-read per request): `delay` seconds before answering, answer `status`
    /// (with `retryAfter`) instead, or `drop` the connection without answering; all of these for
    /// the first `times` requests since the control's `id` changed (every request when absent).
    static let script = #"""
    import json, os, socket, ssl, sys, threading, time, urllib.parse
    from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

    state, token, cert, key, client_ca = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
    lock = threading.Lock()
    applied = {}

    def read_json(name, default):
        try:
            with open(os.path.join(state, name)) as f:
                return json.load(f)
        except FileNotFoundError:
            return default

    def status_body(code, reason, message):
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send_json(self, code, body, extra=()):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            with lock:
                with open(os.path.join(state, "requests.log"), "a") as log:
                    log.write("%s %s\n" % (self.path, self.headers.get("Authorization", "-")))
                control = read_json("control.json", {})
                cid = control.get("id", 0)
                applied[cid] = applied.get(cid, 0) + 1
                nth = applied[cid]
            times = control.get("times")
            if times is not None and nth > times:
                control = {}
            if control.get("delay"):
                time.sleep(control["delay"])
            if control.get("drop"):
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            status = control.get("status")
            if status:
                extra = [("Retry-After", control["retryAfter"])] if control.get("retryAfter") else []
                return self.send_json(status, status_body(status, "Injected", "injected status %d" % status), extra)
            if token and self.headers.get("Authorization") != "Bearer " + token:
                return self.send_json(401, status_body(401, "Unauthorized", "Unauthorized"))
            parts = [urllib.parse.unquote(p) for p in self.path.split("?")[0].split("/")]
            if len(parts) != 7 or parts[1:4] != ["api", "v1", "namespaces"] or parts[5] != "serviceaccounts":
                return self.send_json(404, status_body(404, "NotFound", "the server could not find the requested resource"))
            namespace, name = parts[4], parts[6]
            account = read_json("accounts.json", {}).get(namespace + "/" + name)
            if account is None:
                return self.send_json(404, status_body(404, "NotFound", 'serviceaccounts "%s" not found' % name))
            self.send_json(200, {"kind": "ServiceAccount", "apiVersion": "v1",
                                 "metadata": {"name": name, "namespace": namespace, "uid": "0d1f3c52-3c3a-4b7e-9e43-5c2b8f0e6a11",
                                              "resourceVersion": "4711", "creationTimestamp": "2026-01-01T00:00:00Z",
                                              "annotations": account}})

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if client_ca != "-":
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    def exit_when_parent_goes():
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """#
}
