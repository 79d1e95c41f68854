extension FakeKubernetesAPI {
    /// The script's `coordination.k8s.io/v1` Leases, answered as kube-apiserver answers them:
    ///
    /// - GET `/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}`: the Lease (kind,
    ///   apiVersion, metadata with uid, resourceVersion and creationTimestamp, spec), or 404 NotFound.
    /// - POST `.../namespaces/{ns}/leases`: 201 Created, or 409 AlreadyExists; a missing name is
    ///   422 Invalid, a namespace other than the URL's 400 BadRequest.
    /// - PUT `.../leases/{name}`: replaces labels, annotations and spec; with
    ///   `metadata.resourceVersion` only if it is the current one (409 Conflict "the object has
    ///   been modified; please apply your changes to the latest version and try again"), without
    ///   it unconditionally (Leases allow that). A missing Lease is 404 NotFound (creating on
    ///   update is not modelled); a name other than the URL's is 400 BadRequest.
    /// - The spec is validated as the API server does: `leaseDurationSeconds` above 0 and
    ///   `leaseTransitions` not negative (422 Invalid), `acquireTime` and `renewTime` as
    ///   MicroTime, exactly six fractional digits (400 BadRequest otherwise).
    /// - Every change takes the next value of the global resourceVersion counter, as a write in
    ///   a real cluster does (ServiceAccount watches see it in later bookmarks, not as an event).
    /// - Each successful write is recorded with its verb, resourceVersion, record and time
    ///   (`leaseWrites`); `leaseFault` makes the next Lease requests answer a status, wait or
    ///   drop the connection.
    static let leaseScript = #"""
    import re

    LEASE_PREFIX = "/apis/coordination.k8s.io/v1/"
    MICRO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)\Z")
    CONFLICT = "the object has been modified; please apply your changes to the latest version and try again"

    def lease_error(code, reason, message, name):
        return Reply(code, status_body(code, reason, message,
                                       details={"name": name, "group": "coordination.k8s.io", "kind": "leases"}))

    class Leases:
        """The Leases by "namespace/name" as served, the writes made, and the fault of `leaseFault`.
        Callers hold `store.changed`, whose resourceVersion counter every change raises."""

        def __init__(self):
            self.objects, self.writes = {}, []
            self.fault, self.fault_seen = {}, 0

        def take_fault(self):
            """The fault for this request, {} once its `times` are used up."""
            self.fault_seen += 1
            times = self.fault.get("times")
            return {} if times is not None and self.fault_seen > times else self.fault

        def get(self, namespace, name):
            lease = self.objects.get(namespace + "/" + name)
            if lease is None:
                raise lease_error(404, "NotFound", 'leases.coordination.k8s.io "%s" not found' % name, name)
            return lease

        def write(self, verb, namespace, name, body, created):
            """Stores `body`'s labels, annotations and spec under the next resourceVersion."""
            store.rv += 1
            metadata = {"name": name, "namespace": namespace, "uid": created.get("uid") or new_uid(),
                        "resourceVersion": str(store.rv), "creationTimestamp": created.get("creationTimestamp") or store.now()}
            for field in ("labels", "annotations"):
                if body["metadata"].get(field):
                    metadata[field] = body["metadata"][field]
            spec = {k: v for k, v in (body.get("spec") or {}).items() if v is not None}
            lease = {"kind": "Lease", "apiVersion": "coordination.k8s.io/v1", "metadata": metadata, "spec": spec}
            self.objects[namespace + "/" + name] = lease
            self.writes.append({"verb": verb, "namespace": namespace, "name": name, "resourceVersion": str(store.rv),
                                "spec": spec, "at": time.time()})
            store.changed.notify_all()
            return lease

        def create(self, namespace, body):
            name = body["metadata"].get("name") or ""
            if not name:
                raise Reply(422, status_body(422, "Invalid", 'Lease.coordination.k8s.io "" is invalid: metadata.name: Required value: '
                                             'name or generateName is required',
                                             details={"group": "coordination.k8s.io", "kind": "Lease"}))
            if namespace + "/" + name in self.objects:
                raise lease_error(409, "AlreadyExists", 'leases.coordination.k8s.io "%s" already exists' % name, name)
            return self.write("create", namespace, name, body, {})

        def update(self, namespace, name, body):
            if body["metadata"].get("name", name) != name:
                raise failure(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)"
                              % (body["metadata"]["name"], name))
            current = self.get(namespace, name)
            version = body["metadata"].get("resourceVersion")
            if version and version != current["metadata"]["resourceVersion"]:
                raise lease_error(409, "Conflict", 'Operation cannot be fulfilled on leases.coordination.k8s.io "%s": %s'
                                  % (name, CONFLICT), name)
            return self.write("update", namespace, name, body, current["metadata"])

    leases = Leases()

    def lease_body(data, namespace):
        """The Lease in a request body, checked as the API server decodes and validates one."""
        try:
            body = json.loads(data or b"null")
        except ValueError as error:
            raise failure(400, "BadRequest", "error decoding the request body: %s" % error)
        if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
            raise failure(400, "BadRequest", "the request body is not a Lease object")
        if body.get("kind", "Lease") != "Lease" or body.get("apiVersion", "coordination.k8s.io/v1") != "coordination.k8s.io/v1":
            raise failure(400, "BadRequest", 'the body is a %s %s, not a coordination.k8s.io/v1 Lease'
                          % (body.get("apiVersion"), body.get("kind")))
        body.setdefault("metadata", {})
        if body["metadata"].get("namespace", namespace) != namespace:
            raise failure(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
        spec = body.get("spec") or {}
        name = body["metadata"].get("name", "")
        for field in ("acquireTime", "renewTime"):
            value = spec.get(field)
            if value is not None and not (isinstance(value, str) and MICRO_TIME.match(value)):
                raise failure(400, "BadRequest", 'Lease in version "v1" cannot be handled as a Lease: parsing time %s as '
                              '"2006-01-02T15:04:05.000000Z07:00": cannot parse' % json.dumps(value))
        for field, lowest, rule in (("leaseDurationSeconds", 1, "must be greater than 0"),
                                    ("leaseTransitions", 0, "must be greater than or equal to 0")):
            value = spec.get(field)
            if value is not None and (not isinstance(value, int) or value < lowest):
                raise Reply(422, status_body(422, "Invalid", 'Lease.coordination.k8s.io "%s" is invalid: spec.%s: Invalid value: '
                                             '%s: %s' % (name, field, json.dumps(value), rule),
                                             details={"name": name, "group": "coordination.k8s.io", "kind": "Lease"}))
        holder = spec.get("holderIdentity")
        if holder is not None and not isinstance(holder, str):
            raise failure(400, "BadRequest", "spec.holderIdentity is not a string")
        return body

    class LeaseRequests:
        """The Lease endpoints of `Handler`: GET, POST and PUT under /apis/coordination.k8s.io/v1/."""

        def do_POST(self):
            self.lease_request("POST")

        def do_PUT(self):
            self.lease_request("PUT")

        def lease_request(self, verb):
            log_request(self)
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # all of it, so the connection stays usable
            path = self.path.partition("?")[0]
            parts = [urllib.parse.unquote(p) for p in path.split("/")]
            with store.changed:
                fault = leases.take_fault()
            if fault.get("delay"):
                time.sleep(fault["delay"])
            if fault.get("drop"):
                return self.hang_up()
            try:
                if fault.get("status"):
                    code = fault["status"]
                    if code == 403:
                        raise lease_error(403, "Forbidden", 'leases.coordination.k8s.io "%s" is forbidden: User "%s" cannot %s '
                                          'resource "leases" in API group "coordination.k8s.io" in the namespace "%s"'
                                          % (parts[-1], USER, {"GET": "get", "POST": "create", "PUT": "update"}[verb],
                                             parts[5] if len(parts) > 5 else ""), parts[-1])
                    raise Reply(code, status_body(code, "Injected", "injected status %d" % code))
                if token and self.headers.get("Authorization") != "Bearer " + token:
                    raise failure(401, "Unauthorized", "Unauthorized")
                if len(parts) < 7 or parts[1:5] != ["apis", "coordination.k8s.io", "v1", "namespaces"] or parts[6] != "leases":
                    raise failure(404, "NotFound", "the server could not find the requested resource")
                namespace = parts[5]
                if len(parts) == 7 and verb == "POST":
                    body = lease_body(data, namespace)
                    with store.changed:
                        return self.send_body(201, compact_json(leases.create(namespace, body)))
                if len(parts) == 8 and verb == "GET":
                    with store.changed:
                        return self.send_body(200, compact_json(leases.get(namespace, parts[7])))
                if len(parts) == 8 and verb == "PUT":
                    body = lease_body(data, namespace)
                    with store.changed:
                        return self.send_body(200, compact_json(leases.update(namespace, parts[7], body)))
                raise failure(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            except Reply as reply:
                self.send_body(reply.code, compact_json(reply.body), reply.extra)
            except (OSError, ssl.SSLError):
                self.close_connection = True

    def lease_command(command):
        """The test's Lease commands: read one, list the writes, write one as another client would,
        set the fault."""
        op = command["op"]
        with store.changed:
            if op == "lease":
                return {"lease": leases.objects.get(command["namespace"] + "/" + command["name"])}
            if op == "leaseWrites":
                return {"writes": leases.writes}
            if op == "putLease":
                key = command["namespace"] + "/" + command["name"]
                current = leases.objects.get(key, {}).get("metadata", {})
                body = {"metadata": {}, "spec": command["spec"]}
                return {"lease": leases.write("test", command["namespace"], command["name"], body, current)}
            leases.fault, leases.fault_seen = command["fault"], 0
            return {}

    LEASE_COMMANDS = ("lease", "leaseWrites", "putLease", "leaseFault")
    """#
}
