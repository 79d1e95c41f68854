/// Limits and timeouts of an `HTTPServer`.
public struct HTTPServerConfiguration: Sendable {
    /// Request size limits (head 16 KiB, 100 fields, body 8 MiB by default; a body limit of 0
    /// refuses every body).
    public var limits = HTTPParserLimits()
    /// The memory all request bodies may hold together, beyond a small allowance per body:
    /// give servers the same instance for one process-wide budget. 64 MiB by default.
    public var bodyBudget = RequestBodyBudget(capacity: 64 * 1024 * 1024)
    /// Handshake, head, body, idle and write timeouts.
    public var timeouts = HTTPTimeouts()
    /// Bytes of the per-connection read buffer (at least the head limit plus 1 KiB).
    public var readBufferSize = 20 * 1024
    /// Whether responses carry a `Date` field (formatted once per second).
    public var sendsDate = true
    /// How long a keep-alive connection waits for its next request before it frees its read,
    /// write and TLS buffers: a busy connection keeps them (no allocation per request), an idle
    /// one holds none.
    public var idleBufferReleaseDelay: Duration = .milliseconds(100)

    public init() {}
}

