/// Receives server events, for metrics and logs, without tying the server to a metrics library.
///
/// Called on the connection's event loop, inline: keep implementations cheap and non-blocking.
/// Every method has an empty default.
public protocol HTTPServerObserver: Sendable {
    /// A connection was accepted (before any TLS handshake).
    func connectionOpened()
    /// A connection was closed.
    func connectionClosed()
    /// Whether `requestServed` does something. When false the server neither calls it nor
    /// reads the clock to time requests. Defaults to true.
    var observesServedRequests: Bool { get }
    /// A response was written: the request's method and path, the status, and the time from
    /// the complete request head to the written response.
    func requestServed(method: HTTPMethod, path: String, status: HTTPStatus, duration: Duration)
    /// A request was rejected before routing (malformed, too large, too slow), answered with `status`.
    func requestRejected(status: HTTPStatus, reason: String)
    /// A TLS handshake failed or timed out.
    func tlsHandshakeFailed(_ error: any Error)
}

extension HTTPServerObserver {
    public func connectionOpened() {}
    public func connectionClosed() {}
    public var observesServedRequests: Bool { true }
    public func requestServed(method: HTTPMethod, path: String, status: HTTPStatus, duration: Duration) {}
    public func requestRejected(status: HTTPStatus, reason: String) {}
    public func tlsHandshakeFailed(_ error: any Error) {}
}

/// The observer used when none is given.
struct SilentHTTPServerObserver: HTTPServerObserver {
    var observesServedRequests: Bool { false }
}
