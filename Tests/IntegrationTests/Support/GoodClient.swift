import Foundation

/// A well-behaved API server stand-in run beside an attack: one python3 process posting the dev
/// AdmissionReview over TLS, one request at a time, until told to stop. Every request is timed
/// and checked (200 and `response.allowed`); a new connection is opened every 8 requests, so
/// accepting is exercised too.
final class GoodClient: Sendable {
    /// What the client saw.
    struct Report: Sendable, CustomStringConvertible {
        var requests: Int
        var connections: Int
        var failures: [String]
        var medianMilliseconds: Double
        var p99Milliseconds: Double
        var maxMilliseconds: Double
        /// The longest time between two answered requests (a stall of the server shows here).
        var longestGapMilliseconds: Double

        init(json: [String: Any]) {
            requests = json["requests"] as? Int ?? 0
            connections = json["connections"] as? Int ?? 0
            failures = json["failures"] as? [String] ?? ["no report"]
            medianMilliseconds = json["median_ms"] as? Double ?? 0
            p99Milliseconds = json["p99_ms"] as? Double ?? 0
            maxMilliseconds = json["max_ms"] as? Double ?? 0
            longestGapMilliseconds = json["longest_gap_ms"] as? Double ?? 0
        }

        var description: String {
            String(format: "%d requests on %d connections, %d failures, median %.1f ms, p99 %.1f ms, max %.1f ms, longest gap %.1f ms",
                   requests, connections, failures.count, medianMilliseconds, p99Milliseconds, maxMilliseconds,
                   longestGapMilliseconds) + (failures.isEmpty ? "" : ": \(failures.prefix(5))")
        }
    }

    private static let script = #"""
import json, os, socket, ssl, sys, time
port, ca, body_file, stop_file, max_seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
body = open(body_file, "rb").read()
request = (b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
context = ssl.create_default_context(cafile=ca)

\#(PythonHTTP.readResponse)

latencies, failures, connections, conn = [], [], 0, None
start = time.monotonic()
last_answer, longest_gap = start, 0.0
while not os.path.exists(stop_file) and time.monotonic() - start < max_seconds:
    began = time.monotonic()
    try:
        if conn is None:
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = context.wrap_socket(raw, server_hostname="127.0.0.1")
            connections += 1
        conn.sendall(request)
        status, _, payload = read_response(conn)
        if status != 200 or json.loads(payload)["response"]["allowed"] is not True:
            failures.append("%.3fs: status %d %r" % (began - start, status, payload[:200]))
    except Exception as error:
        failures.append("%.3fs: %r" % (began - start, error))
        if conn is not None: conn.close()
        conn = None
        continue
    now = time.monotonic()
    latencies.append(now - began)
    longest_gap, last_answer = max(longest_gap, now - last_answer), now
    if len(latencies) % 8 == 0:
        conn.close(); conn = None
    time.sleep(0.02)
if conn is not None: conn.close()
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0
print(json.dumps({"requests": len(latencies), "connections": connections, "failures": failures,
                  "median_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": pick(1.0), "longest_gap_ms": longest_gap * 1000}))
"""#

    private let stopFile: String
    private let task: Task<Report, any Error>

    /// Starts posting to the TLS port `port`, trusting `caFile`; stops by itself after `maxDuration`.
    init(port: Int, caFile: String, maxDuration: Duration = .seconds(120)) {
        stopFile = NSTemporaryDirectory() + "good-client-stop-\(UUID().uuidString)"
        let arguments = [
            "\(port)", caFile, TestTools.root.appendingPathComponent("deploy/dev/review.json").path, stopFile,
            "\(maxDuration.components.seconds)",
        ]
        task = Task { Report(json: try await TestTools.python(Self.script, arguments, timeout: maxDuration + .seconds(30))) }
    }

    /// Tells the client to stop after its current request and returns what it saw.
    func stop() async throws -> Report {
        _ = FileManager.default.createFile(atPath: stopFile, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: stopFile) }
        return try await task.value
    }
}
