extension FakeKubernetesAPI {
    /// The fake API server: Python's threading http.server over TLS on 127.0.0.1 (port 0 picks a
    /// free one; the port is the first line on stdout). Arguments: state directory, token (empty:
    /// any), certificate, key, client CA ("-": none), port, issuer. It answers as kube-apiserver does:
    ///
    /// - Leases: see `leaseScript`.
    /// - Every request is appended to `requests.log` ("<path with query> <Authorization or ->") and
    ///   needs `Authorization: Bearer <token>` (401 Unauthorized otherwise). Errors carry a real
    ///   Status (kind, apiVersion, status Failure, message, reason, code, details).
    /// - GET /.well-known/openid-configuration: issuer, jwks_uri (https://127.0.0.1:<port>/openid/v1/jwks),
    ///   response_types_supported [id_token], subject_types_supported [public],
    ///   id_token_signing_alg_values_supported [RS256]; GET /openid/v1/jwks: `jwks.json` as
    ///   application/jwk-set+json. Both with Cache-Control public, max-age=3600.
    /// - ServiceAccounts carry name, namespace, uid, a creationTimestamp, annotations (omitted when
    ///   none) and their resourceVersion: one global counter (digits), raised by every change.
    /// - GET /api/v1/namespaces/{ns}/serviceaccounts/{name}: the object, or 404 NotFound.
    /// - LIST /api/v1/serviceaccounts and /api/v1/namespaces/{ns}/serviceaccounts: a
    ///   ServiceAccountList (items without kind and apiVersion) ordered by namespace/name as etcd
    ///   orders keys. `limit` pages it: `metadata.continue` (opaque: base64url of
    ///   {"v":"meta.k8s.io/v1","rv":<first page's rv>,"start":"<next key>"}) and
    ///   `metadata.remainingItemCount`; every page is a consistent snapshot at the first page's
    ///   `metadata.resourceVersion`, whatever changes in between. A continue token whose snapshot
    ///   is gone (after `compact()`, beyond the 16 newest snapshots, or `expireContinueTokens`)
    ///   gets 410 Expired with a `metadata.continue` that goes on at the latest version
    ///   (inconsistently), as etcd3 storage does. `resourceVersion` unset: the latest; "0": the
    ///   latest and `limit` ignored (the watch cache's full list); N (NotOlderThan or no match):
    ///   at least N, waiting up to 3 s, then 504 Timeout "Too large resource version";
    ///   `resourceVersionMatch=Exact`: exactly N, rebuilt from the history, 410 Expired when older.
    ///   `resourceVersionMatch` without `resourceVersion` is 422 Invalid; `resourceVersion` with
    ///   `continue` is 400 BadRequest.
    /// - WATCH (the same paths with `watch=1` or `watch=true`): 200 with Transfer-Encoding chunked,
    ///   one `{"type":...,"object":...}` line per event (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR),
    ///   through a 4096-byte buffer flushed when no event is pending, as Go's net/http does (so a
    ///   burst shares a chunk and a long event spans chunks). `resourceVersion=N` replays the events
    ///   after N from the history, then follows changes live (each watch waits on one condition
    ///   variable the commands notify; no polling); unset or "0": an ADDED event per existing
    ///   account first. A DELETED event carries the account's last state at the deletion's
    ///   resourceVersion. N older than the history (after `compact()` or `restart()`): one ERROR
    ///   event with a Status code 410, reason Expired, message "too old resource version: N (oldest)",
    ///   then the end of the stream (or HTTP 410 with `WatchBehaviour.gone = .httpStatus`).
    ///   `allowWatchBookmarks=true`: a BOOKMARK (kind, apiVersion, metadata.resourceVersion and
    ///   creationTimestamp null only) every bookmark interval and 2 s before `timeoutSeconds`;
    ///   `sendInitialEvents=true` (with `resourceVersionMatch=NotOlderThan`) ends its ADDED events
    ///   with a BOOKMARK annotated `k8s.io/initial-events-end: "true"`, the only one so annotated.
    ///   `timeoutSeconds` ends the stream cleanly (the terminating chunk).
    /// - Faults: `behave` (GET and LIST: delay, status with Retry-After, dropped connection, half a
    ///   body; `times`, flapping) and `behaveWatch` (see `WatchBehaviour`). `compact()` takes a
    ///   resourceVersion of its own, as a write to another resource would, and starts the history
    ///   and the continue tokens after it.
    /// - Commands: one JSON object per line on stdin, one JSON answer per line on stdout ({"error":
    ///   ...} on failure): set, upsert, delete, generate, compact, resourceVersion (these answer
    ///   {"resourceVersion"}), behave, behaveWatch, writeTimes, listTime, down, up, the Lease
    ///   commands (`leaseScript`): lease, leaseWrites, putLease, leaseFault, and those of
    ///   `webhookConfigurationScript`. EOF on stdin (the test process closed it or died) ends the process.
    /// - MutatingWebhookConfigurations: GET and server-side apply, see `webhookConfigurationScript`.
    ///
    /// TLS handshakes run in the connection's thread and the backlog is 128, so a burst of
    /// connections is not serialised behind one handshake or dropped by a full accept queue.
    static var script: String {
        [storeScript, leaseScript, handlerScript, watchScript, webhookConfigurationScript, mainScript].joined(separator: "\n")
    }

