/// How to reach and authenticate to the Kubernetes API server: built from the in-cluster
/// environment (`inCluster`) or a kubeconfig file (`kubeconfig`).
///
/// PEM material is held as text (checked to contain a PEM block) for the TLS layer; a nil
/// certificate authority means the system trust store.
public struct KubernetesAPIConfiguration: Sendable {
    /// The server's host name or IP address, without brackets.
    public var host: String
    /// The server's TCP port.
    public var port: Int
    /// False only for an `http://` server, which needs `allowInsecure`.
    public var usesTLS: Bool
    /// A path the API is served under (e.g. `/k8s/clusters/c-1` behind a proxy), "" when none;
    /// never ends with "/".
    public var pathPrefix: String
    /// The name the server certificate is verified against (and sent as SNI when it is a host name).
    public var serverName: String
    /// The PEM certificates trusted for the server; nil trusts the system store.
    public var certificateAuthorityPEM: String?
    /// The PEM client certificate (chain) for mutual TLS, if any.
    public var clientCertificatePEM: String?
    /// The PEM private key of `clientCertificatePEM`.
    public var clientKeyPEM: String?
    /// The bearer token sent with every request, if any.
    public var token: KubernetesTokenProvider?
    /// Skips verifying the server certificate. Only ever set when the caller allowed it.
    public var insecureSkipTLSVerify: Bool

    public init(
        host: String, port: Int, usesTLS: Bool = true, pathPrefix: String = "", serverName: String? = nil,
        certificateAuthorityPEM: String? = nil, clientCertificatePEM: String? = nil, clientKeyPEM: String? = nil,
        token: KubernetesTokenProvider? = nil, insecureSkipTLSVerify: Bool = false
    ) {
        self.host = host
        self.port = port
        self.usesTLS = usesTLS
        self.pathPrefix = pathPrefix
        self.serverName = serverName ?? host
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.token = token
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
    }

    /// `host:port` as sent in the Host header, with an IPv6 address in brackets.
    public var authority: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension KubernetesAPIConfiguration {
    /// `bytes` as PEM text; the thrown failure says why they are not.
    static func pemText(_ bytes: [UInt8]) throws(ConfigurationFile.Failure) -> String {
        guard let text = String(validating: bytes, as: UTF8.self), text.contains("-----BEGIN ") else {
            throw ConfigurationFile.Failure(description: "does not hold PEM text (no -----BEGIN line)")
        }
        return text
    }

    /// A server URL split into its parts.
    struct ServerAddress: Equatable {
        var usesTLS: Bool
        var host: String
        var port: Int
        var pathPrefix: String

        /// Parses `https://host[:port][/path]` (or `http://` when `allowPlainHTTP`); IPv6 hosts
        /// are bracketed. The thrown string says what is wrong.
        static func parse(_ url: String, allowPlainHTTP: Bool) throws(ConfigurationFile.Failure) -> ServerAddress {
            let usesTLS: Bool
            var rest: Substring
            if url.hasPrefix("https://") {
                usesTLS = true
                rest = url.dropFirst("https://".count)
            } else if url.hasPrefix("http://") {
                guard allowPlainHTTP else { throw .init(description: "\"\(url)\" is plain http; only https is allowed unless insecure connections are allowed") }
                usesTLS = false
                rest = url.dropFirst("http://".count)
            } else {
                throw .init(description: "\"\(url)\" is not an https:// URL")
            }
            guard !rest.contains("?"), !rest.contains("#") else { throw .init(description: "\"\(url)\" has a query or fragment") }
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            var path = String(rest[authorityEnd...])
            while path.hasSuffix("/") { path.removeLast() }
            guard !authority.contains("@") else { throw .init(description: "\"\(url)\" has user information") }

            let host: Substring
            let portText: Substring?
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { throw .init(description: "\"\(url)\" has an unclosed IPv6 bracket") }
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                guard after.isEmpty || after.hasPrefix(":") else { throw .init(description: "\"\(url)\" has text after the IPv6 address") }
                portText = after.isEmpty ? nil : after.dropFirst()
            } else if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
                portText = nil
            }
            guard !host.isEmpty else { throw .init(description: "\"\(url)\" has no host") }
            var port = usesTLS ? 443 : 80
            if let portText {
                guard let number = Int(portText), (1...65535).contains(number) else {
                    throw .init(description: "\"\(url)\" has an invalid port")
                }
                port = number
            }
            return ServerAddress(usesTLS: usesTLS, host: String(host), port: port, pathPrefix: path)
        }
    }
}
