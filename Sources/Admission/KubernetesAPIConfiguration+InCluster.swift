import EventLoop

extension KubernetesAPIConfiguration {
    /// Where a pod finds its ServiceAccount credentials.
    public static let defaultServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The configuration of a pod talking to its own cluster's API, as client-go's `InClusterConfig`:
    /// the server from `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`, the CA from
    /// `ca.crt` and the token from `token` in `serviceAccountDirectory` (re-read as it rotates).
    /// The server certificate is verified against the service host (an IP address, which the API
    /// server's certificate lists).
    ///
    /// - Parameters:
    ///   - environment: The process environment (injectable for tests).
    ///   - serviceAccountDirectory: Where `token` and `ca.crt` are (injectable for tests).
    ///   - now: The clock the token provider uses.
    /// - Throws: `KubernetesConfigurationError` naming the missing variable or unreadable file.
    public static func inCluster(
        environment: [String: String],
        serviceAccountDirectory: String = defaultServiceAccountDirectory,
        now: @escaping @Sendable () -> Deadline = { Deadline.now() }
    ) throws(KubernetesConfigurationError) -> KubernetesAPIConfiguration {
        guard var host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw KubernetesConfigurationError(subject: "KUBERNETES_SERVICE_HOST", problem: "not set; not running in a pod?")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let portText = environment["KUBERNETES_SERVICE_PORT"], !portText.isEmpty else {
            throw KubernetesConfigurationError(subject: "KUBERNETES_SERVICE_PORT", problem: "not set; not running in a pod?")
        }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw KubernetesConfigurationError(subject: "KUBERNETES_SERVICE_PORT", problem: "\"\(portText)\" is not a port number")
        }
        let caPath = ConfigurationFile.resolve("ca.crt", against: serviceAccountDirectory)
        let certificateAuthority: String
        do {
            certificateAuthority = try pemText(ConfigurationFile.read(caPath, limit: maximumPEMBytes))
        } catch {
            throw KubernetesConfigurationError(subject: caPath, problem: error.description)
        }
        let token = KubernetesTokenProvider(file: ConfigurationFile.resolve("token", against: serviceAccountDirectory), now: now)
        _ = try token.token()  // fail at startup, not at the first request
        return KubernetesAPIConfiguration(
            host: host, port: port, certificateAuthorityPEM: certificateAuthority, token: token)
    }

    /// PEM files (CA bundles, certificates, keys) larger than this are refused.
    static let maximumPEMBytes = 4 << 20
}
