/// Identifies the pooled connections that can serve a request.
struct HTTPPoolKey: Hashable {
    let scheme: HTTPClientRequest.Scheme
    let host: String
    let port: Int
}

/// One client connection: sends a request and reads its response, then may be reused.
///
/// Confined to its client's event loop.
final class HTTPClientConnection {
    /// Where a failed exchange stopped, which decides whether a retry is safe.
    enum Failure: Error {
        /// The connection failed before any byte of the response arrived: a reused connection
        /// that the server had closed looks like this, and an idempotent request may be retried.
        case beforeResponse(any Error)
        /// The connection failed after part of the response arrived.
        case duringResponse(any Error)
    }

    let stream: any ByteStream
    let key: HTTPPoolKey
    /// When the connection was last returned to the pool.
    var idleSince = Deadline.now()
    private let readBuffer = ConnectionBuffer(capacity: 16 * 1024)
    private let writeBuffer = ConnectionBuffer(capacity: 4 * 1024)
    private var parser = HTTPResponseParser()

    init(stream: any ByteStream, key: HTTPPoolKey) {
        self.stream = stream
        self.key = key
    }

    func close() {
        stream.close()
    }

    /// Sends `request` and reads the response, passing each run of body bytes to `onBody`.
    ///
    /// Returns the head and whether the connection may carry another request (the response
    /// was read completely and neither side asked to close).
    func exchange(
        _ request: HTTPClientRequest,
        deadline: Deadline,
        maxBodySize: Int,
        onHead: (HTTPResponseHead) async throws -> Void,
        onBody: (UnsafeRawBufferPointer) async throws -> Void
    ) async throws(Failure) -> (head: HTTPResponseHead, reusable: Bool) {
        stream.readDeadline = deadline
        stream.writeDeadline = deadline
        readBuffer.clear()
        let head: HTTPResponseHead
        do {
            writeBuffer.clear()
            request.serialize(into: writeBuffer)
            try await stream.write(writeBuffer.readable)
            head = try await readHead(method: request.method)
        } catch {
            throw readBuffer.isEmpty ? .beforeResponse(error) : .duringResponse(error)
        }
        do {
            try await onHead(head)
            let complete = try await readBody(head.framing, maxBodySize: maxBodySize, onBody: onBody)
            return (head, complete && head.keepAlive && readBuffer.isEmpty)
        } catch {
            throw .duringResponse(error)
        }
    }

    private func readHead(method: HTTPMethod) async throws -> HTTPResponseHead {
        while true {
            if !readBuffer.isEmpty {
                let parsed: (head: HTTPResponseHead, consumed: Int)?
                do throws(HTTPParseError) {
                    parsed = try parser.parseHead(readBuffer.readable, requestMethod: method)
                } catch {
                    throw HTTPClientError(.malformedResponse, error.reason)
                }
                if let (head, consumed) = parsed {
                    readBuffer.consume(consumed)
                    // Interim responses (100 Continue) precede the final one.
                    if head.status.code >= 100, head.status.code < 200, head.status.code != 101 { continue }
                    return head
                }
            }
            guard try await readMore() > 0 else {
                throw readBuffer.isEmpty
                    ? IOError.closed("read response")
                    : HTTPClientError(.connectionClosed, "inside the response head")
            }
        }
    }

    /// Reads the body; returns whether it ended by its framing (not by the connection closing).
    private func readBody(
        _ framing: HTTPBodyFraming,
        maxBodySize: Int,
        onBody: (UnsafeRawBufferPointer) async throws -> Void
    ) async throws -> Bool {
        switch framing {
        case .none:
            return true
        case .contentLength(let length):
            guard length <= maxBodySize else { throw HTTPClientError(.responseTooLarge, "Content-Length \(length)") }
            var remaining = length
            while true {
                let take = min(remaining, readBuffer.readableCount)
                if take > 0 {
                    try await onBody(UnsafeRawBufferPointer(rebasing: readBuffer.readable[0..<take]))
                    readBuffer.consume(take)
                    remaining -= take
                }
                if remaining == 0 { return true }
                guard try await readMore() > 0 else {
                    throw HTTPClientError(.connectionClosed, "\(remaining) bytes of the body missing")
                }
            }
        case .chunked:
            var decoder = ChunkedDecoder(maxBodySize: maxBodySize)
            let decoded = ConnectionBuffer(capacity: 4096)
            while true {
                decoded.clear()
                do throws(HTTPParseError) {
                    readBuffer.consume(try decoder.decode(readBuffer.readable) { decoded.append($0) })
                } catch {
                    throw error.status == .payloadTooLarge
                        ? HTTPClientError(.responseTooLarge, error.reason)
                        : HTTPClientError(.malformedResponse, error.reason)
                }
                if !decoded.isEmpty {
                    try await onBody(decoded.readable)
                }
                if decoder.isComplete { return true }
                guard try await readMore() > 0 else {
                    throw HTTPClientError(.connectionClosed, "inside a chunked body")
                }
            }
        case .untilClose:
            var total = 0
            while true {
                if !readBuffer.isEmpty {
                    total += readBuffer.readableCount
                    guard total <= maxBodySize else { throw HTTPClientError(.responseTooLarge, "over \(maxBodySize) bytes") }
                    try await onBody(readBuffer.readable)
                    readBuffer.clear()
                }
                guard try await readMore() > 0 else { return false }
            }
        }
    }

    private func readMore() async throws -> Int {
        let count = try await stream.read(into: readBuffer.writableSpace(minimum: 4096))
        readBuffer.didWrite(count)
        return count
    }
}
