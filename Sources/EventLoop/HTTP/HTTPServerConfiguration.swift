/// Limits and timeouts of an `HTTPServer`.
public struct HTTPServerConfiguration: Sendable {
    /// Request size limits (head 16 KiB, 100 fields, body 8 MiB by default).
    public var limits = HTTPParserLimits()
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

