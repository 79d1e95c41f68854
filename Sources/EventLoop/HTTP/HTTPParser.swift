/// Limits on what a request may contain, each with the status answered when exceeded.
public struct HTTPParserLimits: Sendable {
    /// The longest request line (414 when exceeded).
    public var maxRequestLineLength = 8 * 1024
    /// The largest head, request line and fields together (431).
    public var maxHeadSize = 16 * 1024
    /// The most header fields (431).
    public var maxHeaderCount = 100
    /// The largest body (413). 0: no request may have a body, chunked or not (413 at the head).
    public var maxBodySize = 8 * 1024 * 1024

    public init() {}
}

/// An incremental parser of HTTP/1.x request heads (RFC 9112), without Foundation.
///
/// Feed it the buffered bytes of a connection, starting at the next request, each time more
/// arrive; it remembers how far it scanned. It returns the head once complete, with its
/// framing and connection semantics decided, and throws `HTTPParseError` (carrying the
/// status to answer) for anything malformed or ambiguous, in particular every shape that
/// could let two parsers disagree on where a request ends: conflicting Content-Length values,
/// Content-Length with Transfer-Encoding, chunked not last, obsolete line folding, bare LF.
public struct HTTPRequestParser: Sendable {
    public let limits: HTTPParserLimits
    private var scanner: HTTPHeadScanner

    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
        scanner = HTTPHeadScanner(
            maxStartLineLength: limits.maxRequestLineLength,
            maxHeadSize: limits.maxHeadSize,
            maxFieldCount: limits.maxHeaderCount,
            startLineTooLong: .uriTooLong
        )
    }

    /// Parses the head at the start of `buffer`.
    ///
    /// Returns nil when more bytes are needed (call again with the same start and more bytes),
    /// else the head and the number of bytes it took; the body, if any, follows.
    public mutating func parseHead(_ buffer: UnsafeRawBufferPointer) throws(HTTPParseError) -> (head: HTTPRequestHead, consumed: Int)? {
        guard let length = try scanner.scan(buffer) else { return nil }
        let headStart = scanner.headStart
        let startLineEnd = scanner.startLineEnd! - headStart
        scanner.reset()
        let head = UnsafeRawBufferPointer(rebasing: buffer[headStart..<length])
        return (try parse(head, startLineEnd: startLineEnd), length)
    }

    private func parse(_ head: UnsafeRawBufferPointer, startLineEnd: Int) throws(HTTPParseError) -> HTTPRequestHead {
        let requestLine = UnsafeRawBufferPointer(rebasing: head[0..<(startLineEnd - 1)])
        let (method, targetRange, version) = try Self.parseRequestLine(requestLine)

        var contentLength: Int?
        var transferEncoding = TransferCodings()
        var hostCount = 0
        var connectionClose = false
        var connectionKeepAlive = false
        var expectsContinue = false
        try HTTPHeadLines.forEachField(head, startLineEnd: startLineEnd) { (name, value) throws(HTTPParseError) in
            switch name.count {
            case 4 where HTTPHeadLines.bytes(name, equalLowercased: "host"):
                hostCount += 1
            case 6 where HTTPHeadLines.bytes(name, equalLowercased: "expect"):
                guard HTTPHeadLines.bytes(value, equalLowercased: "100-continue") else {
                    throw HTTPParseError(.expectationFailed, "unsupported expectation")
                }
                expectsContinue = true
            case 10 where HTTPHeadLines.bytes(name, equalLowercased: "connection"):
                try HTTPHeadLines.forEachListElement(value) { option throws(HTTPParseError) in
                    if HTTPHeadLines.bytes(option, equalLowercased: "close") { connectionClose = true }
                    if HTTPHeadLines.bytes(option, equalLowercased: "keep-alive") { connectionKeepAlive = true }
                }
            case 14 where HTTPHeadLines.bytes(name, equalLowercased: "content-length"):
                let length = try HTTPHeadLines.parseContentLength(value)
                if let previous = contentLength, previous != length {
                    throw HTTPParseError(.badRequest, "conflicting Content-Length fields")
                }
                contentLength = length
            case 17 where HTTPHeadLines.bytes(name, equalLowercased: "transfer-encoding"):
                try transferEncoding.add(value)
            default:
                break
            }
        }

        let isHTTP11 = version == .http1_1
        if isHTTP11, hostCount != 1 {
            throw HTTPParseError(.badRequest, hostCount == 0 ? "missing Host" : "more than one Host field")
        }
        if hostCount > 1 {
            throw HTTPParseError(.badRequest, "more than one Host field")
        }
        let framing: HTTPBodyFraming
        if transferEncoding.isPresent {
            guard contentLength == nil else {
                throw HTTPParseError(.badRequest, "both Content-Length and Transfer-Encoding")
            }
            guard isHTTP11 else {
                throw HTTPParseError(.badRequest, "Transfer-Encoding in an HTTP/1.0 request")
            }
            try transferEncoding.validateForRequest()
            guard limits.maxBodySize > 0 else {
                throw HTTPParseError(.payloadTooLarge, "this server takes no request bodies")
            }
            framing = .chunked
        } else if let contentLength, contentLength > 0 {
            guard contentLength <= limits.maxBodySize else {
                throw HTTPParseError(.payloadTooLarge, "body larger than \(limits.maxBodySize) bytes")
            }
            framing = .contentLength(contentLength)
        } else {
            framing = .none
        }

        let (path, queryRange) = try Self.splitTarget(UnsafeRawBufferPointer(rebasing: head[targetRange]), method: method)
        return HTTPRequestHead(
            method: method,
            path: path,
            version: version,
            framing: framing,
            keepAlive: isHTTP11 ? !connectionClose : (connectionKeepAlive && !connectionClose),
            expectsContinue: expectsContinue && isHTTP11 && framing != .none,
            // The request line and field lines, without the empty line that ends the head.
            bytes: [UInt8](UnsafeRawBufferPointer(rebasing: head[0..<(head.count - 2)])),
            targetRange: targetRange,
            queryRange: (queryRange.lowerBound + targetRange.lowerBound)..<(queryRange.upperBound + targetRange.lowerBound),
            fieldsStart: startLineEnd + 1
        )
    }

    /// Parses `method SP request-target SP HTTP-version`.
    /// Returns the method, where the target is in `line`, and the version.
    static func parseRequestLine(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> (HTTPMethod, Range<Int>, HTTPVersion) {
        var methodEnd = 0
        while methodEnd < line.count, line[methodEnd] != HTTPBytes.space {
            guard HTTPBytes.isToken(line[methodEnd]) else {
                throw HTTPParseError(.badRequest, "invalid character in method")
            }
            methodEnd += 1
        }
        guard methodEnd > 0, methodEnd < line.count else {
            throw HTTPParseError(.badRequest, "malformed request line")
        }
        let targetStart = methodEnd + 1
        var targetEnd = targetStart
        while targetEnd < line.count, line[targetEnd] != HTTPBytes.space {
            guard line[targetEnd] > 0x20, line[targetEnd] < 0x7F else {
                throw HTTPParseError(.badRequest, "invalid character in request target")
            }
            targetEnd += 1
        }
        guard targetEnd > targetStart, targetEnd < line.count else {
            throw HTTPParseError(.badRequest, "malformed request line")
        }
        let version = try parseVersion(UnsafeRawBufferPointer(rebasing: line[(targetEnd + 1)...]))
        let method = HTTPMethod(token: UnsafeRawBufferPointer(rebasing: line[0..<methodEnd]))
        return (method, targetStart..<targetEnd, version)
    }

    /// Parses `HTTP/1.0` or `HTTP/1.1`; other well-formed versions are 505, anything else 400.
    static func parseVersion(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPVersion {
        guard let version = HTTPResponseParser.parseVersionToken(bytes) else {
            throw HTTPParseError(.badRequest, "malformed HTTP version")
        }
        guard version.major == 1, version.minor <= 1 else {
            throw HTTPParseError(.httpVersionNotSupported, "unsupported version \(version)")
        }
        return version
    }

    /// Splits the target into its path and where its query is (after `?`, empty when there is
    /// none); accepts origin-form, absolute-form and `*` for OPTIONS.
    static func splitTarget(_ target: UnsafeRawBufferPointer, method: HTTPMethod) throws(HTTPParseError) -> (String, Range<Int>) {
        let end = target.count
        let none = end..<end
        var pathStart = 0
        if target[0] != UInt8(ascii: "/") {
            if end == 1, target[0] == UInt8(ascii: "*"), method == .OPTIONS { return ("*", none) }
            guard method != .CONNECT,
                  let colon = target.firstIndex(of: UInt8(ascii: ":")),
                  colon + 3 <= end, target[colon + 1] == UInt8(ascii: "/"), target[colon + 2] == UInt8(ascii: "/")
            else {
                throw HTTPParseError(.badRequest, "unsupported request target form")
            }
            guard let start = target[(colon + 3)...].firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) else {
                return ("/", none)
            }
            pathStart = start
        }
        guard let question = target[pathStart...].firstIndex(of: UInt8(ascii: "?")) else {
            return (String(decoding: UnsafeRawBufferPointer(rebasing: target[pathStart...]), as: UTF8.self), none)
        }
        let path = question == pathStart ? "/" : String(decoding: UnsafeRawBufferPointer(rebasing: target[pathStart..<question]), as: UTF8.self)
        return (path, (question + 1)..<end)
    }
}

