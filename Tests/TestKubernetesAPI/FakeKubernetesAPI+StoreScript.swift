extension FakeKubernetesAPI {
    /// The script's state: ServiceAccounts with a global resourceVersion, the change history that
    /// watches replay, list snapshots for continue tokens, and the behaviour the test asked for.
    static let storeScript = #"""
    import base64, bisect, json, os, random, select, socket, ssl, sys, threading, time, urllib.parse
    from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

    state, token, cert, key, client_ca, port, issuer = sys.argv[1:6] + [int(sys.argv[6]), sys.argv[7]]
    HISTORY_LIMIT = 300000
    SNAPSHOT_LIMIT = 16

    def status_body(code, reason, message, **extra):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}
        body.update(extra)
        return body

    def compact_json(value):
        return json.dumps(value, separators=(",", ":")).encode()

    # A ServiceAccount as a list item, formatted directly (json.dumps per object is the cost of
    # generating 100,000); `quote` is the json module's C string encoder.
    ITEM = '{"metadata":{"name":%s,"namespace":%s,"uid":"%s","resourceVersion":"%d","creationTimestamp":"%s"}}'
    ITEM_ANNOTATED = ITEM[:-2] + ',"annotations":{%s}}}'
    quote = json.encoder.encode_basestring_ascii

    def new_uid():
        digits = "%032x" % random.getrandbits(128)
        return "%s-%s-4%s-%x%s-%s" % (digits[:8], digits[8:12], digits[13:16], 8 | int(digits[16], 16) & 3, digits[17:20],
                                      digits[20:])

    class Account:
        """One stored version of a ServiceAccount; `item` is its JSON as a list item (no kind or apiVersion)."""
        __slots__ = ("key", "namespace", "name", "uid", "created", "annotations", "rv", "item")

        def __init__(self, namespace, name, uid, created, annotations, rv):
            self.key, self.namespace, self.name = namespace + "/" + name, namespace, name
            self.uid, self.created, self.annotations, self.rv = uid, created, annotations, rv
            text = quote(name), quote(namespace), uid, rv, created
            if annotations:
                pairs = ",".join(quote(k) + ":" + quote(v) for k, v in annotations.items())
                self.item = (ITEM_ANNOTATED % (text + (pairs,))).encode()
            else:
                self.item = (ITEM % text).encode()

        def at(self, rv):
            return Account(self.namespace, self.name, self.uid, self.created, self.annotations, rv)

        def full(self):
            return b'{"kind":"ServiceAccount","apiVersion":"v1",' + self.item[1:]

    class Snapshot:
        """Every account at one resourceVersion, sorted by key as etcd orders them."""
        def __init__(self, rv, keys, items):
            self.rv, self.keys, self.items = rv, keys, items

        def bounds(self, namespace):
            if namespace is None:
                return 0, len(self.keys)
            return bisect.bisect_left(self.keys, namespace + "/"), bisect.bisect_left(self.keys, namespace + "0")

    class Watcher:
        """An open watch: the resourceVersion up to which it has sent (or skipped) events."""
        __slots__ = ("position",)

        def __init__(self, position):
            self.position = position

    class Store:
        """The ServiceAccounts, the global resourceVersion, and the event history watches replay.

        Every change takes the next resourceVersion, appends (rv, type, account, previous) to the
        history and wakes every watch through one condition variable. `oldest` is the resourceVersion
        from which the history is complete: a watch from an older one is too old (410)."""

        def __init__(self):
            self.changed = threading.Condition()
            self.rv = 1
            self.oldest = 1
            self.accounts = {}
            self.sorted_keys = []
            self.history_rvs = []
            self.history = []
            self.snapshots = {}
            self.watchers = set()
            self.generation = 0
            self.compacted = 0
            self.list_requests, self.list_seconds = 0, 0.0
            self.write_times = {}

        def now(self):
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

        def restarted(self):
            """The API came back: the history starts again at the current resourceVersion, as a
            restarted kube-apiserver's watch cache does."""
            self.oldest = self.rv
            self.history, self.history_rvs = [], []

        # Changes: callers hold `changed` and call `notify_all` once per command.

        def record(self, kind, account, previous):
            self.history_rvs.append(account.rv)
            self.history.append((account.rv, kind, account, previous))
            if len(self.history) > HISTORY_LIMIT:
                drop = len(self.history) - HISTORY_LIMIT // 2
                self.oldest = self.history_rvs[drop - 1]
                del self.history[:drop], self.history_rvs[:drop]

        def put(self, namespace, name, annotations):
            key = namespace + "/" + name
            previous = self.accounts.get(key)
            if previous is not None and previous.annotations == annotations:
                return previous.rv
            self.rv += 1
            if previous is None:
                account = Account(namespace, name, new_uid(), self.now(), annotations, self.rv)
                bisect.insort(self.sorted_keys, key)
            else:
                account = Account(namespace, name, previous.uid, previous.created, annotations, self.rv)
            self.accounts[key] = account
            self.record("ADDED" if previous is None else "MODIFIED", account, previous)
            return self.rv

        def remove(self, namespace, name):
            key = namespace + "/" + name
            previous = self.accounts.pop(key, None)
            if previous is None:
                raise KeyError('serviceaccounts "%s" not found' % name)
            del self.sorted_keys[bisect.bisect_left(self.sorted_keys, key)]
            self.rv += 1
            self.record("DELETED", previous.at(self.rv), previous)
            return self.rv

        def replace(self, table):
            for key in [k for k in self.accounts if k not in table]:
                namespace, name = key.split("/", 1)
                self.remove(namespace, name)
            for key, annotations in table.items():
                namespace, name = key.split("/", 1)
                self.put(namespace, name, annotations)
            return self.rv

        def generate(self, count, annotated_every, namespaces):
            created = self.now()
            for index in range(count):
                namespace, name = "ns-%d" % (index % namespaces), "sa-%d" % index
                annotated = annotated_every > 0 and index % annotated_every == 0
                annotations = {"vultr.com/role-arn": "arn:aws:iam::111122223333:role/" + name} if annotated else {}
                key = namespace + "/" + name
                previous = self.accounts.get(key)
                self.rv += 1
                account = Account(namespace, name, previous.uid if previous else new_uid(),
                                  previous.created if previous else created, annotations, self.rv)
                self.accounts[key] = account
                self.record("ADDED" if previous is None else "MODIFIED", account, previous)
            self.sorted_keys = sorted(self.accounts)
            return self.rv

        def compact(self):
            """Forgets the history (as etcd compaction does), except what open watches have still to
            send, and expires every continue token issued so far. It takes a resourceVersion of its own,
            as a write to another resource would in a real cluster, so lists after it are not expired."""
            self.rv += 1
            self.oldest = self.compacted = self.rv
            keep = bisect.bisect_right(self.history_rvs, min((w.position for w in self.watchers), default=self.rv))
            del self.history[:keep], self.history_rvs[:keep]
            self.snapshots = {}

        # Reads: callers hold `changed`.

        def snapshot(self, rv=None):
            """The accounts at `rv` (now when None); None when the history no longer reaches it."""
            if rv is None or rv == self.rv:
                latest = self.snapshots.get(self.rv)
                if latest is None:
                    latest = Snapshot(self.rv, list(self.sorted_keys), [self.accounts[k].item for k in self.sorted_keys])
                    self.keep(latest)
                return latest
            if rv in self.snapshots:
                return self.snapshots[rv]
            if rv < self.oldest or rv > self.rv:
                return None
            accounts = dict(self.accounts)
            for index in range(len(self.history) - 1, bisect.bisect_right(self.history_rvs, rv) - 1, -1):
                _, kind, account, previous = self.history[index]
                if previous is None:
                    del accounts[account.key]
                else:
                    accounts[account.key] = previous
            keys = sorted(accounts)
            past = Snapshot(rv, keys, [accounts[k].item for k in keys])
            self.keep(past)
            return past

        def keep(self, snapshot):
            self.snapshots[snapshot.rv] = snapshot
            while len(self.snapshots) > SNAPSHOT_LIMIT:
                del self.snapshots[min(self.snapshots)]

        def events_after(self, rv):
            start = bisect.bisect_right(self.history_rvs, rv)
            return self.history[start:]

        def open_watch(self, position):
            watcher = Watcher(position)
            self.watchers.add(watcher)
            return watcher

        def close_watch(self, watcher):
            self.watchers.discard(watcher)

        def note_written(self, rvs, at):
            for rv in rvs:
                self.write_times.setdefault(rv, at)

        def wait_for(self, rv, seconds):
            """Waits until the store has reached `rv`, up to `seconds`; True when it has."""
            deadline = time.monotonic() + seconds
            while self.rv < rv:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
            return True

    store = Store()
    class Behaviour:
        """How requests are answered, changed by the `behave` and `behaveWatch` commands.

        `control` (GET and LIST): delay, status with retryAfter, drop, truncate with stall, for the
        first `times` such requests since it was set, and with `flap` only during every other `flap`
        seconds from the first of them. `watch` (LIST and WATCH faults): see FakeKubernetesAPI.WatchBehaviour."""

        def __init__(self):
            self.lock = threading.Lock()
            self.control, self.control_seen, self.control_started = {}, 0, None
            self.watch, self.watch_seen = {}, {"list": 0, "watch": 0}

        def set_control(self, control):
            with self.lock:
                self.control, self.control_seen, self.control_started = control, 0, None

        def set_watch(self, watch):
            with self.lock:
                self.watch, self.watch_seen = watch, {"list": 0, "watch": 0}

        def control_for_request(self):
            with self.lock:
                control = self.control
                self.control_seen += 1
                nth = self.control_seen
                if self.control_started is None:
                    self.control_started = time.monotonic()
                started = self.control_started
            times = control.get("times")
            if times is not None and nth > times:
                return {}
            flap = control.get("flap")
            if flap and int((time.monotonic() - started) / flap) % 2 == 1:
                return {}
            return control

        def faults_for(self, verb):
            """The watch behaviour's faults for this LIST or WATCH request, {} once `times` are used up."""
            with self.lock:
                watch = self.watch
                self.watch_seen[verb] += 1
                nth = self.watch_seen[verb]
            times = watch.get("times")
            return {} if times is not None and nth > times else watch

        def setting(self, name, default):
            with self.lock:
                return self.watch.get(name, default)

    behaviour = Behaviour()
    """#
}
