/// How the length of a message body is known (RFC 9112 section 6).
public enum HTTPBodyFraming: Hashable, Sendable {
    /// No body.
    case none
    /// Exactly this many bytes follow the head.
    case contentLength(Int)
    /// The body is sent in chunks (`Transfer-Encoding: chunked`).
    case chunked
    /// The body runs until the peer closes the connection (responses only).
    case untilClose
}

/// A parsed request head: request line, fields, and what they mean for framing and keep-alive.
///
/// The head's bytes are copied once out of the connection's buffer (one allocation); the
/// target, query and header fields are made from them only when asked for, so a request whose
/// handler reads none of them costs no string per field. `field(_:satisfies:)` checks one field
/// without allocating.
public struct HTTPRequestHead: Sendable {
    public var method: HTTPMethod
    /// The path of the target, without the query.
    public var path: String
    public var version: HTTPVersion
    /// How the body is delimited.
    public var framing: HTTPBodyFraming
    /// Whether the client allows the connection to stay open after the response.
    public var keepAlive: Bool
    /// Whether the client waits for `100 Continue` before sending the body.
    public var expectsContinue: Bool
    /// The request line and the field lines, each ending in CRLF, as received and validated.
    private let bytes: [UInt8]
    private let targetRange: Range<Int>
    private let queryRange: Range<Int>
    /// Where the field lines start in `bytes` (after the request line's CRLF).
    private let fieldsStart: Int

    init(
        method: HTTPMethod, path: String, version: HTTPVersion, framing: HTTPBodyFraming, keepAlive: Bool,
        expectsContinue: Bool, bytes: [UInt8], targetRange: Range<Int>, queryRange: Range<Int>, fieldsStart: Int
    ) {
        self.method = method
        self.path = path
        self.version = version
        self.framing = framing
        self.keepAlive = keepAlive
        self.expectsContinue = expectsContinue
        self.bytes = bytes
        self.targetRange = targetRange
        self.queryRange = queryRange
        self.fieldsStart = fieldsStart
    }

    /// The request-target as sent, e.g. `/mutate?timeout=10s`.
    public var target: String {
        String(decoding: bytes[targetRange], as: UTF8.self)
    }

    /// The query after `?`, without it; empty when absent.
    public var query: Substring {
        Substring(String(decoding: bytes[queryRange], as: UTF8.self))
    }

    /// The header fields in the order received.
    public var headers: HTTPHeaders {
        var headers = HTTPHeaders()
        forEachField { name, value in
            headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
            return true
        }
        return headers
    }

    /// Whether there is a field named `name` (ASCII case ignored) and `predicate` holds for the
    /// value (OWS trimmed) of the first one. Allocates nothing; not generic, so a caller in
    /// another module pays no generic metadata lookup.
    public func field(_ name: String, satisfies predicate: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        var name = name
        return name.withUTF8 { wanted in
            var result = false
            forEachField { fieldName, value in
                guard HTTPHeadLines.bytes(fieldName, equalIgnoringCase: UnsafeRawBufferPointer(wanted)) else { return true }
                result = predicate(value)
                return false
            }
            return result
        }
    }

    /// Whether there is a field named `name` whose media type (the value before any `;`
    /// parameters, OWS trimmed) is `mediaType`, ASCII case ignored; `mediaType` is lowercase,
    /// e.g. `application/json` matches `Application/JSON; charset=utf-8`.
    public func field(_ name: String, hasMediaType mediaType: StaticString) -> Bool {
        field(name) { value in
            var end = value.firstIndex(of: UInt8(ascii: ";")) ?? value.count
            while end > 0, HTTPBytes.isWhitespace(value[end - 1]) { end -= 1 }
            return HTTPHeadLines.bytes(UnsafeRawBufferPointer(rebasing: value[..<end]), equalLowercased: mediaType)
        }
    }

    /// Calls `body` with each field's name and value until it returns false.
    private func forEachField(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        bytes.withUnsafeBytes { head in
            HTTPHeadLines.forEachValidatedField(UnsafeRawBufferPointer(rebasing: head[fieldsStart...]), body)
        }
    }
}

/// A complete request as handed to a route handler.
public struct HTTPRequest: Sendable {
    /// The request line and fields.
    public var head: HTTPRequestHead
    /// The body; empty when there is none.
    public var body: [UInt8]

    public init(head: HTTPRequestHead, body: [UInt8]) {
        self.head = head
        self.body = body
    }

    public var method: HTTPMethod { head.method }
    public var target: String { head.target }
    public var path: String { head.path }
    public var query: Substring { head.query }
    public var headers: HTTPHeaders { head.headers }
}