    /// The script's listener and command channel: the HTTPS server (taken down and up in place by
    /// `stop` and `restart`) and the commands read from stdin.
    static let mainScript = #"""
    class Listener:
        """The HTTPS listener, which `down` closes (with every open connection) and `up` opens again
        on the same port, while the process and its state live on."""

        def __init__(self, context):
            self.context, self.server, self.port = context, None, port
            self.lock = threading.Lock()
            self.connections = set()

        def up(self):
            if self.server is None:
                with store.changed:
                    store.restarted()
                ThreadingHTTPServer.request_queue_size = 128
                self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
                self.server.daemon_threads = True
                self.server.socket = self.context.wrap_socket(self.server.socket, server_side=True,
                                                              do_handshake_on_connect=False)
                self.port = self.server.server_address[1]
                threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
            return self.port

        def down(self):
            if self.server is not None:
                self.server.shutdown()
                self.server.server_close()
                self.server = None
            with self.lock:
                for connection in self.connections:
                    try:
                        connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            with store.changed:
                store.generation += 1
                store.changed.notify_all()

        def opened(self, connection):
            with self.lock:
                self.connections.add(connection)

        def closed(self, connection):
            with self.lock:
                self.connections.discard(connection)

    def discovery():
        return {"issuer": issuer, "jwks_uri": "https://127.0.0.1:%d/openid/v1/jwks" % listener.port,
                "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"]}

    def run_command(command):
        op = command["op"]
        answer = webhook_configuration_command(command)
        if answer is not None:
            return answer
        if op in ("set", "upsert", "delete", "generate", "compact", "resourceVersion"):
            with store.changed:
                if op == "set":
                    store.replace(command["accounts"])
                elif op == "upsert":
                    store.put(command["namespace"], command["name"], command["annotations"])
                elif op == "delete":
                    store.remove(command["namespace"], command["name"])
                elif op == "generate":
                    store.generate(command["count"], command["annotatedEvery"], command["namespaces"])
                elif op == "compact":
                    store.compact()
                store.changed.notify_all()
                return {"resourceVersion": str(store.rv)}
        if op in LEASE_COMMANDS:
            return lease_command(command)
        if op == "behave":
            behaviour.set_control(command["control"])
        elif op == "behaveWatch":
            behaviour.set_watch(command["watch"])
        elif op == "listTime":
            with store.changed:
                return {"requests": store.list_requests, "seconds": store.list_seconds}
        elif op == "writeTimes":
            return {"times": {str(rv): at for rv, at in list(store.write_times.items())}}
        elif op == "down":
            listener.down()
        elif op == "up":
            return {"port": listener.up()}
        else:
            raise ValueError("unknown command " + op)
        return {}

    def serve_commands():
        # One JSON command per line on stdin, one JSON answer per line on stdout; EOF (the test
        # process closed its end or died) ends the server.
        for line in sys.stdin.buffer:
            try:
                answer = run_command(json.loads(line))
            except Exception as error:
                answer = {"error": "%s: %s" % (type(error).__name__, error)}
            sys.stdout.buffer.write(compact_json(answer) + b"\n")
            sys.stdout.buffer.flush()
        os._exit(0)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if client_ca != "-":
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    listener = Listener(context)
    sys.stdout.buffer.write(b"%d\n" % listener.up())
    sys.stdout.buffer.flush()
    serve_commands()
    """#
}
