import EventLoop

/// Reads pipelined HTTP/1.1 requests from a byte stream delivered in arbitrary segments, the
/// way `HTTPServerConnection` does (head parser, then a Content-Length or chunked body), and
/// records what it saw. Checks on the way that the parser never reports more bytes than it was
/// given and that nothing buffers beyond the configured limits.
struct HTTPRequestStreamReader {
    /// One thing the reader observed.
    enum Event: Equatable, CustomStringConvertible {
        case request(RequestSummary)
        case error(HTTPParseError)
        /// The stream ended: bytes still buffered, and what the reader was waiting for.
        case end(buffered: Int, waitingFor: String)

        var description: String {
            switch self {
            case .request(let request): return "request \(request)"
            case .error(let error): return "error \(error)"
            case .end(let buffered, let waitingFor): return "end with \(buffered) bytes buffered, waiting for \(waitingFor)"
            }
        }
    }

    /// The parts of a request the server acts on.
    struct RequestSummary: Equatable {
        var method: String
        var target: String
        var path: String
        var query: String
        var version: String
        var headers: [HTTPField]
        var framing: HTTPBodyFraming
        var keepAlive: Bool
        var expectsContinue: Bool
        var body: [UInt8]

        init(_ head: HTTPRequestHead, body: [UInt8]) {
            method = head.method.rawValue
            target = head.target
            path = head.path
            query = String(head.query)
            version = head.version.description
            headers = Array(head.headers)
            framing = head.framing
            keepAlive = head.keepAlive
            expectsContinue = head.expectsContinue
            self.body = body
        }
    }

    private enum Phase {
        case head
        case contentLength(HTTPRequestHead, remaining: Int)
        case chunked(HTTPRequestHead, ChunkedDecoder)
        /// An error was answered or the request asked to close: the server reads no more.
        case closed

        var name: String {
            switch self {
            case .head: return "a head"
            case .contentLength: return "a Content-Length body"
            case .chunked: return "a chunked body"
            case .closed: return "nothing (closed)"
            }
        }
    }

    let limits: HTTPParserLimits
    private var parser: HTTPRequestParser
    private var machine: HTTPConnectionStateMachine<FixedClock>
    private var buffer: [UInt8] = []
    private var body: [UInt8] = []
    private var phase = Phase.head
    private(set) var events: [Event] = []

    init(limits: HTTPParserLimits) {
        self.limits = limits
        parser = HTTPRequestParser(limits: limits)
        machine = HTTPConnectionStateMachine(timeouts: HTTPTimeouts(), clock: FixedClock(), tls: false)
    }

    /// Takes the next segment of the stream and reads as far as it allows.
    mutating func receive(_ segment: ArraySlice<UInt8>) throws(FuzzViolation) {
        if case .closed = phase { return }
        buffer.append(contentsOf: segment)
        while try step() {}
    }

    /// The events, ending with what was left when the stream ended (unless the reader closed first).
    mutating func finish() -> [Event] {
        if case .closed = phase { return events }
        events.append(.end(buffered: buffer.count, waitingFor: phase.name))
        return events
    }

    /// One parse step; false when more bytes are needed or the reader is closed.
    private mutating func step() throws(FuzzViolation) -> Bool {
        switch phase {
        case .closed:
            return false
        case .head:
            guard !buffer.isEmpty else { return false }
            machine.receivedHeadBytes()
            guard case .readingHead = machine.state else { throw FuzzViolation("state machine not reading a head: \(machine.state)") }
            var result: (head: HTTPRequestHead, consumed: Int)?
            var failure: HTTPParseError?
            buffer.withUnsafeBytes { bytes in
                do throws(HTTPParseError) { result = try parser.parseHead(bytes) } catch { failure = error }
            }
            if let failure { return close(with: failure) }
            guard let (head, consumed) = result else {
                // The scanner must refuse a head before it outgrows the limit, or memory is unbounded.
                if buffer.count > limits.maxHeadSize {
                    throw FuzzViolation("\(buffer.count) head bytes buffered without an error (limit \(limits.maxHeadSize))")
                }
                return false
            }
            guard consumed > 0, consumed <= buffer.count else {
                throw FuzzViolation("head consumed \(consumed) of \(buffer.count) bytes")
            }
            buffer.removeFirst(consumed)
            body = []
            machine.headCompleted(hasBody: head.framing != .none)
            switch head.framing {
            case .none, .untilClose:
                try complete(head)
            case .contentLength(let length):
                guard length <= limits.maxBodySize else { throw FuzzViolation("Content-Length \(length) over the limit") }
                phase = .contentLength(head, remaining: length)
            case .chunked:
                phase = .chunked(head, ChunkedDecoder(maxBodySize: limits.maxBodySize))
            }
            return true
        case .contentLength(let head, let remaining):
            let take = min(remaining, buffer.count)
            body.append(contentsOf: buffer[..<take])
            buffer.removeFirst(take)
            if take == remaining {
                try complete(head)
                return true
            }
            phase = .contentLength(head, remaining: remaining - take)
            return false
        case .chunked(let head, var decoder):
            guard !buffer.isEmpty else { return false }
            var consumed = 0
            var failure: HTTPParseError?
            buffer.withUnsafeBytes { bytes in
                do throws(HTTPParseError) { consumed = try decoder.decode(bytes, into: &body) } catch { failure = error }
            }
            if let failure { return close(with: failure) }
            guard consumed >= 0, consumed <= buffer.count else {
                throw FuzzViolation("chunked decoder consumed \(consumed) of \(buffer.count) bytes")
            }
            // `bodySize` counts each chunk from its size line on, so it may run ahead of the data.
            guard decoder.bodySize <= limits.maxBodySize, body.count <= decoder.bodySize,
                  !decoder.isComplete || body.count == decoder.bodySize else {
                throw FuzzViolation("chunked body of \(body.count) bytes (decoder says \(decoder.bodySize), limit \(limits.maxBodySize))")
            }
            if !decoder.isComplete, consumed != buffer.count {
                throw FuzzViolation("incomplete chunked body left \(buffer.count - consumed) bytes unconsumed")
            }
            buffer.removeFirst(consumed)
            if decoder.isComplete {
                try complete(head)
                return true
            }
            phase = .chunked(head, decoder)
            return false
        }
    }

    private mutating func complete(_ head: HTTPRequestHead) throws(FuzzViolation) {
        machine.bodyCompleted()
        events.append(.request(RequestSummary(head, body: body)))
        body = []
        let keepAlive = machine.mayKeepAlive(requestKeepAlive: head.keepAlive)
        switch machine.responseSent(keepAlive: keepAlive) {
        case .close:
            phase = .closed
        case .awaitRequest:
            guard case .awaitingRequest(_, isFirst: false) = machine.state else {
                throw FuzzViolation("state machine not awaiting the next request: \(machine.state)")
            }
            phase = .head
        }
    }

    private mutating func close(with error: HTTPParseError) -> Bool {
        events.append(.error(error))
        machine.closed()
        phase = .closed
        return false
    }
}

/// A clock that never moves: the harness checks transitions, not timeouts.
struct FixedClock: HTTPClock {
    func now() -> Deadline { Deadline(uptimeNanoseconds: 1_000_000_000) }
}
