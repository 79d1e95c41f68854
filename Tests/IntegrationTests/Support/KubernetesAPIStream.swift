import Foundation

/// A watch request read to its end (or to the lines wanted) by a small Python client over real TLS, keeping what curl
/// hides: the chunk framing, each line's arrival time, a half line left at the end, and how the
/// stream ended.
struct KubernetesAPIStream {
    /// How the response ended.
    enum End: String {
        /// The terminating chunk arrived (or a Content-Length body was complete).
        case complete
        /// The server closed the connection without the terminating chunk.
        case closed
        /// Nothing more arrived before the client's time limit.
        case timeout
        /// The client stopped after the number of lines it wanted.
        case enoughLines
    }

    /// One complete line of the body and when it arrived (CLOCK_REALTIME seconds).
    struct Line {
        var text: String
        var arrival: Double

        /// The line as a JSON object.
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] }
        /// The watch event's type.
        var type: String? { json?["type"] as? String }
        /// The watch event's object.
        var object: [String: Any]? { json?["object"] as? [String: Any] }
        /// The object's metadata.resourceVersion.
        var resourceVersion: String? { (object?["metadata"] as? [String: Any])?["resourceVersion"] as? String }
    }

    var status: Int
    /// Header fields, names in lower case.
    var fields: [String: String]
    /// The chunks' sizes, in order (chunked responses only).
    var chunkSizes: [Int]
    var lines: [Line]
    /// Body bytes after the last newline (a half event line, for a stalled stream).
    var partial: String
    var end: End
    /// When the response ended (or the client gave up), CLOCK_REALTIME seconds.
    var ended: Double

    /// GETs `path` from 127.0.0.1:`port` (trusting `caFile`, with the bearer `token`) and reads
    /// the response until it ends, `lines` complete lines have arrived, or `limit` passes.
    static func read(_ path: String, port: Int, caFile: String, token: String?, lines: Int? = nil, limit: Duration) async throws
        -> KubernetesAPIStream
    {
        let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
        let result = try await TestTools.python(
            script, [String(port), caFile, token ?? "", path, String(seconds), String(lines ?? 0)], timeout: limit + .seconds(30))
        guard let status = result["status"] as? Int, let fields = result["fields"] as? [String: String],
              let chunkSizes = result["chunks"] as? [Int], let lines = result["lines"] as? [[String: Any]],
              let partial = result["partial"] as? String, let end = (result["end"] as? String).flatMap(End.init),
              let ended = result["ended"] as? Double
        else { throw TestToolError("unexpected watch client output: \(result)") }
        return KubernetesAPIStream(
            status: status, fields: fields, chunkSizes: chunkSizes,
            lines: lines.compactMap { line in
                (line["text"] as? String).flatMap { text in (line["at"] as? Double).map { Line(text: text, arrival: $0) } }
            },
            partial: partial, end: end, ended: ended)
    }

    /// The client: one request, then recv until the body ends, the peer closes, or the limit;
    /// decodes chunked framing itself; prints one JSON object. Bytes are kept as Latin-1 text.
    private static let script = #"""
import json, socket, ssl, sys, time
port, ca, token, path, limit, wanted = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6])
context = ssl.create_default_context(cafile=ca)
conn = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=limit), server_hostname="127.0.0.1")
auth = "Authorization: Bearer %s\r\n" % token if token else ""
conn.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % (path, auth)).encode())
deadline = time.monotonic() + limit
data, head, body, chunks, lines, end = b"", None, b"", [], [], "timeout"
status, fields, chunked, length, pending = 0, {}, False, None, b""

def parse():
    # Returns True once the body is complete; moves complete chunk data into `body`.
    global data, head, status, fields, chunked, length, body
    if head is None:
        if b"\r\n\r\n" not in data:
            return False
        raw, data = data.split(b"\r\n\r\n", 1)
        head = raw.decode("latin-1").split("\r\n")
        status = int(head[0].split(" ")[1])
        fields = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in head[1:]}
        chunked = fields.get("transfer-encoding") == "chunked"
        length = None if chunked else int(fields.get("content-length", "0"))
    if not chunked:
        body, data = body + data, b""
        return len(body) >= length
    while b"\r\n" in data:
        size_line, rest = data.split(b"\r\n", 1)
        size = int(size_line.split(b";")[0], 16)
        if len(rest) < size + 2:
            return False
        if size == 0:
            return True
        chunks.append(size)
        body += rest[:size]
        data = rest[size + 2:]
    return False

try:
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        conn.settimeout(left)
        received = conn.recv(65536)
        now = time.time()
        if not received:
            end = "closed"
            break
        data += received
        done = parse()
        while b"\n" in body:
            line, body = body.split(b"\n", 1)
            lines.append({"text": line.decode("latin-1"), "at": now})
        if done:
            end = "complete"
            break
        if wanted and len(lines) >= wanted:
            end = "enoughLines"
            break
except (socket.timeout, TimeoutError):
    pass
except (ConnectionError, ssl.SSLError):
    end = "closed"
print(json.dumps({"status": status, "fields": fields, "chunks": chunks, "lines": lines,
                  "partial": body.decode("latin-1"), "end": end, "ended": time.time()}))
"""#
}
