/// A parsed response head, as the client sees it.
public struct HTTPResponseHead: Sendable {
    public var version: HTTPVersion
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    /// How the body is delimited, given the request method and status.
    public var framing: HTTPBodyFraming
    /// Whether the server lets the connection stay open after this response.
    public var keepAlive: Bool
}

/// An incremental parser of HTTP/1.x response heads, for the client.
public struct HTTPResponseParser: Sendable {
    private var scanner: HTTPHeadScanner

    /// - Parameters:
    ///   - maxHeadSize: the largest accepted head.
    ///   - maxHeaderCount: the most accepted header fields.
    public init(maxHeadSize: Int = 64 * 1024, maxHeaderCount: Int = 200) {
        scanner = HTTPHeadScanner(
            maxStartLineLength: 8 * 1024,
            maxHeadSize: maxHeadSize,
            maxFieldCount: maxHeaderCount,
            startLineTooLong: .badGateway
        )
    }

    /// Parses the head at the start of `buffer`, answering a request with `requestMethod`.
    ///
    /// Returns nil when more bytes are needed, else the head and the bytes it took.
    public mutating func parseHead(
        _ buffer: UnsafeRawBufferPointer,
        requestMethod: HTTPMethod
    ) throws(HTTPParseError) -> (head: HTTPResponseHead, consumed: Int)? {
        guard let length = try scanner.scan(buffer) else { return nil }
        let headStart = scanner.headStart
        let startLineEnd = scanner.startLineEnd! - headStart
        scanner.reset()
        let head = UnsafeRawBufferPointer(rebasing: buffer[headStart..<length])
        return (try parse(head, startLineEnd: startLineEnd, requestMethod: requestMethod), length)
    }

    private func parse(
        _ head: UnsafeRawBufferPointer,
        startLineEnd: Int,
        requestMethod: HTTPMethod
    ) throws(HTTPParseError) -> HTTPResponseHead {
        let (version, status) = try Self.parseStatusLine(UnsafeRawBufferPointer(rebasing: head[0..<(startLineEnd - 1)]))
        var headers = HTTPHeaders()
        var contentLength: Int?
        var transferEncoding = TransferCodings()
        var connectionClose = false
        var connectionKeepAlive = false
        try HTTPHeadLines.parseFields(head, startLineEnd: startLineEnd, into: &headers) { (name, value) throws(HTTPParseError) in
            if HTTPHeadLines.bytes(name, equalLowercased: "content-length") {
                let length = try HTTPHeadLines.parseContentLength(value)
                if let previous = contentLength, previous != length {
                    throw HTTPParseError(.badGateway, "conflicting Content-Length fields")
                }
                contentLength = length
            } else if HTTPHeadLines.bytes(name, equalLowercased: "transfer-encoding") {
                try transferEncoding.add(value)
            } else if HTTPHeadLines.bytes(name, equalLowercased: "connection") {
                try HTTPHeadLines.forEachListElement(value) { option throws(HTTPParseError) in
                    if HTTPHeadLines.bytes(option, equalLowercased: "close") { connectionClose = true }
                    if HTTPHeadLines.bytes(option, equalLowercased: "keep-alive") { connectionKeepAlive = true }
                }
            }
        }

        let framing: HTTPBodyFraming
        if requestMethod == .HEAD || status.forbidsBody {
            framing = .none
        } else if transferEncoding.isPresent {
            guard contentLength == nil else {
                throw HTTPParseError(.badGateway, "both Content-Length and Transfer-Encoding")
            }
            framing = transferEncoding.endsWithChunked && transferEncoding.chunkedCount == 1 && !transferEncoding.hasOtherCoding
                ? .chunked : .untilClose
        } else if let contentLength {
            framing = contentLength == 0 ? .none : .contentLength(contentLength)
        } else {
            framing = .untilClose
        }
        let keepAlive = framing != .untilClose
            && (version == .http1_1 ? !connectionClose : (connectionKeepAlive && !connectionClose))
        return HTTPResponseHead(version: version, status: status, headers: headers, framing: framing, keepAlive: keepAlive)
    }

    /// Parses `HTTP-version SP 3DIGIT [SP reason]`.
    static func parseStatusLine(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> (HTTPVersion, HTTPStatus) {
        guard line.count >= 12, line[8] == HTTPBytes.space,
              let version = parseVersionToken(UnsafeRawBufferPointer(rebasing: line[0..<8])), version.major == 1
        else {
            throw HTTPParseError(.badGateway, "malformed status line")
        }
        var code = 0
        for index in 9..<12 {
            let digit = line[index] &- UInt8(ascii: "0")
            guard digit < 10 else { throw HTTPParseError(.badGateway, "malformed status code") }
            code = code * 10 + Int(digit)
        }
        guard code >= 100, line.count == 12 || line[12] == HTTPBytes.space else {
            throw HTTPParseError(.badGateway, "malformed status line")
        }
        let reason = line.count > 13 ? String(decoding: UnsafeRawBufferPointer(rebasing: line[13...]), as: UTF8.self) : ""
        return (version, HTTPStatus(code: code, reason: reason))
    }

    /// Parses exactly `HTTP/<digit>.<digit>`.
    static func parseVersionToken(_ bytes: UnsafeRawBufferPointer) -> HTTPVersion? {
        guard bytes.count == 8,
              bytes[0] == UInt8(ascii: "H"), bytes[1] == UInt8(ascii: "T"), bytes[2] == UInt8(ascii: "T"),
              bytes[3] == UInt8(ascii: "P"), bytes[4] == UInt8(ascii: "/"), bytes[6] == UInt8(ascii: ".")
        else { return nil }
        let major = bytes[5] &- UInt8(ascii: "0")
        let minor = bytes[7] &- UInt8(ascii: "0")
        guard major < 10, minor < 10 else { return nil }
        return HTTPVersion(major: Int(major), minor: Int(minor))
    }
}
