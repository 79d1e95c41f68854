import EventLoop

/// Sends `KubernetesClient`'s GETs through an `HTTPClient` (keep-alive pool, TLS, deadlines).
///
/// The HTTP client is confined to its event loop; each request runs with that loop as task
/// executor preference, so a caller on another loop (or the global pool) hops there and back,
/// and a caller already on it does not hop.
public struct HTTPClientKubernetesTransport: KubernetesTransport {
    /// The HTTP client requests go through.
    public let client: HTTPClient
    private let scheme: HTTPClientRequest.Scheme
    private let host: String
    private let port: Int

    /// A transport to the server `api` names.
    ///
    /// - Throws: `KubernetesConfigurationError` when `api.serverName` differs from `api.host`:
    ///   the HTTP client verifies the certificate against the host it connects to.
    public init(client: HTTPClient, api: KubernetesAPIConfiguration) throws(KubernetesConfigurationError) {
        guard api.serverName == api.host else {
            throw KubernetesConfigurationError(
                subject: "tls-server-name",
                problem: "\"\(api.serverName)\" differs from the server host \"\(api.host)\", which the HTTP client verifies")
        }
        self.client = client
        self.scheme = api.usesTLS ? .https : .http
        self.host = api.host
        self.port = api.port
    }

    public func get(_ path: String, headers: [(name: String, value: String)], deadline: Deadline) async throws -> KubernetesTransportResponse {
        var fields = HTTPHeaders()
        for header in headers { fields.add(name: header.name, value: header.value) }
        let request = HTTPClientRequest(method: .GET, scheme: scheme, host: host, port: port, target: path, headers: fields)
        let client = self.client
        let response = try await withTaskExecutorPreference(client.loop) {
            try await client.execute(request, deadline: deadline)
        }
        return KubernetesTransportResponse(status: response.status.code, retryAfter: response.headers["Retry-After"], body: response.body)
    }
}

extension HTTPClientKubernetesTransport {
    /// A transport to the server `api` names over a new `HTTPClient` on `loop`, with a TLS
    /// context trusting `api`'s certificate authority (the system store when it has none) and
    /// presenting its client certificate, if any, opening at most `maxConnections` connections.
    ///
    /// - Throws: `TLSError` when the PEM material is unusable, `KubernetesConfigurationError`
    ///   when the configuration cannot be served by the HTTP client.
    public init(api: KubernetesAPIConfiguration, loop: EventLoop, maxConnections: Int = 16) throws {
        try self.init(
            client: .kubernetes(
                api: api, loop: loop, maxResponseBodySize: ServiceAccountJSON.maximumBodyBytes, maxConnections: maxConnections),
            api: api)
    }
}

extension KubernetesClient {
    /// A client for `api` over a new `HTTPClientKubernetesTransport` on `loop`.
    public convenience init(api: KubernetesAPIConfiguration, loop: EventLoop, configuration: Configuration = Configuration()) throws {
        self.init(api: api, transport: try HTTPClientKubernetesTransport(api: api, loop: loop), configuration: configuration)
    }
}
