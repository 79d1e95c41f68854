/// Renders `POST` requests of prepared reviews into a connection's reusable buffer: the head is
/// fixed but for Content-Length, the body is copied and its `request.uid` overwritten in place.
struct RequestWriter {
    private let headPrefix: [UInt8]
    private static let headSuffix = Array("\r\n\r\n".utf8)

    init(target: Target) {
        headPrefix = Array((
            "POST \(target.path) HTTP/1.1\r\nHost: \(target.host):\(target.port)\r\n"
            + "User-Agent: loadgen\r\nAccept: application/json, */*\r\nContent-Type: application/json\r\n"
            + "Content-Length: "
        ).utf8)
    }

    /// The most bytes a request for a body of `bodyCount` bytes takes.
    func capacity(forBody bodyCount: Int) -> Int { headPrefix.count + 20 + Self.headSuffix.count + bodyCount }

    /// Writes the request for `review` with a uid made of `stream` and `sequence` into `buffer`;
    /// returns the request's length and the offset of the uid in `buffer`.
    func render(_ review: PreparedReview, stream: UInt32, sequence: UInt64,
                into buffer: UnsafeMutableRawBufferPointer) -> (length: Int, uidOffset: Int) {
        var offset = 0
        func append(_ bytes: UnsafeRawBufferPointer) {
            UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + bytes.count)]).copyMemory(from: bytes)
            offset += bytes.count
        }
        headPrefix.withUnsafeBytes { append($0) }
        var digits: [UInt8] = []
        var length = review.body.count
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(length % 10))
            length /= 10
        } while length > 0
        for digit in digits.reversed() {
            buffer[offset] = digit
            offset += 1
        }
        Self.headSuffix.withUnsafeBytes { append($0) }
        let bodyStart = offset
        review.body.withUnsafeBytes { append($0) }
        let uidOffset = bodyStart + review.uidOffset
        RequestUID.write(stream: stream, sequence: sequence,
                         to: buffer.baseAddress!.advanced(by: uidOffset).assumingMemoryBound(to: UInt8.self))
        return (offset, uidOffset)
    }
}
