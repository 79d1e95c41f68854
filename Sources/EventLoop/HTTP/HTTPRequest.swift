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
public struct HTTPRequestHead: Sendable {
    public var method: HTTPMethod
    /// The request-target as sent, e.g. `/mutate?timeout=10s`.
    public var target: String
    /// The path of the target, without the query.
    public var path: String
    /// The query after `?`, without it; empty when absent.
    public var query: Substring
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    /// How the body is delimited.
    public var framing: HTTPBodyFraming
    /// Whether the client allows the connection to stay open after the response.
    public var keepAlive: Bool
    /// Whether the client waits for `100 Continue` before sending the body.
    public var expectsContinue: Bool
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
