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

/// Reads whole responses from a stream into one growing buffer owned by a connection.
final class ResponseReader {
    private var buffer: UnsafeMutableRawBufferPointer
    private static let maximumResponse = 64 << 20

    init(initialCapacity: Int = 64 * 1024) {
        buffer = .allocate(byteCount: initialCapacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Reads the next response from `stream` (exactly one: no pipelining).
    func read(from stream: some ByteStream) async throws -> ReceivedResponse {
        var filled = 0
        var headEnd: Int?
        var status = 0
        var contentLength = 0
        var closes = false
        while true {
            if filled == buffer.count { try grow(to: buffer.count * 2) }
            let count = try await stream.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if count == 0 { throw ResponseReadError.closedEarly }
            filled += count
            if headEnd == nil, let end = Self.findHeadEnd(UnsafeRawBufferPointer(rebasing: buffer[0..<filled])) {
                headEnd = end
                (status, contentLength, closes) = try Self.parseHead(UnsafeRawBufferPointer(rebasing: buffer[0..<end]))
                if end + contentLength > buffer.count { try grow(to: end + contentLength) }
            }
            if let headEnd, filled >= headEnd + contentLength {
                guard filled == headEnd + contentLength else { throw ResponseReadError.malformed("bytes after the response") }
                return ReceivedResponse(status: status, body: UnsafeRawBufferPointer(rebasing: buffer[headEnd..<filled]),
                                        closes: closes, byteCount: filled)
            }
        }
    }

    private func grow(to capacity: Int) throws {
        guard capacity <= Self.maximumResponse else { throw ResponseReadError.malformed("response over 64 MiB") }
        let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        larger.copyMemory(from: UnsafeRawBufferPointer(buffer))
        buffer.deallocate()
        buffer = larger
    }

    /// The offset just past the blank line that ends the head.
    private static func findHeadEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index] == 0x0A && bytes[index - 1] == 0x0D
            && bytes[index - 2] == 0x0A && bytes[index - 3] == 0x0D {
            return index + 1
        }
        return nil
    }

    /// Status code, Content-Length and `Connection: close` of a response head.
    static func parseHead(_ head: UnsafeRawBufferPointer) throws -> (status: Int, contentLength: Int, closes: Bool) {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)[...]
        guard let statusLine = lines.popFirst(), statusLine.hasPrefix("HTTP/1.1 ") || statusLine.hasPrefix("HTTP/1.0 ") else {
            throw ResponseReadError.malformed("bad status line")
        }
        let codeText = statusLine.dropFirst(9).prefix(3)
        guard codeText.count == 3, let status = Int(codeText) else { throw ResponseReadError.malformed("bad status code") }
        var contentLength: Int?
        var closes = statusLine.hasPrefix("HTTP/1.0 ")
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw ResponseReadError.malformed("header without colon") }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            switch name {
            case "content-length":
                guard let length = Int(value), length >= 0, contentLength == nil || contentLength == length else {
                    throw ResponseReadError.malformed("bad Content-Length")
                }
                contentLength = length
            case "transfer-encoding":
                throw ResponseReadError.malformed("Transfer-Encoding \(value) (a webhook answer has a Content-Length)")
            case "connection":
                if value.lowercased().contains("close") { closes = true }
                if value.lowercased().contains("keep-alive") { closes = false }
            default:
                continue
            }
        }
        guard let contentLength else { throw ResponseReadError.malformed("no Content-Length") }
        return (status, contentLength, closes)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var result = self
        while result.first == " " || result.first == "\t" { result.removeFirst() }
        while result.last == " " || result.last == "\t" { result.removeLast() }
        return result
    }
}
