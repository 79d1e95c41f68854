import Foundation
import Testing

/// Descriptor exhaustion: the real binary under `ulimit -n 256` and 1,000 connection attempts.
/// Accepting must pause (EMFILE) without spinning, then resume once descriptors are free.
@Suite struct DescriptorExhaustionTests {
    /// The descriptor limit the webhook runs under.
    static let descriptorLimit = 256
    static let connections = 1000
    /// CPU the saturated webhook may use in 2 s: a busy accept loop would use 2 s per thread.
    static let saturatedCPUBound = 0.2

    /// Opens 1,000 TCP connections (no TLS handshake: each holds a descriptor until the 10 s
    /// handshake timeout), measures the webhook's descriptors and CPU time over 2 s, starts a
    /// good request that must wait in the backlog, closes the 1,000 and times the good answer.
    static let script = #"""
import json, os, resource, socket, ssl, sys, threading, time
port, ca, pid, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
def descriptors(): return len(os.listdir("/proc/%d/fd" % pid))
def connections_and_files():
    # Sockets, pipes and files; not the anonymous eventfd/timerfd/epoll the runtime may open lazily.
    targets = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try: targets.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError: pass
    return sum(1 for target in targets if not target.startswith("anon_inode:"))
report = {"connections_and_files_before": connections_and_files()}
clients = []
for _ in range(count):
    client = socket.socket()
    client.setblocking(False)
    try: client.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    clients.append(client)
deadline = time.monotonic() + 5
while descriptors() < 250 and time.monotonic() < deadline: time.sleep(0.05)
report["descriptors_saturated"] = descriptors()
cpu_before, began = cpu(), time.monotonic()
time.sleep(2)
report["saturated_cpu_seconds"], report["saturated_wall_seconds"] = cpu() - cpu_before, time.monotonic() - began

good = {}
def good_request():
    started = time.monotonic()
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=20)
        conn = ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname="127.0.0.1")
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        good["status"] = int(conn.recv(100).split()[1])
        conn.close()
    except Exception as error:
        good["error"] = repr(error)
    good["answered"] = time.monotonic()
thread = threading.Thread(target=good_request)
thread.start()
time.sleep(1)
report["good_answered_while_saturated"] = "answered" in good
closed = time.monotonic()
for client in clients: client.close()
thread.join(30)
report["good_status"], report["good_error"] = good.get("status"), good.get("error")
report["good_answered_after_close_seconds"] = good.get("answered", closed + 99) - closed
deadline = time.monotonic() + 10
while connections_and_files() > report["connections_and_files_before"] and time.monotonic() < deadline: time.sleep(0.05)
report["connections_and_files_after"] = connections_and_files()
print(json.dumps(report))
"""#

    @Test(.timeLimit(.minutes(2)))
    func acceptingPausesWithoutSpinningAndResumes() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        // bash lowers the limit, then becomes the webhook (same pid).
        let webhook = try WebhookProcess([
            "-c", #"ulimit -n "$1" && shift && exec "$@""#, "bash", "\(Self.descriptorLimit)", WebhookProcess.binaryPath,
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "2",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key,
            "--service-accounts-file", TestTools.root.appendingPathComponent("deploy/dev/serviceaccounts.yaml").path,
        ], executable: "/bin/bash")
        let port = try await webhook.listeningPort()
        let pid = webhook.process.processIdentifier
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        #expect(limits.split(separator: "\n").contains {
            $0.hasPrefix("Max open files") && $0.split(separator: " ").contains("\(Self.descriptorLimit)")
        }, "\(limits)")

        let report = try await TestTools.python(Self.script, ["\(port)", tls.certificate, "\(pid)", "\(Self.connections)"],
                                                timeout: .seconds(60))
        print("descriptor exhaustion: \(report)")
        // Saturated: every descriptor the limit allows is in use, yet the process is idle.
        #expect((report["descriptors_saturated"] as? Int ?? 0) >= Self.descriptorLimit - 4, "\(report)")
        #expect((report["saturated_cpu_seconds"] as? Double ?? 99) <= Self.saturatedCPUBound, "\(report)")
        // A good client waits in the backlog while saturated, and is served once descriptors free up.
        #expect(report["good_answered_while_saturated"] as? Bool == false, "\(report)")
        #expect(report["good_status"] as? Int == 200, "\(report)")
        #expect((report["good_answered_after_close_seconds"] as? Double ?? 99) < 10, "\(report)")
        #expect(report["connections_and_files_after"] as? Int == report["connections_and_files_before"] as? Int, "\(report)")
        #expect(webhook.process.isRunning, "the webhook died: \(webhook.output.suffix(2000))")
        // Operators see the pauses in the metrics.
        let metrics = try await TestTools.curl("GET", port: port, path: "/metrics", caFile: tls.certificate)
        #expect((TestTools.metric(#"irsa_accept_pauses_total{listener="webhook"}"#, in: metrics.body) ?? 0) >= 1, "\(metrics.body)")
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }
}
