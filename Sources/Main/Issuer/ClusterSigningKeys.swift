import Admission
import EventLoop

/// Reads a cluster's ServiceAccount token signing keys from its API server: the OpenID
/// discovery document (`/.well-known/openid-configuration`, for `jwks_uri`) and the key set
/// (`/openid/v1/jwks`), with the kubeconfig's credentials. Both paths are readable by the
/// `system:service-account-issuer-discovery` ClusterRole.
struct ClusterSigningKeys {
    let api: KubernetesAPIConfiguration
    let loop: EventLoop
    let timeout: Duration

    /// The issuer bodies for every key, naming `jwksURI` or else the discovery document's.
    func issuerBodies(jwksURI: String?) async throws(ConfigurationError) -> [OIDCIssuerBody] {
        let transport: HTTPClientKubernetesTransport
        do {
            transport = try HTTPClientKubernetesTransport(api: api, loop: loop)
        } catch {
            throw ConfigurationError("--kubeconfig: \(error)")
        }
        let uri: String
        if let jwksURI {
            uri = jwksURI
        } else {
            uri = try OIDCIssuerBody.jwksURI(fromDiscovery: try await get("/.well-known/openid-configuration", transport))
        }
        return try OIDCIssuerBody.external(jwks: try await get("/openid/v1/jwks", transport), jwksURI: uri)
    }

    private func get(_ path: String, _ transport: HTTPClientKubernetesTransport) async throws(ConfigurationError) -> [UInt8] {
        let url = "https://\(api.authority)\(api.pathPrefix)\(path)"
        var headers: [(name: String, value: String)] = [("Accept", "application/json"), ("User-Agent", "irsa-webhook/\(IRSAWebhook.version)")]
        let response: KubernetesTransportResponse
        do {
            if let token = api.token { headers.append(("Authorization", "Bearer " + (try token.token()))) }
            response = try await transport.get(api.pathPrefix + path, headers: headers, deadline: .after(timeout))
        } catch {
            throw ConfigurationError("cannot read \(url) from the cluster: \(error)")
        }
        guard response.status == 200 else {
            throw ConfigurationError(
                "the cluster answered \(response.status) for \(path) (\(ErrorBodyMessage.of(response.body))); "
                    + "the kubeconfig's user needs the system:service-account-issuer-discovery ClusterRole")
        }
        return response.body
    }
}
