import Foundation
import Testing

/// Hostile clients against the real binary: each kind attacks one webhook process while a
/// `GoodClient` keeps posting admissions. The server must stay up, answer every good request
/// in bounded time, close each bad connection by the configured limit (measured per
/// connection), and end with the sockets and files it started with.
@Suite(.serialized) struct HostileClientTests {
    /// The limits the webhook runs with: short, so that each attack ends in seconds.
    static let handshakeTimeout = 3.0
    /// Long enough for the test to open all 1,000 slowloris connections (TLS handshakes) before
    /// the first times out, even on a loaded machine (2.5 s on an idle one; the default is 10 s).
    static let requestHeadTimeout = 15.0
    static let requestBodyTimeout = 3.0
    static let writeTimeout = 3.0
    static let maxBodyBytes = 1 << 20
    /// How much later than its limit a connection may close on a loaded 2-core machine
    /// (timer lateness, the 500 ms linger after an error answer, the client noticing).
    static let closeSlack = 3.0
    /// The longest a 413 or 431 may take to come back.
    static let answerBound = 3.0
    /// The longest a good request (a new TLS handshake every 8th) may take during an attack.
    static let goodLatencyBound = 2000.0

    /// One kind of attack: how many connections, and the limit that must close them.
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        /// TLS connections that send a partial request head, then one header line every 500 ms.
        case slowloris
        /// TLS connections that send a whole head announcing 100,000 bytes, then one byte every 500 ms.
        case slowBody = "slow-body"
        /// Each posts one pod of 6,000 containers (a 4.5 MB answer) and never reads.
        case stopReading = "stop-reading"
        /// TCP connections that send nothing, or half a ClientHello.
        case handshakeStall = "handshake-stall"
        /// Thirds: random bytes, plain HTTP on the TLS port, random bytes after the handshake.
        case garbage
        /// POST of 100 MB, half with Content-Length, half chunked, sent as fast as possible.
        case bigBody = "big-body"
        /// A request head of 100,000 header fields (2.3 MB).
        case manyHeaders = "many-headers"
        /// For 5 s, pipelined admissions sent as fast as the server takes them (answers read).
        case pipelineFlood = "pipeline-flood"

        var testDescription: String { rawValue }

        var connections: Int {
            switch self {
            case .slowloris: 1000
            case .handshakeStall: 500
            case .garbage: 300
            case .slowBody: 200
            case .pipelineFlood: 10
            case .stopReading: 2
            case .manyHeaders: 10
            case .bigBody: 4
            }
        }

        /// The configured limit that closes these connections, in seconds; kinds closed on
        /// their bytes must close well within it (the handshake timeout).
        var limit: Double {
            switch self {
            case .slowloris: HostileClientTests.requestHeadTimeout
            case .slowBody: HostileClientTests.requestBodyTimeout
            case .stopReading: HostileClientTests.writeTimeout
            case .handshakeStall, .garbage, .bigBody, .manyHeaders, .pipelineFlood: HostileClientTests.handshakeTimeout
            }
        }
    }

    /// The attacks, in one python3 script: `kind` picks one. Close times are measured per
    /// connection from the client side (EOF or reset), except for clients that stop reading,
    /// which cannot see the close behind the unread answer: for those, the server's socket
    /// (found by port in /proc/net/tcp) leaving /proc/PID/fd is the close.
    static let script = #"""
# Arguments: kind, TLS port, CA file, metrics port, webhook pid, limit (s), connections, review file.
# Prints one JSON object: what each connection saw, timed from its own start (taken before the
# server could start any timer of that connection, so no close can come "early" by our clock).
import array, fcntl, json, os, resource, select, socket, ssl, sys, termios, threading, time
kind, port, ca, metrics_port, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
limit_seconds = float(sys.argv[6])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
context = ssl.create_default_context(cafile=ca)
report = {"kind": kind}

