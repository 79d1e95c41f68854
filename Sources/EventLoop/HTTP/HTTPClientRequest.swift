/// A request for `HTTPClient`: where it goes and what it carries.
public struct HTTPClientRequest: Sendable {
    /// `http` or `https`.
    public enum Scheme: String, Sendable, Hashable {
        case http
        case https

        var defaultPort: Int { self == .http ? 80 : 443 }
    }

    public var method: HTTPMethod
    public var scheme: Scheme
    /// The host to connect to (an address `SocketAddress` accepts), also sent as `Host`.
    public var host: String
    public var port: Int
    /// The request-target: path and query, e.g. `/api/v1/namespaces/default/serviceaccounts/app`.
    public var target: String
    /// Fields to send; `Host`, `Content-Length`, `Transfer-Encoding` and `Connection` are set by the client.
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(
        method: HTTPMethod = .GET,
        scheme: Scheme = .https,
        host: String,
        port: Int? = nil,
        target: String = "/",
        headers: HTTPHeaders = [:],
        body: [UInt8] = []
    ) {
        self.method = method
        self.scheme = scheme
        self.host = host
        self.port = port ?? scheme.defaultPort
        self.target = target
        self.headers = headers
        self.body = body
    }

    /// A request to `url` (`http[s]://host[:port][/path[?query]]`; IPv6 hosts in brackets).
    public init(method: HTTPMethod = .GET, url: String, headers: HTTPHeaders = [:], body: [UInt8] = []) throws(HTTPClientError) {
        let rest: Substring
        let scheme: Scheme
        if url.hasPrefix("https://") {
            scheme = .https
            rest = url.dropFirst(8)
        } else if url.hasPrefix("http://") {
            scheme = .http
            rest = url.dropFirst(7)
        } else {
            throw HTTPClientError(.invalidURL, url)
        }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if target.isEmpty { target = "/" } else if target.first == "?" { target = "/" + target }
        var host = authority
        var port: Int?
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else { throw HTTPClientError(.invalidURL, url) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let afterHost = authority[authority.index(after: close)...]
            if afterHost.first == ":" {
                port = Int(afterHost.dropFirst())
                guard port != nil else { throw HTTPClientError(.invalidURL, url) }
            } else if !afterHost.isEmpty {
                throw HTTPClientError(.invalidURL, url)
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = Int(authority[authority.index(after: colon)...])
            guard port != nil else { throw HTTPClientError(.invalidURL, url) }
        }
        guard !host.isEmpty, (port ?? 1) > 0, (port ?? 1) < 65536 else { throw HTTPClientError(.invalidURL, url) }
        self.init(method: method, scheme: scheme, host: String(host), port: port, target: target, headers: headers, body: body)
    }

    /// The `Host` field value: the host, with the port unless it is the scheme's default.
    var hostField: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == scheme.defaultPort ? name : "\(name):\(port)"
    }

    /// Appends the request, head and body, to `buffer` for one write.
    func serialize(into buffer: ConnectionBuffer) {
        buffer.appendFieldText(method.rawValue)
        buffer.append(HTTPBytes.space)
        buffer.appendFieldText(target)
        buffer.append(" HTTP/1.1\r\nHost: ")
        buffer.appendFieldText(hostField)
        buffer.append("\r\n")
        for field in headers.fields where !Self.isClientManaged(field.name) {
            buffer.appendFieldText(field.name)
            buffer.append(": ")
            buffer.appendFieldText(field.value)
            buffer.append("\r\n")
        }
        if !body.isEmpty || method == .POST || method == .PUT || method == .PATCH {
            buffer.append("Content-Length: ")
            buffer.appendDecimal(body.count)
            buffer.append("\r\n")
        }
        buffer.append("\r\n")
        buffer.append(body)
    }

    private static func isClientManaged(_ name: String) -> Bool {
        name.equalsIgnoringASCIICase("host")
            || name.equalsIgnoringASCIICase("content-length")
            || name.equalsIgnoringASCIICase("transfer-encoding")
            || name.equalsIgnoringASCIICase("connection")
    }
}

/// A complete response received by `HTTPClient`.
public struct HTTPClientResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: [UInt8]

    public var status: HTTPStatus { head.status }
    public var headers: HTTPHeaders { head.headers }
}

/// Why a client request failed (besides `IOError` from the connection and `TLSError`).
public struct HTTPClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The URL could not be parsed.
        public static let invalidURL = Code(name: "invalid URL")
        /// An https request on a client without a TLS context.
        public static let noTLSContext = Code(name: "no TLS context for https")
        /// The response was malformed.
        public static let malformedResponse = Code(name: "malformed response")
        /// The response body exceeded the configured limit.
        public static let responseTooLarge = Code(name: "response body too large")
        /// The server closed the connection before the response was complete.
        public static let connectionClosed = Code(name: "connection closed before the response was complete")
        /// No address of the host accepted a connection (each attempt is in the detail).
        public static let connectFailed = Code(name: "cannot connect")
        public var description: String { name }
    }

    public let code: Code
    /// Details: the URL, the parse error, the host.
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code): \(detail)" }
}
