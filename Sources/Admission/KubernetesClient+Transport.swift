import EventLoop

/// The HTTP exchange `KubernetesClient` needs: one GET to the configured API server.
///
/// Implementations send `Host` themselves, keep connections alive, and throw `IOError` with code
/// `.timedOut` when `deadline` passes before the whole response arrived; any other thrown error
/// counts as a failed connection, which the client may retry.
public protocol KubernetesTransport: Sendable {
    /// Sends `GET path` with `headers` and returns the complete response.
    func get(_ path: String, headers: [(name: String, value: String)], deadline: Deadline) async throws -> KubernetesTransportResponse
}

/// The parts of an HTTP response `KubernetesClient` reads.
public struct KubernetesTransportResponse: Sendable, Hashable {
    /// The status code.
    public var status: Int
    /// The `Retry-After` header, if present.
    public var retryAfter: String?
    /// The whole body.
    public var body: [UInt8]

    public init(status: Int, retryAfter: String? = nil, body: [UInt8] = []) {
        self.status = status
        self.retryAfter = retryAfter
        self.body = body
    }
}