def open_connections(at_least):
    """The server's irsa_open_connections once it reaches at_least (accepting takes a moment), or after 3 s."""
    deadline = time.monotonic() + 3
    while True:
        value = scrape_open_connections()
        if value >= at_least or time.monotonic() > deadline: return value
        time.sleep(0.05)

def scrape_open_connections():
    raw = socket.create_connection(("127.0.0.1", metrics_port), timeout=5)
    raw.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = raw.recv(65536)
        if not chunk: break
        data += chunk
    raw.close()
    for line in data.decode().split("\n"):
        if line.startswith("irsa_open_connections "): return float(line.split()[1])
    return -1

def rss():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"): return int(line.split()[1]) * 1024
    return 0

def tls_connect(rcvbuf=None):
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf: raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    raw.settimeout(10)
    raw.connect(("127.0.0.1", port))
    return context.wrap_socket(raw, server_hostname="127.0.0.1")

def summary(values):
    values = sorted(values)
    if not values: return {"count": 0}
    return {"count": len(values), "min": values[0], "median": values[len(values) // 2], "max": values[-1]}

def status_of(data):
    try: return int(data.split(b" ", 2)[1])
    except Exception: return None

class Watcher:
    """Reads connections until the server closes them; records each one's first status and close
    time. Connections are watched from the moment they are added, so a close during the set-up
    of the others is timed when it happens, not when the set-up ends."""
    def __init__(self):
        self.poller, self.by_fd = select.epoll(), {}

    def add(self, e):
        e["sock"].setblocking(False)
        self.poller.register(e["sock"].fileno(), select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP)
        self.by_fd[e["sock"].fileno()] = e
        self.poll(0)

    def poll(self, timeout):
        for fd, _ in self.poller.poll(timeout):
            e = self.by_fd.get(fd)
            if e is None: continue
            closed = False
            try:
                while True:
                    data = e["sock"].recv(65536)
                    if not data: closed = True; break
                    if e.get("status") is None:
                        e["status"] = status_of(data)
                        e["answered"] = time.monotonic()
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
            except (ssl.SSLError, OSError) as error:
                closed = True
                e["error"] = type(error).__name__
            if closed:
                e["closed"] = time.monotonic()
                self.poller.unregister(fd)
                del self.by_fd[fd]
                e["sock"].close()

    def run(self, deadline, on_tick=None, tick=0.5):
        """Watches until every connection closed or deadline; calls on_tick on each open one every tick s.
        Returns how many were left open."""
        next_tick = time.monotonic() + tick
        while self.by_fd and time.monotonic() < deadline:
            self.poll(max(0.0, min(next_tick, deadline) - time.monotonic()))
            if on_tick and time.monotonic() >= next_tick:
                next_tick = time.monotonic() + tick
                for e in list(self.by_fd.values()):
                    try: on_tick(e)
                    except (ssl.SSLWantWriteError, BlockingIOError): pass
                    except (ssl.SSLError, OSError): pass  # the close shows on the next read
        for e in self.by_fd.values(): e["sock"].close()
        return len(self.by_fd)

def close_report(entries):
    """Per connection, seconds from its start to the first answer and to the server's close."""
    closed = [e["closed"] - e["start"] for e in entries if e.get("closed")]
    answered = [e["answered"] - e["start"] for e in entries if e.get("answered")]
    statuses = {}
    for e in entries: statuses[str(e.get("status"))] = statuses.get(str(e.get("status")), 0) + 1
    return {"opened": len(entries), "closed_by_server": len(closed), "close_seconds": summary(closed),
            "answer_seconds": summary(answered), "statuses": statuses}

if kind in ("slowloris", "slow-body"):
    count = int(sys.argv[7])
    if kind == "slowloris":
        opening, trickle = b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-Slow: 1\r\n"
    else:
        opening = (b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 100000\r\n\r\n{")
        trickle = b" "
    entries, watcher = [], Watcher()
    began = time.monotonic()
    for _ in range(count):
        start = time.monotonic()  # before the server can start its timer: a safe lower bound
        conn = tls_connect()
        conn.sendall(opening)
        entries.append({"sock": conn, "start": start})
        watcher.add(entries[-1])
    report["setup_seconds"] = time.monotonic() - began
    report["open_connections_metric"] = open_connections(count)
    def drip(e): e["sock"].send(trickle)
    report["left_open"] = watcher.run(time.monotonic() + limit_seconds + 20, on_tick=drip)
    report.update(close_report(entries))

elif kind == "handshake-stall":
    count = int(sys.argv[7])
    # The first half of a real ClientHello, taken from a memory-BIO handshake.
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    probe = context.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    try: probe.do_handshake()
    except ssl.SSLWantReadError: pass
    hello = outgoing.read()
    entries, watcher = [], Watcher()
    for i in range(count):
        start = time.monotonic()
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        if i % 2: raw.sendall(hello[: len(hello) // 2])
        entries.append({"sock": raw, "start": start})
        watcher.add(entries[-1])
    report["open_connections_metric"] = open_connections(count)
    report["left_open"] = watcher.run(time.monotonic() + limit_seconds + 20)
    report.update(close_report(entries))

elif kind == "stop-reading":
    count = int(sys.argv[7])
    # A pod of 6,000 minimal containers (170 KB): its patch answer is about 4.5 MB, more than the
    # kernel buffers between the server and a client that reads nothing can hold.
    review = json.load(open(sys.argv[8]))
    review["request"]["object"]["spec"]["containers"] = [{"name": "c%d" % i, "image": "x"} for i in range(6000)]
    review["request"]["object"]["spec"].pop("initContainers", None)
    body = json.dumps(review, separators=(",", ":")).encode()
    request = (b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
    entries = []
    for _ in range(count):
        conn = tls_connect(rcvbuf=4096)
        entries.append({"sock": conn, "port": conn.getsockname()[1]})
    # The server's socket of each connection, by inode: its descriptor closing is the close.
    inodes = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(path).readlines()[1:]:
            fields = line.split()
            local, remote = int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16)
            if local == port: inodes[remote] = "socket:[%s]" % fields[9]
    for e in entries:
        e["inode"] = inodes.get(e["port"])
        e["start"] = time.monotonic()
        e["sock"].sendall(request)  # then never read: the answer piles up
    deadline = time.monotonic() + limit_seconds + 20
    pending = [e for e in entries if e["inode"]]
    while pending and time.monotonic() < deadline:
        held = set()
        for fd in os.listdir("/proc/%d/fd" % pid):
            try: held.add(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
            except OSError: pass
        now = time.monotonic()
        for e in pending:
            if e["inode"] not in held: e["closed"] = now
            # The answer's first record queued, seen without reading (beyond the session
            # tickets the server sends after the handshake): the server began writing.
            if not e.get("answered"):
                queued = array.array("i", [0])
                fcntl.ioctl(e["sock"].fileno(), termios.FIONREAD, queued)
                if queued[0] > 2048: e["answered"] = now
        pending = [e for e in pending if not e.get("closed")]
        time.sleep(0.02)
    report["left_open"] = len(pending)
    report["unmapped"] = sum(1 for e in entries if not e["inode"])
    report.update(close_report(entries))
    report["write_stall_seconds"] = summary([e["closed"] - e["answered"] for e in entries if e.get("closed") and e.get("answered")])
    for e in entries: e["sock"].close()

elif kind == "pipeline-flood":
    # Clients that keep the server's receive queue full: for 5 s each sends pipelined
    # admissions, 16 at a time, as fast as the server takes them, and reads the answers.
    count, seconds = int(sys.argv[7]), 5.0
    body = open(sys.argv[8], "rb").read()
    batch = ((b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body)) + body) * 16
    poller, by_fd = select.epoll(), {}
    for _ in range(count):
        conn = tls_connect()
        conn.setblocking(False)
        e = {"sock": conn, "out": batch, "sent": 0, "received": 0}
        by_fd[conn.fileno()] = e
        poller.register(conn.fileno(), select.EPOLLIN | select.EPOLLOUT)
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        for fd, events in poller.poll(0.05):
            e = by_fd[fd]
            try:
                if events & select.EPOLLIN:
                    while True:
                        chunk = e["sock"].recv(1 << 20)
                        if not chunk: raise EOFError("closed by the server")
                        e["received"] += len(chunk)
                if events & select.EPOLLOUT:
                    e["out"] = e["out"][e["sock"].send(e["out"]):]
                    if not e["out"]: e["out"], e["sent"] = batch, e["sent"] + 16
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                pass
            except (EOFError, ssl.SSLError, OSError) as error:
                e["error"] = repr(error)
                poller.unregister(fd)
    for e in by_fd.values(): e["sock"].close()
    report["errors"] = [e["error"] for e in by_fd.values() if "error" in e]
    report["requests_sent"] = sum(e["sent"] for e in by_fd.values())
    report["response_bytes"] = sum(e["received"] for e in by_fd.values())

elif kind == "garbage":
    count = int(sys.argv[7])
    entries, watcher = [], Watcher()
    for i in range(count):
        variant = i % 3
        if variant == 2:
            conn = tls_connect()
            start = time.monotonic()
            conn.sendall(b"\x00\x01\x02garbage\xff\xfe" + os.urandom(1024) + b"\r\n\r\n")
            entries.append({"sock": conn, "start": start, "variant": "garbage after handshake"})
        else:
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            start = time.monotonic()
            if variant == 0:
                # Not a TLS record header (type 0, version major 0): bytes that could start one
                # (major 3) make the server wait for the record's rest, up to the handshake timeout.
                raw.sendall(b"\x00\x00" + os.urandom(2046))
                entries.append({"sock": raw, "start": start, "variant": "random bytes"})
            else:
                raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                entries.append({"sock": raw, "start": start, "variant": "plain HTTP"})
        watcher.add(entries[-1])
    report["left_open"] = watcher.run(time.monotonic() + limit_seconds + 20)
    report.update(close_report(entries))
    report["by_variant"] = {v: close_report([e for e in entries if e["variant"] == v])
                            for v in ("random bytes", "plain HTTP", "garbage after handshake")}

elif kind in ("big-body", "many-headers"):
    count = int(sys.argv[7])
    rss_before, rss_peak = rss(), rss()
    entries = []
    def big_body(e, chunked):
        head = b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        total = 100 * 1024 * 1024
        piece = b"x" * 65536
        if chunked:
            e["sock"].sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
            frame = b"10000\r\n" + piece + b"\r\n"
            for _ in range(total // 65536):
                e["sock"].sendall(frame); e["sent"] += len(piece)
            e["sock"].sendall(b"0\r\n\r\n")
        else:
            e["sock"].sendall(head + b"Content-Length: %d\r\n\r\n" % total)
            for _ in range(total // 65536):
                e["sock"].sendall(piece); e["sent"] += len(piece)
    def many_headers(e, _):
        e["sock"].sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        lines = b"".join(b"X-Header-%d: value\r\n" % i for i in range(100000))
        for offset in range(0, len(lines), 65536):
            e["sock"].sendall(lines[offset:offset + 65536]); e["sent"] += len(lines[offset:offset + 65536])
        e["sock"].sendall(b"\r\n")
        e["sent"] += 2
    def sender(e, variant):
        try:
            (big_body if kind == "big-body" else many_headers)(e, variant == "chunked")
            e["finished_sending"] = True
        except (ssl.SSLError, OSError) as error:
            e["send_error"] = type(error).__name__
    def reader(e):
        data = b""
        try:
            while True:
                chunk = e["sock"].recv(65536)
                if not chunk: break
                data += chunk
                if e.get("status") is None and b"\r\n" in data:
                    e["status"], e["answered"] = status_of(data), time.monotonic()
        except (ssl.SSLError, OSError) as error:
            e["error"] = type(error).__name__
        e["closed"] = time.monotonic()
    threads = []
    for i in range(count):
        conn = tls_connect()
        conn.settimeout(limit_seconds + 20)
        e = {"sock": conn, "start": time.monotonic(), "sent": 0, "variant": "chunked" if i % 2 else "content-length"}
        entries.append(e)
        threads += [threading.Thread(target=sender, args=(e, e["variant"])), threading.Thread(target=reader, args=(e,))]
    for t in threads: t.start()
    deadline = time.monotonic() + limit_seconds + 20
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        rss_peak = max(rss_peak, rss())
        time.sleep(0.02)
    for e in entries:
        if not e.get("closed"): e["sock"].close()
    report["left_open"] = sum(1 for e in entries if not e.get("closed"))
    report.update(close_report(entries))
    report["rss_before"], report["rss_peak"] = rss_before, rss_peak
    report["bytes_sent"] = summary([e["sent"] for e in entries])
    report["finished_sending"] = sum(1 for e in entries if e.get("finished_sending"))

print(json.dumps(report))
sys.stdout.flush()
os._exit(0)
"""#

    @Test(.timeLimit(.minutes(3)), arguments: Kind.allCases)
    func serverStaysUpAndClosesHostileConnections(kind: Kind) async throws {
        // The webhook inherits this limit and must hold 1,000 slowloris connections and more.
        let descriptorLimit = ProcessProbe.raiseDescriptorLimit(to: 8192)
        try #require(descriptorLimit >= 2 * Kind.slowloris.connections, "RLIMIT_NOFILE is only \(descriptorLimit)")
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let metricsPort = try TestTools.freePort()
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "\(metricsPort)", "--threads", "2",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key,
            "--service-accounts-file", TestTools.root.appendingPathComponent("deploy/dev/serviceaccounts.yaml").path,
            "--handshake-timeout", "\(Int(Self.handshakeTimeout))s", "--request-head-timeout", "\(Int(Self.requestHeadTimeout))s",
            "--request-body-timeout", "\(Int(Self.requestBodyTimeout))s", "--write-timeout", "\(Int(Self.writeTimeout))s",
            "--max-body-bytes", "\(Self.maxBodyBytes)",
        ])
        let port = try await webhook.listeningPort()
        let probe = ProcessProbe(pid: webhook.process.processIdentifier)
        let baseline = try #require(probe.openDescriptors)
        let baselineConnectionsAndFiles = try #require(probe.connectionsAndFiles)

        // The good client runs from half a second before the attack to a second after it.
        let good = GoodClient(port: port, caFile: tls.certificate)
        let attack: [String: Any]
        do {
            try await Task.sleep(for: .milliseconds(500))
            attack = try await TestTools.python(Self.script, [
                kind.rawValue, "\(port)", tls.certificate, "\(metricsPort)", "\(probe.pid)", "\(kind.limit)",
                "\(kind.connections)", TestTools.root.appendingPathComponent("deploy/dev/review.json").path,
            ], timeout: .seconds(120))
            try await Task.sleep(for: .seconds(1))
        } catch {
            _ = try? await good.stop()
            throw error
        }
        let goodReport = try await good.stop()
        print("\(kind.rawValue): \(attack)\n\(kind.rawValue): good client: \(goodReport)")

        #expect(webhook.process.isRunning, "the webhook died: \(webhook.output.suffix(2000))")
        #expect(goodReport.failures.isEmpty, "\(goodReport)")
        #expect(goodReport.requests >= 5, "\(goodReport)")
        #expect(goodReport.maxMilliseconds <= Self.goodLatencyBound, "\(goodReport)")
        try Self.checkClosed(kind, attack)
        // Every socket of the attack is closed again; no file was left open.
        let after = try await probe.waitForConnectionsAndFiles(baselineConnectionsAndFiles, timeout: .seconds(10))
        #expect(after == baselineConnectionsAndFiles,
                "before: \(baseline) descriptors, \(baselineConnectionsAndFiles); after: \(probe.openDescriptors ?? 0), \(after ?? [])")
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }

    /// The attack's own checks: every connection closed by the server, by its limit, with the
    /// expected answer.
    private static func checkClosed(_ kind: Kind, _ attack: [String: Any]) throws {
        let count = kind.connections
        if kind == .pipelineFlood {
            // Nothing to close: the server must have kept answering the flood itself too.
            #expect((attack["requests_sent"] as? Int ?? 0) > count * 16, "\(attack)")
            #expect((attack["response_bytes"] as? Int ?? 0) > 0, "\(attack)")
            #expect(attack["errors"] as? [String] == [], "\(attack)")
            return
        }
        #expect(attack["opened"] as? Int == count, "\(attack)")
        #expect(attack["left_open"] as? Int == 0, "\(attack)")
        #expect(attack["closed_by_server"] as? Int == count, "\(attack)")
        let closed = try #require(attack["close_seconds"] as? [String: Any])
        let earliest = try #require(closed["min"] as? Double), latest = try #require(closed["max"] as? Double)
        let statuses = attack["statuses"] as? [String: Int] ?? [:]
        switch kind {
        case .slowloris, .slowBody:
            // All were open at once, then each got 408 at the head (body) timeout.
            #expect((attack["open_connections_metric"] as? Double ?? 0) >= Double(count), "\(attack)")
            #expect(statuses == ["408": count], "\(attack)")
            #expect(earliest >= kind.limit - 0.05 && latest <= kind.limit + closeSlack, "\(closed)")
        case .handshakeStall:
            #expect((attack["open_connections_metric"] as? Double ?? 0) >= Double(count), "\(attack)")
            #expect(earliest >= kind.limit - 0.05 && latest <= kind.limit + closeSlack, "\(closed)")
        case .stopReading:
            // Closed once the answer's write waited the write timeout: timed from the answer's
            // first bytes reaching the client (the write began) to the server's socket closing.
            #expect(earliest >= kind.limit - 0.05, "\(closed)")
            let stalled = try #require(attack["write_stall_seconds"] as? [String: Any], "\(attack)")
            #expect(stalled["count"] as? Int == count, "\(attack)")
            #expect(try #require(stalled["max"] as? Double) <= kind.limit + closeSlack, "\(stalled)")
        case .garbage:
            // Closed on the bytes, long before any timeout; garbage inside TLS gets a 400 first.
            #expect(latest < kind.limit, "\(closed)")
            #expect(statuses["400"] == count / 3, "\(attack)")
        case .pipelineFlood:
            break
        case .bigBody, .manyHeaders:
            // Answered at once (413 from Content-Length or the chunked total, 431 from the head
            // size), without buffering what was sent: RSS grows by far less than 100 MB.
            // The answer, or a close: a reset that overtakes an answer the client had not read yet
            // (it was still sending) leaves no status.
            let status = kind == .bigBody ? "413" : "431"
            #expect(Set(statuses.keys).isSubset(of: [status, "None"]) && statuses[status, default: 0] >= 1, "\(attack)")
            let answered = try #require(attack["answer_seconds"] as? [String: Any])
            #expect(try #require(answered["max"] as? Double) < answerBound, "\(answered)")
            #expect(latest < kind.limit + closeSlack, "\(closed)")
            let growth = (attack["rss_peak"] as? Int ?? 0) - (attack["rss_before"] as? Int ?? 0)
            #expect(growth < 32 << 20, "RSS grew by \(growth) bytes: \(attack)")
        }
    }
}
