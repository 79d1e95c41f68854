extension FakeKubernetesAPI {
    /// The script's WATCH: a chunked stream of JSON event lines, framed as Go's net/http frames it,
    /// with bookmarks, timeouts, 410s and the stream faults of `behaveWatch`.
    static let watchScript = #"""
    GARBAGE = b"\x16\x03\x01 this is not a watch event }{\n"
    BUFFER_SIZE = 4096

    class WatchStream:
        """One watch response body, framed as Go's net/http frames it: events go through a 4096-byte
        buffer that is sent as a chunk whenever it fills (so a large event spans chunks) and flushed
        when no more events are pending (so a burst shares chunks)."""

        def __init__(self, handler, faults):
            self.handler, self.faults = handler, faults
            self.buffer = b""
            self.sent = 0
            self.written = []

        def chunk(self, data):
            self.handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        def write(self, data):
            self.buffer += data
            while len(self.buffer) >= BUFFER_SIZE:
                self.chunk(self.buffer[:BUFFER_SIZE])
                self.buffer = self.buffer[BUFFER_SIZE:]

        def flush(self):
            at = time.time()  # before the write: a reader cannot see the bytes earlier
            if self.buffer:
                self.chunk(self.buffer)
                self.buffer = b""
            if self.written:
                store.note_written(self.written, at)
                self.written = []

        def event(self, kind, data, rv):
            """Writes one event; False when a stall fault has taken over the stream."""
            line = b'{"type":"' + kind.encode() + b'","object":' + data + b"}\n"
            if self.sent == self.faults.get("faultAfterEvents", 0):
                if self.faults.get("garbage"):
                    self.flush()
                    self.chunk(GARBAGE)
                if self.faults.get("stall"):
                    self.write(line[:len(line) // 2])
                    self.flush()
                    self.silence()
                    return False
            self.write(line)
            self.sent += 1
            if rv is not None:
                self.written.append(rv)
            return True

        def bookmark(self, rv, initial_events_end=False):
            metadata = {"resourceVersion": str(rv), "creationTimestamp": None}
            if initial_events_end:
                metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
            self.write(b'{"type":"BOOKMARK","object":{"kind":"ServiceAccount","apiVersion":"v1","metadata":'
                       + compact_json(metadata) + b"}}\n")

        def finish(self):
            self.flush()
            self.handler.wfile.write(b"0\r\n\r\n")

        def silence(self):
            """Sends nothing more, until the client closes the connection (at most an hour)."""
            connection = self.handler.connection
            deadline = time.monotonic() + 3600
            while time.monotonic() < deadline:
                readable, _, _ = select.select([connection], [], [], 1)
                if readable:
                    try:
                        if not connection.recv(65536):
                            return
                    except (OSError, ssl.SSLError):
                        return

    def watch(handler, namespace, query):
        faults = behaviour.faults_for("watch")
        if faults.get("watchForbidden"):
            raise forbidden("watch", namespace)
        timeout = handler.number(query, "timeoutSeconds", 0)
        bookmarks = is_true(query.get("allowWatchBookmarks", ""))
        initial_events = is_true(query.get("sendInitialEvents", ""))
        version, match = query.get("resourceVersion", ""), query.get("resourceVersionMatch", "")
        if initial_events and match != "NotOlderThan":
            raise invalid("resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
        if match and not initial_events:
            raise invalid("resourceVersionMatch", "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided")
        if initial_events and not bookmarks:
            raise invalid("allowWatchBookmarks", "allowWatchBookmarks must be true when sendInitialEvents is provided")
        wanted = handler.version(version)
        initial, too_old = [], None
        with store.changed:
            if wanted is not None and not store.wait_for(wanted, 3):
                raise failure(504, "Timeout", "Too large resource version: %d, current: %d" % (wanted, store.rv),
                              details={"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                                       "retryAfterSeconds": 1})
            if initial_events or version in ("", "0"):
                snapshot = store.snapshot()
                low, high = snapshot.bounds(namespace)
                initial = snapshot.items[low:high]
                position = snapshot.rv
            elif wanted < store.oldest:
                too_old = "too old resource version: %d (%d)" % (wanted, store.oldest)
            else:
                position = wanted
            if too_old is None:
                watcher = store.open_watch(position)
        if too_old is not None and behaviour.setting("goneAs", "event") == "status":
            raise failure(410, "Expired", too_old)

        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Cache-Control", "no-cache, private")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        stream = WatchStream(handler, faults)
        if too_old is not None:
            stream.write(b'{"type":"ERROR","object":' + compact_json(status_body(410, "Expired", too_old)) + b"}\n")
            return stream.finish()
        try:
            follow(stream, watcher, namespace, initial, initial_events, bookmarks, timeout, faults)
        finally:
            with store.changed:
                store.close_watch(watcher)

    def follow(stream, watcher, namespace, initial, initial_events, bookmarks, timeout, faults):
        started = time.monotonic()
        deadline = started + timeout if timeout else None
        cut = started + faults["closeAfter"] if faults.get("closeAfter") is not None else None
        interval = behaviour.setting("bookmarkInterval", 60.0)

        def next_bookmark(now):
            # Like kube-apiserver: every interval, and one 2 s before the deadline.
            when = now + interval
            if deadline is not None:
                when = min(when, deadline - 2)
            return when if bookmarks and when > now else None

        if faults.get("silent"):
            return stream.silence()
        for item in initial:
            if not stream.event("ADDED", b'{"kind":"ServiceAccount","apiVersion":"v1",' + item[1:], None):
                return
        if initial_events:
            stream.bookmark(watcher.position, initial_events_end=True)
        stream.flush()
        bookmark_at = next_bookmark(started)
        generation = store.generation
        while True:
            with store.changed:
                events = store.events_after(watcher.position)
                if not events:
                    wakes = [t for t in (deadline, cut, bookmark_at) if t is not None]
                    store.changed.wait(max(0, min(wakes) - time.monotonic()) if wakes else None)
                    events = store.events_after(watcher.position)
                if store.generation != generation:
                    return
            for rv, kind, account, _ in events:
                if namespace is None or account.namespace == namespace:
                    if not stream.event(kind, account.full(), rv):
                        return
                watcher.position = rv
            now = time.monotonic()
            if bookmark_at is not None and now >= bookmark_at:
                stream.bookmark(watcher.position)
                bookmark_at = next_bookmark(now)
            stream.flush()
            if cut is not None and now >= cut:
                if faults.get("closeAbruptly"):
                    return stream.handler.hang_up()
                return stream.finish()
            if deadline is not None and now >= deadline:
                return stream.finish()
    """#
}
