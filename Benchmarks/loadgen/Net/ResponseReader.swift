import EventLoop

/// One HTTP/1.1 response as the webhook sent it; `body` points into the reader's buffer and is
/// valid until the next `read`.
struct ReceivedResponse {
    let status: Int
    let body: UnsafeRawBufferPointer
    /// The server announced `Connection: close`.
    let closes: Bool
    /// Bytes of head and body.
    let byteCount: Int
}

/// Why a response could not be read.
enum ResponseReadError: Error {
    /// The server closed the connection before a complete response.
    case closedEarly
    /// Not an HTTP/1.1 response with a Content-Length body (loadgen needs no more from a webhook).
    case malformed(String)
}

/// Reads whole responses from a stream into one growing buffer owned by a connection; heads are
/// parsed by the event loop's `HTTPResponseParser`.
final class ResponseReader {
    private var buffer: UnsafeMutableRawBufferPointer
    private var parser = HTTPResponseParser()
    private static let maximumResponse = 64 << 20

    init(initialCapacity: Int = 64 * 1024) {
        buffer = .allocate(byteCount: initialCapacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Reads the response to a POST from `stream` (exactly one: no pipelining).
    func read(from stream: some ByteStream) async throws -> ReceivedResponse {
        parser = HTTPResponseParser()  // a previous connection may have failed mid-head
        var filled = 0
        var head: (status: Int, bodyStart: Int, contentLength: Int, closes: Bool)?
        while true {
            if filled == buffer.count { try grow(to: buffer.count * 2) }
            let count = try await stream.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if count == 0 { throw ResponseReadError.closedEarly }
            filled += count
            if head == nil {
                head = try parseHead(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]))
                if let head, head.bodyStart + head.contentLength > buffer.count { try grow(to: head.bodyStart + head.contentLength) }
            }
            if let head, filled >= head.bodyStart + head.contentLength {
                guard filled == head.bodyStart + head.contentLength else { throw ResponseReadError.malformed("bytes after the response") }
                return ReceivedResponse(status: head.status, body: UnsafeRawBufferPointer(rebasing: buffer[head.bodyStart..<filled]),
                                        closes: head.closes, byteCount: filled)
            }
        }
    }

    /// The head at the start of `bytes`, or nil when it is not complete yet.
    private func parseHead(_ bytes: UnsafeRawBufferPointer) throws -> (status: Int, bodyStart: Int, contentLength: Int, closes: Bool)? {
        let parsed: (head: HTTPResponseHead, consumed: Int)?
        do {
            parsed = try parser.parseHead(bytes, requestMethod: .POST)
        } catch {
            throw ResponseReadError.malformed(error.description)
        }
        guard let (head, consumed) = parsed else { return nil }
        switch head.framing {
        case .contentLength(let length):
            return (head.status.code, consumed, length, !head.keepAlive)
        case .none:
            return (head.status.code, consumed, 0, !head.keepAlive)
        case .chunked, .untilClose:
            throw ResponseReadError.malformed("a body without Content-Length (a webhook answer has one)")
        }
    }

    private func grow(to capacity: Int) throws {
        guard capacity <= Self.maximumResponse else { throw ResponseReadError.malformed("response over 64 MiB") }
        let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        larger.copyMemory(from: UnsafeRawBufferPointer(buffer))
        buffer.deallocate()
        buffer = larger
    }
}
