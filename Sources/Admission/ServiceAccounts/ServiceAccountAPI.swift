import EventLoop

/// The informer's requests to the Kubernetes API: LIST pages and WATCH streams of
/// ServiceAccounts in all namespaces, over an `HTTPClient` of their own (a watch holds its
/// connection for minutes and carries far more than one GET's body limit).
///
/// Confined to the client's event loop, like the client.
struct ServiceAccountAPI: Sendable {
    let client: HTTPClient
    let api: KubernetesAPIConfiguration
    let userAgent: String
    /// The annotations kept.
    let filter: ServiceAccountAnnotationFilter

    typealias Failure = KubernetesAPIFailure

    /// `GET /api/v1/serviceaccounts` with `query`, as an HTTP request with the usual headers.
    func request(_ query: [(String, String)]) throws -> HTTPClientRequest {
        let path = "/api/v1/serviceaccounts?" + query.map { $0.0 + "=" + KubernetesClient.escapePathSegment($0.1) }.joined(separator: "&")
        return try api.request(.GET, path: path, userAgent: userAgent)
    }

    /// The body of a response whose status is not 200, as a failure naming the request.
    static func failure(_ what: String, status: Int, body: [UInt8]) -> Failure {
        Failure(what, status: status, body: body, rbacHint: "the webhook needs RBAC list and watch on serviceaccounts")
    }
}

extension HTTPClient {
    /// A client on `loop` for the API server `api` describes: TLS trusting its certificate
    /// authority (the system store when it has none) and presenting its client certificate, if any.
    public static func kubernetes(
        api: KubernetesAPIConfiguration, loop: EventLoop, maxResponseBodySize: Int, maxConnections: Int = 16
    ) throws -> HTTPClient {
        var tlsContext: TLSContext?
        if api.usesTLS {
            tlsContext = try TLSContext(configuration: .client(
                trustRoots: api.certificateAuthorityPEM.map { .pem($0) },
                certificateChain: api.clientCertificatePEM.map { .pem($0) },
                privateKey: api.clientKeyPEM.map { .pem($0) },
                insecureSkipVerify: api.insecureSkipTLSVerify))
        }
        var configuration = HTTPClient.Configuration()
        configuration.maxResponseBodySize = maxResponseBodySize
        configuration.maxConnectionsPerHost = maxConnections
        return HTTPClient(loop: loop, tlsContext: tlsContext, configuration: configuration)
    }
}
