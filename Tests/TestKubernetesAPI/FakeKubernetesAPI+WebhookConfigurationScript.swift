extension FakeKubernetesAPI {
    /// The script's MutatingWebhookConfigurations: GET and server-side apply (PATCH with
    /// `application/apply-patch+yaml`) of `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{name}`,
    /// as kube-apiserver does them for this resource:
    ///
    /// - Field ownership per manager and operation, returned in `metadata.managedFields` (FieldsV1).
    ///   `webhooks` and each webhook's `matchConditions` are list-maps keyed by `name` (merged item
    ///   by item); every other list is atomic; maps are granular.
    /// - An apply sets the fields it names; a field it names with a different value owned by
    ///   another manager is a conflict: 409 with a Status listing them (`FieldManagerConflict`
    ///   causes), unless `force=true`, which takes them over. Fields the manager applied before
    ///   and no longer names are removed unless another manager owns them.
    /// - `fieldManager` is required (422); the body must be JSON (the fake reads the JSON subset
    ///   of YAML; 400 otherwise) naming the URL's object; other patch types get 415 (the fake
    ///   implements apply only). The merged object is validated: each webhook needs clientConfig,
    ///   sideEffects and admissionReviewVersions, at most 64 conditions, expressions of at most
    ///   100,000 code points (kube-apiserver 1.36, measured): 422 Invalid otherwise. So an apply
    ///   naming a missing configuration or entry fails, as it does for real.
    /// - A change takes the next global resourceVersion and bumps `metadata.generation`; an
    ///   apply that changes nothing changes nothing. Every PATCH is recorded (time after commit,
    ///   status, whether it changed the object, resourceVersion, the object after).
    /// - Faults (`behaveWebhookConfigurations`): a status (403 Forbidden and 409 Conflict with
    ///   kube-apiserver's messages, or any other) and a delay for the first `times` requests.
    static let webhookConfigurationScript = #"""
    import copy

    WEBHOOK_CONFIGURATIONS = ["apis", "admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations"]
    WEBHOOK_GROUP, WEBHOOK_VERSION = "admissionregistration.k8s.io", "admissionregistration.k8s.io/v1"
    LIST_MAP_KEYS = {("webhooks",): "name", ("webhooks", "matchConditions"): "name"}
    UNOWNED_METADATA = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                        "selfLink"}
    LIST_ITEM = object()  # a list-map item's own marker in a field set ("." in FieldsV1)

    def field_set(value, schema=(), path=()):
        """{path: leaf value, or LIST_ITEM for a list-map item}; a path is a tuple of ("f", field) and ("k", key)."""
        fields = {}
        for name, child in value.items():
            if not path and name in ("apiVersion", "kind"):
                continue
            if path == (("f", "metadata"),) and name in UNOWNED_METADATA:
                continue
            here = path + (("f", name),)
            key = LIST_MAP_KEYS.get(schema + (name,))
            if key is not None and isinstance(child, list):
                for item in child:
                    item_path = here + (("k", item.get(key)),)
                    fields[item_path] = LIST_ITEM
                    fields.update(field_set(item, schema + (name,), item_path))
            elif isinstance(child, dict) and child:
                fields.update(field_set(child, schema + (name,), here))
            else:
                fields[here] = child
        return fields

    def locate(obj, path, create=False):
        """The container holding the last element of `path`, and that element's index or name."""
        node = obj
        for index, (kind, name) in enumerate(path[:-1]):
            if kind == "f":
                if name not in node:
                    if not create:
                        return None, None
                    following = path[index + 1]
                    node[name] = [] if following[0] == "k" else {}
                node = node[name]
            else:
                key = LIST_MAP_KEYS[schema_of(path[:index])]
                matches = [item for item in node if item.get(key) == name]
                if not matches:
                    if not create:
                        return None, None
                    node.append({key: name})
                    matches = [node[-1]]
                node = matches[0]
        kind, name = path[-1]
        if kind == "f":
            return node, name
        key = LIST_MAP_KEYS[schema_of(path[:-1])]
        for position, item in enumerate(node):
            if item.get(key) == name:
                return node, position
        if create:
            node.append({key: name})
            return node, len(node) - 1
        return None, None

    def schema_of(path):
        return tuple(name for kind, name in path if kind == "f")

    def read_field(obj, path):
        container, where = locate(obj, path)
        if container is None:
            return None
        return container[where] if isinstance(where, int) or where in container else None

    def write_field(obj, path, value):
        container, where = locate(obj, path, create=True)
        if value is not LIST_ITEM:
            container[where] = copy.deepcopy(value)

    def remove_field(obj, path):
        container, where = locate(obj, path)
        if container is not None and (isinstance(where, int) or where in container):
            del container[where]

    def fields_v1(paths):
        tree = {}
        for path, value in paths.items():
            node = tree
            for kind, name in path:
                label = "f:" + name if kind == "f" else "k:" + compact_json({"name": name}).decode()
                node = node.setdefault(label, {})
            if value is LIST_ITEM:
                node["."] = {}
        return tree

    def apply_failure(code, reason, message, name, **extra):
        return failure(code, reason, message, details=dict({"name": name, "group": WEBHOOK_GROUP,
                                                             "kind": "mutatingwebhookconfigurations"}, **extra))

    class WebhookConfigurations:
        """The stored configurations with their managers' field sets, the PATCH record and the faults."""

        def __init__(self):
            self.lock = threading.Lock()
            self.objects = {}
            self.managers = {}
            self.patches = []
            self.control, self.seen = {}, 0

        def set(self, obj, manager):
            with store.changed:
                store.rv += 1
                rv = store.rv
            obj = copy.deepcopy(obj)
            name = obj["metadata"]["name"]
            with self.lock:
                metadata = obj["metadata"]
                metadata.update({"uid": new_uid(), "resourceVersion": str(rv), "generation": 1,
                                 "creationTimestamp": store.now()})
                self.objects[name] = obj
                self.managers[name] = {(manager, "Update"): {"fields": field_set(obj), "time": store.now()}}
            return rv

        def get(self, name):
            with self.lock:
                obj = self.objects.get(name)
                return None if obj is None else self.rendered(name)

        def rendered(self, name):
            obj = copy.deepcopy(self.objects[name])
            obj["metadata"]["managedFields"] = [
                {"manager": manager, "operation": operation, "apiVersion": WEBHOOK_VERSION, "time": entry["time"],
                 "fieldsType": "FieldsV1", "fieldsV1": fields_v1(entry["fields"])}
                for (manager, operation), entry in self.managers[name].items()]
            return dict({"kind": "MutatingWebhookConfiguration", "apiVersion": WEBHOOK_VERSION}, **obj)

        def apply(self, name, applied, manager, force):
            """Server-side apply; returns (the object after, whether it changed); raises Reply."""
            wanted = field_set(applied)
            with self.lock:
                live = self.objects.get(name)
                base = copy.deepcopy(live) if live is not None else {"metadata": {"name": name}}
                owners = copy.deepcopy(self.managers.get(name, {}))
                me = (manager, "Apply")
                conflicts = [(other, path) for path, value in wanted.items() if value is not LIST_ITEM
                             for other, entry in owners.items()
                             if other != me and path in entry["fields"] and read_field(base, path) != value]
                if conflicts and not force:
                    raise self.conflict(name, conflicts)
                for other, path in conflicts:
                    owners[other]["fields"].pop(path, None)
                merged = copy.deepcopy(base)
                for path in sorted(wanted, key=len):
                    write_field(merged, path, wanted[path])
                others = set()
                for other, entry in owners.items():
                    if other != me:
                        others.update(entry["fields"])
                previous = owners.get(me, {"fields": {}})["fields"]
                removed_items = []
                for path in sorted(set(previous) - set(wanted), key=len):
                    if path in others or any(p[:len(path)] == path for p in others):
                        continue  # another manager still owns it, or something under it
                    if any(path[:len(item)] == item for item in removed_items):
                        continue  # went with its list item
                    if previous[path] is LIST_ITEM:
                        removed_items.append(path)
                    elif len(path) > 1 and path[-2][0] == "k" and path[-1][1] == LIST_MAP_KEYS[schema_of(path[:-2])]:
                        continue  # the key of an item that stays
                    remove_field(merged, path)
                for webhook in merged.get("webhooks") or []:
                    if webhook.get("matchConditions") == []:
                        del webhook["matchConditions"]  # omitempty: an emptied list is not kept
                self.validate(name, merged)
                owners[me] = {"fields": wanted, "time": store.now()}
                owners = {k: v for k, v in owners.items() if v["fields"]}
                changed = live is None or merged != live or {k: set(v["fields"]) for k, v in owners.items()} != {
                    k: set(v["fields"]) for k, v in self.managers.get(name, {}).items()}
                if changed:
                    with store.changed:
                        store.rv += 1
                        merged["metadata"]["resourceVersion"] = str(store.rv)
                    merged["metadata"].setdefault("uid", new_uid())
                    merged["metadata"].setdefault("creationTimestamp", store.now())
                    if live is None or merged.get("webhooks") != live.get("webhooks"):
                        merged["metadata"]["generation"] = merged["metadata"].get("generation", 0) + 1
                    self.objects[name] = merged
                    self.managers[name] = owners
                rendered = self.rendered(name)
                # Recorded with the commit, under the same lock: whoever sees the change finds its record.
                self.patches.append({"at": time.time(), "status": 200, "changed": changed,
                                     "resourceVersion": rendered["metadata"]["resourceVersion"], "object": rendered})
                return rendered, changed

        def conflict(self, name, conflicts):
            def field(path):
                text = ""
                for kind, value in path:
                    text += "." + value if kind == "f" else '[name="%s"]' % value
                return text
            listed = ["conflict with \"%s\" using %s: %s" % (other[0], WEBHOOK_VERSION, field(path)) for other, path in conflicts]
            message = "Apply failed with %d conflict%s: %s" % (len(conflicts), "" if len(conflicts) == 1 else "s", "\n".join(listed))
            return apply_failure(409, "Conflict", message, name, causes=[
                {"reason": "FieldManagerConflict", "message": m, "field": field(path)} for m, (_, path) in zip(listed, conflicts)])

        def validate(self, name, obj):
            errors = []
            for index, webhook in enumerate(obj.get("webhooks") or []):
                for field in ("clientConfig", "sideEffects", "admissionReviewVersions"):
                    if field not in webhook:
                        errors.append("webhooks[%d].%s: Required value" % (index, field))
                conditions = webhook.get("matchConditions") or []
                if len(conditions) > 64:
                    errors.append("webhooks[%d].matchConditions: Too many: %d: must have at most 64 items" % (index, len(conditions)))
                for position, condition in enumerate(conditions):
                    if len(condition.get("expression", "")) > 100000:
                        errors.append("webhooks[%d].matchConditions[%d].expression: Too long: may not be more than 100000 code points"
                                      % (index, position))
            if errors:
                raise apply_failure(422, "Invalid", 'MutatingWebhookConfiguration.admissionregistration.k8s.io "%s" is invalid: [%s]'
                                    % (name, ", ".join(errors)), name)

        def record(self, entry):
            with self.lock:
                self.patches.append(entry)

        def set_control(self, control):
            with self.lock:
                self.control, self.seen = control, 0

        def control_for_request(self):
            with self.lock:
                self.seen += 1
                times = self.control.get("times")
                return {} if times is not None and self.seen > times else self.control

    webhook_configurations = WebhookConfigurations()

    def webhook_configuration_command(command):
        """Runs a test command about MutatingWebhookConfigurations; None when it is not one."""
        op = command["op"]
        if op == "setWebhookConfiguration":
            return {"resourceVersion": str(webhook_configurations.set(command["object"], command["manager"]))}
        if op == "webhookConfiguration":
            return {"object": webhook_configurations.get(command["name"])}
        if op == "webhookConfigurationPatches":
            with webhook_configurations.lock:
                patches = webhook_configurations.patches[command.get("from", 0):]
            if not command.get("objects", True):
                patches = [{k: v for k, v in patch.items() if k != "object"} for patch in patches]
            return {"patches": patches}
        if op == "behaveWebhookConfigurations":
            webhook_configurations.set_control(command["control"])
            return {}
        return None

    def webhook_configuration_request(handler, verb):
        """GET or PATCH of one MutatingWebhookConfiguration; False when the path is not one."""
        path, _, query_text = handler.path.partition("?")
        parts = [urllib.parse.unquote(p) for p in path.split("/")]
        if parts[1:5] != WEBHOOK_CONFIGURATIONS or len(parts) != 6:
            return False
        name = parts[5]
        query = dict(urllib.parse.parse_qsl(query_text, keep_blank_values=True))
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0)) if verb == "patch" else b""
        log_request(handler)
        control = webhook_configurations.control_for_request()
        if control.get("delay"):
            time.sleep(control["delay"])
        try:
            if token and handler.headers.get("Authorization") != "Bearer " + token:
                raise failure(401, "Unauthorized", "Unauthorized")
            code = control.get("status")
            if code == 403:
                raise apply_failure(403, "Forbidden", 'mutatingwebhookconfigurations.admissionregistration.k8s.io "%s" is forbidden: '
                                    'User "%s" cannot %s resource "mutatingwebhookconfigurations" in API group "%s" at the cluster '
                                    'scope' % (name, USER, verb, WEBHOOK_GROUP), name)
            if code == 409:
                raise apply_failure(409, "Conflict", 'Operation cannot be fulfilled on mutatingwebhookconfigurations.%s "%s": the '
                                    'object has been modified; please apply your changes to the latest version and try again'
                                    % (WEBHOOK_GROUP, name), name)
            if code:
                raise Reply(code, status_body(code, "Injected", "injected status %d" % code))
            if verb == "get":
                obj = webhook_configurations.get(name)
                if obj is None:
                    raise apply_failure(404, "NotFound", 'mutatingwebhookconfigurations.%s "%s" not found' % (WEBHOOK_GROUP, name), name)
                answer = (200, compact_json(obj), [])
            else:
                obj, _ = apply_request(handler, name, query, body)
                answer = (200, compact_json(obj), [])
        except Reply as reply:
            if verb == "patch":
                webhook_configurations.record({"at": time.time(), "status": reply.code, "changed": False, "resourceVersion": None,
                                               "object": None})
            answer = (reply.code, compact_json(reply.body), reply.extra)
        try:
            handler.send_body(*answer)
        except (OSError, ssl.SSLError):
            handler.close_connection = True
        return True

    def apply_request(handler, name, query, body):
        """A server-side apply's checks, then the apply: (the object after, whether it changed)."""
        media = handler.headers.get("Content-Type", "").split(";")[0].strip()
        if media != "application/apply-patch+yaml":
            raise failure(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types "
                          "include: application/apply-patch+yaml (the fake API implements server-side apply only)")
        manager = query.get("fieldManager", "")
        if not manager:
            raise failure(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
                          'for apply patch')
        try:
            applied = json.loads(body)
            if not isinstance(applied, dict):
                raise ValueError("not an object")
        except ValueError as error:
            raise failure(400, "BadRequest", "error decoding YAML: %s (the fake API reads JSON only)" % error)
        if applied.get("apiVersion") != WEBHOOK_VERSION or applied.get("kind") != "MutatingWebhookConfiguration":
            raise failure(400, "BadRequest", "the API version in the data (%s) does not match the expected API version (%s)"
                          % (applied.get("apiVersion"), WEBHOOK_VERSION))
        if (applied.get("metadata") or {}).get("name") != name:
            raise failure(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)"
                          % ((applied.get("metadata") or {}).get("name"), name))
        return webhook_configurations.apply(name, applied, manager, is_true(query.get("force", "")))

    serviceaccount_get = Handler.do_GET

    def do_get(handler):
        if not webhook_configuration_request(handler, "get"):
            serviceaccount_get(handler)

    def do_patch(handler):
        if not webhook_configuration_request(handler, "patch"):
            log_request(handler)
            handler.send_body(405, compact_json(status_body(405, "MethodNotAllowed", "the server does not allow this method on the "
                                                                       "requested resource")))

    Handler.do_GET, Handler.do_PATCH = do_get, do_patch
    """#
}
