import EventLoop

extension KubernetesAPIConfiguration {
    /// A request to this API server: `method` on `path` (a path and query under `pathPrefix`),
    /// with the fields every API request carries (`Accept: application/json`, `userAgent`, the
    /// bearer token when there is one) and, with a body, its `contentType`.
    ///
    /// - Throws: `KubernetesConfigurationError` when the token file cannot be read.
    public func request(
        _ method: HTTPMethod, path: String, userAgent: String, body: [UInt8] = [], contentType: String = "application/json"
    ) throws(KubernetesConfigurationError) -> HTTPClientRequest {
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "User-Agent", value: userAgent)
        if let token { headers.add(name: "Authorization", value: "Bearer " + (try token.token())) }
        if !body.isEmpty { headers.add(name: "Content-Type", value: contentType) }
        return HTTPClientRequest(
            method: method, scheme: usesTLS ? .https : .http, host: host, port: port, target: pathPrefix + path, headers: headers, body: body)
    }
}
