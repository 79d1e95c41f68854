import Foundation
import Testing

/// SIGTERM under load: keep-alive clients posting reviews without pause lose no request.
@Suite struct GracefulShutdownTests {
    /// 16 threads, each with one keep-alive TLS connection posting the sample review in a loop.
    /// After `load_seconds` it sends SIGTERM to the webhook and keeps going until the server
    /// refuses new connections. A request counts as failed only when its bytes were sent and no
    /// 200 came back; a connection the server closed before we sent is reopened.
    static let client = #"""
import json, os, select, signal, socket, ssl, sys, threading, time
port, ca, body_file, pid, load_seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
body = open(body_file, "rb").read()
request = (b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
context = ssl.create_default_context(cafile=ca)
lock = threading.Lock()
stats = {"completed": 0, "completed_after_term": 0, "closed_with_connection_close": 0, "closed_idle_before_send": 0,
         "refused_after_term": 0, "failures": [], "eof_without_response_after_term": [], "connections": 0}
term_sent = threading.Event()
term_time = [None]

def count(key, value=1):
    with lock:
        if isinstance(stats[key], list): stats[key].append(value)
        else: stats[key] += value

def closed_by_server(conn):
    # True when the server has closed this idle connection (EOF or close_notify is waiting).
    if conn.pending() == 0 and not select.select([conn], [], [], 0)[0]:
        return False
    conn.setblocking(False)
    try:
        data = conn.recv(1)
        if data: raise RuntimeError("unexpected bytes on an idle connection: %r" % data)
        return True
    except ssl.SSLWantReadError:
        return False
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError, ConnectionResetError):
        return True
    finally:
        conn.setblocking(True)

\#(PythonHTTP.readResponse)

def connect():
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    count("connections")
    return context.wrap_socket(raw, server_hostname="127.0.0.1")

def worker():
    conn = None
    deadline = time.monotonic() + load_seconds + 10
    while time.monotonic() < deadline:
        if conn is None:
            try:
                conn = connect()
            except (ConnectionRefusedError, ConnectionResetError, ssl.SSLError, OSError) as error:
                if term_sent.is_set(): count("refused_after_term"); return
                count("failures", "connect before SIGTERM: %r" % error); return
        elif closed_by_server(conn):
            count("closed_idle_before_send"); conn.close(); conn = None; continue
        after_term = term_sent.is_set()
        try:
            conn.sendall(request)
            status, headers, _ = read_response(conn)
        except EOFError as error:
            # The server closed without a byte of answer. Either it dropped a request it had
            # received (a bug), or it closed the idle connection just after our check above
            # and before our bytes arrived: the keep-alive close race no server can avoid.
            key = "eof_without_response_after_term" if term_sent.is_set() and "0 bytes" in str(error) else "failures"
            count(key, "request sent, no response (%s SIGTERM): %r" % ("after" if term_sent.is_set() else "before", error))
            conn.close(); conn = None
            if term_sent.is_set(): return
            continue
        except Exception as error:
            count("failures", "request sent, no response (%s SIGTERM): %r" % ("after" if after_term or term_sent.is_set() else "before", error))
            conn.close(); conn = None
            if term_sent.is_set(): return
            continue
        if status != 200:
            count("failures", "status %d" % status)
        else:
            count("completed")
            if term_sent.is_set(): count("completed_after_term")
        if headers.get("connection", "").lower() == "close":
            count("closed_with_connection_close"); conn.close(); conn = None

def probe_readiness():
    # After SIGTERM /readyz must say 503, or the port must be closed.
    time.sleep(0.02)
    try:
        conn = connect()
        conn.sendall(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, _, _ = read_response(conn)
        stats["readyz_after_term"] = status
    except Exception as error:
        stats["readyz_after_term"] = "closed: %r" % error

threads = [threading.Thread(target=worker) for _ in range(16)]
for t in threads: t.start()
time.sleep(load_seconds)
with lock: stats["completed_before_term"] = stats["completed"]
os.kill(pid, signal.SIGTERM)
term_time[0] = time.monotonic()
term_sent.set()
probe = threading.Thread(target=probe_readiness); probe.start()
for t in threads: t.join(15)
probe.join(10)
stats["workers_still_running"] = sum(t.is_alive() for t in threads)
stats["drain_seconds"] = time.monotonic() - term_time[0]
print(json.dumps(stats))
sys.stdout.flush()
os._exit(0)
"""#

    @Test func sigtermUnderLoadLosesNoRequest() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let reviewFile = TestTools.root.appendingPathComponent("deploy/dev/review.json").path
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "2", "--shutdown-grace", "5s",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key,
            "--service-accounts-file", TestTools.root.appendingPathComponent("deploy/dev/serviceaccounts.yaml").path,
        ])
        let port = try await webhook.listeningPort()

        let stats = try await TestTools.python(
            Self.client, ["\(port)", tls.certificate, reviewFile, "\(webhook.process.processIdentifier)", "1.5"],
            timeout: .seconds(40))
        let status = try await webhook.waitForExit(timeout: .seconds(5))

        let failures = stats["failures"] as? [String] ?? ["no failures list"]
        #expect(failures.isEmpty, "lost requests: \(failures.prefix(10)) of \(failures.count); stats: \(stats)")
        // Draining keeps idle keep-alive connections for a short grace, so a busy client's next
        // request is answered (with Connection: close) instead of meeting a close on its way.
        let raced = stats["eof_without_response_after_term"] as? [String] ?? ["no list"]
        #expect(raced.isEmpty, "requests answered with EOF after SIGTERM: \(raced.count); stats: \(stats)")
        #expect((stats["completed_before_term"] as? Int ?? 0) > 100, "too little load to test anything: \(stats)")
        #expect(stats["workers_still_running"] as? Int == 0)
        #expect(stats["readyz_after_term"] as? Int == 503 || (stats["readyz_after_term"] as? String)?.hasPrefix("closed") == true,
                "\(stats)")
        #expect(status == 0, "exit status \(String(describing: status)); output:\n\(webhook.output.suffix(2000))")
        #expect(webhook.output.contains("shutdown complete"))
    }
}
