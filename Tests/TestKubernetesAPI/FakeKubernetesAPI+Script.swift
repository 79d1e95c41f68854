extension FakeKubernetesAPI {
    /// The fake API server: Python's http.server over TLS on 127.0.0.1 (port 0 picks a free one;
    /// the port is printed on stdout). It serves the service account issuer's OIDC discovery as
    /// kube-apiserver does (GET /.well-known/openid-configuration: issuer, jwks_uri on this
    /// server, id_token, public, RS256; GET /openid/v1/jwks: `jwks.json` as application/jwk-set+json;
    /// both with Cache-Control public, max-age=3600), and GET /api/v1/namespaces/{ns}/serviceaccounts/{name}
    /// from `accounts.json` in its state directory as real ServiceAccount JSON, 404 with a real
    /// Status otherwise, checks the bearer token, appends every request to `requests.log`, and
    /// obeys `control.json` (re-read per request): `delay` seconds before answering, answer
    /// `status` (with `retryAfter`) instead, `drop` the connection without answering, or
    /// `truncate` the answer (head and half the body, then `stall` seconds, then close). All of these apply to the
    /// first `times` requests since the control's `id` changed (every request when absent), and
    /// with `flap` only during every other `flap` seconds counted from the first such request.
    /// TLS handshakes run in the connection's thread and the backlog is 128, so a burst of
    /// connections is not serialised behind one handshake or dropped by a full accept queue.
    static let script = #"""
    import json, os, socket, ssl, sys, threading, time, urllib.parse
    from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

    state, token, cert, key, client_ca, port, issuer = sys.argv[1:6] + [int(sys.argv[6]), sys.argv[7]]
    lock = threading.Lock()
    applied = {}
    first_seen = {}

    def read_json(name, default):
        try:
            with open(os.path.join(state, name)) as f:
                return json.load(f)
        except FileNotFoundError:
            return default

    def status_body(code, reason, message):
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}

    def control_for_this_request():
        with lock:
            control = read_json("control.json", {})
            cid = control.get("id", 0)
            applied[cid] = applied.get(cid, 0) + 1
            nth = applied[cid]
            started = first_seen.setdefault(cid, time.monotonic())
        times = control.get("times")
        if times is not None and nth > times:
            return {}
        flap = control.get("flap")
        if flap and int((time.monotonic() - started) / flap) % 2 == 1:
            return {}
        return control

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            self.request.do_handshake()
            super().setup()

        def log_message(self, *args):
            pass

        def send_json(self, code, body, extra=(), truncate=False, stall=0):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", dict(extra).get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra:
                if name != "Content-Type":
                    self.send_header(name, value)
            self.end_headers()
            if truncate:
                self.wfile.write(data[:len(data) // 2])
                time.sleep(stall)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                self.wfile.write(data)

        def do_GET(self):
            with lock:
                with open(os.path.join(state, "requests.log"), "a") as log:
                    log.write("%s %s\n" % (self.path, self.headers.get("Authorization", "-")))
            control = control_for_this_request()
            if control.get("delay"):
                time.sleep(control["delay"])
            if control.get("drop"):
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            code, body, extra = self.answer(control)
            self.send_json(code, body, extra, truncate=control.get("truncate", False), stall=control.get("stall", 0))

        def answer(self, control):
            status = control.get("status")
            if status:
                extra = [("Retry-After", control["retryAfter"])] if control.get("retryAfter") else []
                return status, status_body(status, "Injected", "injected status %d" % status), extra
            if token and self.headers.get("Authorization") != "Bearer " + token:
                return 401, status_body(401, "Unauthorized", "Unauthorized"), []
            path = self.path.split("?")[0]
            if path == "/.well-known/openid-configuration":
                return 200, {"issuer": issuer, "jwks_uri": "https://127.0.0.1:%d/openid/v1/jwks" % self.server.server_address[1],
                             "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
                             "id_token_signing_alg_values_supported": ["RS256"]}, [("Cache-Control", "public, max-age=3600")]
            if path == "/openid/v1/jwks":
                return 200, read_json("jwks.json", {}), [("Content-Type", "application/jwk-set+json"),
                                                         ("Cache-Control", "public, max-age=3600")]
            parts = [urllib.parse.unquote(p) for p in path.split("/")]
            if len(parts) != 7 or parts[1:4] != ["api", "v1", "namespaces"] or parts[5] != "serviceaccounts":
                return 404, status_body(404, "NotFound", "the server could not find the requested resource"), []
            namespace, name = parts[4], parts[6]
            account = read_json("accounts.json", {}).get(namespace + "/" + name)
            if account is None:
                return 404, status_body(404, "NotFound", 'serviceaccounts "%s" not found' % name), []
            return 200, {"kind": "ServiceAccount", "apiVersion": "v1",
                         "metadata": {"name": name, "namespace": namespace, "uid": "0d1f3c52-3c3a-4b7e-9e43-5c2b8f0e6a11",
                                      "resourceVersion": "4711", "creationTimestamp": "2026-01-01T00:00:00Z",
                                      "annotations": account}}, []

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if client_ca != "-":
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    def exit_when_parent_goes():
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """#
}
