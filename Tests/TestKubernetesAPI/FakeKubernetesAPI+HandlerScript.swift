extension FakeKubernetesAPI {
    /// The script's HTTP handler: authentication, the request log, the GET/LIST faults of `behave`,
    /// the OIDC discovery paths, GET and LIST of ServiceAccounts, and kube-apiserver's Status errors
    /// (Leases are `LeaseRequests`, in `leaseScript`).
    static let handlerScript = #"""
    USER = "system:serviceaccount:irsa:irsa-webhook"
    INCONSISTENT_CONTINUE = ("The provided continue parameter is too old to display a consistent list result. You can start "
                             "a new list without the continue parameter, or use the continue value from the response to "
                             "retrieve the remainder of the results. Continuing with the provided token results in an "
                             "inconsistent list - objects that were created, modified, or deleted between the time the "
                             "first chunk was returned and now may show up in the list.")
    log_lock = threading.Lock()

    class Reply(Exception):
        """An answer other than the happy path: a status with a Status body (or any JSON body)."""
        def __init__(self, code, body, extra=()):
            self.code, self.body, self.extra = code, body, list(extra)

    def failure(code, reason, message, **extra):
        return Reply(code, status_body(code, reason, message, **extra))

    def invalid(field, detail):
        return failure(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: %s: Forbidden: %s' % (field, detail),
                       details={"group": "meta.k8s.io", "kind": "ListOptions",
                                "causes": [{"reason": "FieldValueForbidden", "message": "Forbidden: " + detail,
                                            "field": field}]})

    def forbidden(verb, namespace):
        scope = 'in the namespace "%s"' % namespace if namespace else "at the cluster scope"
        return failure(403, "Forbidden", 'serviceaccounts is forbidden: User "%s" cannot %s resource "serviceaccounts" in API '
                       'group "" %s' % (USER, verb, scope), details={"kind": "serviceaccounts"})

    def encode_continue(start, rv):
        token = compact_json({"v": "meta.k8s.io/v1", "rv": rv, "start": start})
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def decode_continue(value):
        try:
            token = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
            if token["v"] != "meta.k8s.io/v1" or not isinstance(token["rv"], int) or not isinstance(token["start"], str):
                raise ValueError("unexpected token")
            return token["rv"], token["start"]
        except (ValueError, KeyError, TypeError) as error:
            raise failure(400, "BadRequest", "continue key is not valid: %s" % error)

    def is_true(value):
        return value in ("true", "1")

    def log_request(handler):
        with log_lock:
            with open(os.path.join(state, "requests.log"), "a") as log:
                log.write("%s %s\n" % (handler.path, handler.headers.get("Authorization", "-")))

    class Handler(LeaseRequests, BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # TCP_NODELAY, as Go's net/http sets: the head and the body are two TLS records, and with
        # Nagle the body waits for the client's delayed ACK of the head (about 40 ms a response).
        disable_nagle_algorithm = True

        def setup(self):
            listener.opened(self.request)
            self.request.do_handshake()
            super().setup()

        def finish(self):
            listener.closed(self.request)
            super().finish()

        def log_message(self, *args):
            pass

        def send_body(self, code, data, extra=(), truncate=False, stall=0):
            content_type = dict(extra).get("Content-Type", "application/json")
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra:
                if name != "Content-Type":
                    self.send_header(name, value)
            self.end_headers()
            if truncate:
                self.wfile.write(data[:len(data) // 2])
                time.sleep(stall)
                self.hang_up()
            else:
                self.wfile.write(data)

        def hang_up(self):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

        def do_GET(self):
            if self.path.startswith(LEASE_PREFIX):
                return self.lease_request("GET")
            log_request(self)
            path, _, query_text = self.path.partition("?")
            query = dict(urllib.parse.parse_qsl(query_text, keep_blank_values=True))
            parts = [urllib.parse.unquote(p) for p in path.split("/")]
            watching = is_true(query.get("watch", ""))
            control = {} if watching else behaviour.control_for_request()
            if control.get("delay"):
                time.sleep(control["delay"])
            if control.get("drop"):
                return self.hang_up()
            try:
                if control.get("status"):
                    code = control["status"]
                    extra = [("Retry-After", control["retryAfter"])] if control.get("retryAfter") else []
                    raise Reply(code, status_body(code, "Injected", "injected status %d" % code), extra)
                if token and self.headers.get("Authorization") != "Bearer " + token:
                    raise failure(401, "Unauthorized", "Unauthorized")
                if path == "/.well-known/openid-configuration":
                    return self.send_body(200, compact_json(discovery()), [("Cache-Control", "public, max-age=3600")])
                if path == "/openid/v1/jwks":
                    with open(os.path.join(state, "jwks.json"), "rb") as f:
                        return self.send_body(200, f.read(), [("Content-Type", "application/jwk-set+json"),
                                                              ("Cache-Control", "public, max-age=3600")])
                if parts[1:] == ["api", "v1", "serviceaccounts"]:
                    namespace = None
                elif len(parts) == 6 and parts[1:4] == ["api", "v1", "namespaces"] and parts[5] == "serviceaccounts":
                    namespace = parts[4]
                elif len(parts) == 7 and parts[1:4] == ["api", "v1", "namespaces"] and parts[5] == "serviceaccounts":
                    data = self.account(parts[4], parts[6])
                    return self.send_body(200, data, truncate=control.get("truncate", False), stall=control.get("stall", 0))
                else:
                    raise failure(404, "NotFound", "the server could not find the requested resource")
                if watching:
                    return watch(self, namespace, query)
                started = time.monotonic()
                data = self.list(namespace, query)
                self.send_body(200, data, truncate=control.get("truncate", False), stall=control.get("stall", 0))
                with store.changed:
                    store.list_requests += 1
                    store.list_seconds += time.monotonic() - started
            except Reply as reply:
                self.send_body(reply.code, compact_json(reply.body), reply.extra,
                               truncate=control.get("truncate", False), stall=control.get("stall", 0))
            except (OSError, ssl.SSLError):
                self.close_connection = True

        def account(self, namespace, name):
            with store.changed:
                account = store.accounts.get(namespace + "/" + name)
            if account is None:
                raise failure(404, "NotFound", 'serviceaccounts "%s" not found' % name,
                              details={"name": name, "kind": "serviceaccounts"})
            return account.full()

        def list(self, namespace, query):
            faults = behaviour.faults_for("list")
            if faults.get("listForbidden"):
                raise forbidden("list", namespace)
            limit = self.number(query, "limit", 0)
            match = query.get("resourceVersionMatch", "")
            version = query.get("resourceVersion", "")
            if match and not version:
                raise invalid("resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided")
            if match not in ("", "Exact", "NotOlderThan"):
                raise failure(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: '
                              '"%s": supported values: "Exact", "NotOlderThan"' % match)
            if query.get("continue"):
                if version:
                    raise failure(400, "BadRequest", "specifying resource version is not allowed when using continue")
                rv, start = decode_continue(query["continue"])
                with store.changed:
                    expired = faults.get("expireContinue") or 0 <= rv < store.compacted
                    snapshot = None if expired else store.snapshot(None if rv == -1 else rv)
                if snapshot is None:
                    raise Reply(410, status_body(410, "Expired", INCONSISTENT_CONTINUE,
                                                 metadata={"continue": encode_continue(start, -1)}))
            else:
                start = ""
                wanted = self.version(version)
                with store.changed:
                    if version == "0":
                        limit = 0
                        snapshot = store.snapshot()
                    elif match == "Exact":
                        snapshot = store.snapshot(wanted)
                        if snapshot is None and wanted > store.rv:
                            raise failure(504, "Timeout", "Too large resource version: %d, current: %d" % (wanted, store.rv),
                                          details={"causes": [{"reason": "ResourceVersionTooLarge",
                                                               "message": "Too large resource version"}], "retryAfterSeconds": 1})
                        if snapshot is None:
                            raise failure(410, "Expired", "The resourceVersion for the provided list is too old.")
                    else:
                        if wanted is not None and not store.wait_for(wanted, 3):
                            raise failure(504, "Timeout", "Too large resource version: %d, current: %d" % (wanted, store.rv),
                                          details={"causes": [{"reason": "ResourceVersionTooLarge",
                                                               "message": "Too large resource version"}], "retryAfterSeconds": 1})
                        snapshot = store.snapshot()
            low, high = snapshot.bounds(namespace)
            first = max(low, bisect.bisect_left(snapshot.keys, start, low, high)) if start else low
            last = high if limit <= 0 else min(high, first + limit)
            metadata = {"resourceVersion": str(snapshot.rv)}
            if last < high:
                metadata["continue"] = encode_continue(snapshot.keys[last - 1] + "\x00", snapshot.rv)
                metadata["remainingItemCount"] = high - last
            return (b'{"kind":"ServiceAccountList","apiVersion":"v1","metadata":' + compact_json(metadata)
                    + b',"items":[' + b",".join(snapshot.items[first:last]) + b"]}")

        def number(self, query, name, default):
            try:
                value = int(query.get(name, default))
                if value < 0:
                    raise ValueError
                return value
            except ValueError:
                raise failure(400, "BadRequest", 'invalid value for %s: "%s"' % (name, query[name]))

        def version(self, text):
            if text == "":
                return None
            try:
                return int(text)
            except ValueError:
                raise failure(400, "BadRequest", 'resourceVersion: Invalid value: "%s": strconv.ParseUint: parsing "%s": '
                              'invalid syntax' % (text, text))
    """#
}