/// The transfer codings of a message, collected over every Transfer-Encoding field.
struct TransferCodings {
    private(set) var isPresent = false
    private(set) var chunkedCount = 0
    private(set) var endsWithChunked = false
    private(set) var hasOtherCoding = false

    mutating func add(_ value: UnsafeRawBufferPointer) throws(HTTPParseError) {
        isPresent = true
        try HTTPHeadLines.forEachListElement(value) { (coding) throws(HTTPParseError) in
            for byte in coding where !HTTPBytes.isToken(byte) {
                throw HTTPParseError(.badRequest, "invalid transfer coding")
            }
            if HTTPHeadLines.bytes(coding, equalLowercased: "chunked") {
                chunkedCount += 1
                endsWithChunked = true
            } else {
                hasOtherCoding = true
                endsWithChunked = false
            }
        }
    }

    /// Requests must end in exactly one chunked coding (RFC 9112 section 6.1); other codings
    /// are not implemented.
    func validateForRequest() throws(HTTPParseError) {
        guard endsWithChunked, chunkedCount == 1 else {
            throw HTTPParseError(.badRequest, "Transfer-Encoding does not end in a single chunked")
        }
        guard !hasOtherCoding else {
            throw HTTPParseError(.notImplemented, "unsupported transfer coding")
        }
    }
}
