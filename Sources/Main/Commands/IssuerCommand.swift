import Admission
import ArgumentParser
import EventLoop
#if canImport(Glibc)
import Glibc
#endif

/// `irsa-webhook issuer`: the first step of setting up Vultr, registering the cluster's
/// ServiceAccount token issuer so that Vultr's STS trusts its tokens. Builds the body of
/// `POST https://api.vultr.com/v2/oidc/issuer` (for a VKE cluster from its id, otherwise one
/// body per signing key read from the cluster), prints it, and with `--apply` sends it.
struct IssuerCommand: WebhookCommand {
    static let configuration = CommandConfiguration(
        commandName: "issuer",
        abstract: "Register the cluster's ServiceAccount token issuer with Vultr (POST /v2/oidc/issuer).",
        discussion: """
            Prints the request body (one JSON object per line; one per signing key for --kubeconfig). With --apply it \
            sends each with the API key from the VULTR_API_KEY environment variable and prints Vultr's answer. \
            Bad options exit with code 2, a refused or failed request with code 1.
            """
    )

    @Option(help: "The VKE cluster's id: registers {\"source\": \"vke\", \"source_id\": ID}.")
    var vkeClusterId: String?

    @Option(help: "kubeconfig of a cluster that is not VKE: its signing keys are read from /openid/v1/jwks.")
    var kubeconfig: String?

    @Option(help: "With --kubeconfig: the JWKS URL Vultr reads the keys from. Default: jwks_uri of the cluster's /.well-known/openid-configuration.")
    var jwksUri: String?

    @Flag(help: "Send the body to the Vultr API (key from VULTR_API_KEY) instead of only printing it.")
    var apply = false

    @Option(help: "Base URL of the Vultr API (https only: the API key is sent to it).")
    var vultrApiUrl = "https://api.vultr.com"

    @Option(help: "Time allowed for each request, e.g. 10s.")
    var timeout = "10s"

    func execute() async throws(ConfigurationError) -> Int32 {
        guard let timeout = DurationParser.parse(timeout), timeout > .zero else {
            throw ConfigurationError("--timeout must be a positive duration such as 10s; got '\(self.timeout)'")
        }
        if let jwksUri, !jwksUri.hasPrefix("https://") {
            throw ConfigurationError("--jwks-uri must be an https URL, got '\(jwksUri)'")
        }
        guard vultrApiUrl.hasPrefix("https://") else {
            throw ConfigurationError("--vultr-api-url must be an https URL (the API key is sent to it), got '\(vultrApiUrl)'")
        }
        let apiKey = ProcessEnvironment.variables()["VULTR_API_KEY"] ?? ""
        if apply, apiKey.isEmpty {
            throw ConfigurationError("--apply needs the Vultr API key in the VULTR_API_KEY environment variable")
        }
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let bodies = try await issuerBodies(loop: group.loops[0], timeout: timeout)
        for body in bodies { print(body.json) }
        guard apply else { return 0 }
        let api = VultrOIDCIssuerAPI(baseURL: vultrApiUrl, apiKey: apiKey, loop: group.loops[0], timeout: timeout)
        for body in bodies {
            do {
                print(try await api.register(body))
            } catch {
                fflush(nil)
                let line = "irsa-webhook issuer: \(error.description)\n"
                _ = line.withCString { write(2, $0, strlen($0)) }
                return 1
            }
        }
        return 0
    }

    private func issuerBodies(loop: EventLoop, timeout: Duration) async throws(ConfigurationError) -> [OIDCIssuerBody] {
        switch (vkeClusterId, kubeconfig) {
        case (let cluster?, nil):
            guard !cluster.isEmpty else { throw ConfigurationError("--vke-cluster-id must not be empty") }
            guard jwksUri == nil else { throw ConfigurationError("--jwks-uri goes with --kubeconfig, not --vke-cluster-id") }
            return [.vke(clusterID: cluster)]
        case (nil, let path?):
            let api: KubernetesAPIConfiguration
            do {
                api = try KubernetesAPIConfiguration.kubeconfig(path: path)
            } catch {
                throw ConfigurationError("--kubeconfig: \(error.description)")
            }
            return try await ClusterSigningKeys(api: api, loop: loop, timeout: timeout).issuerBodies(jwksURI: jwksUri)
        case (.some, .some):
            throw ConfigurationError("give --vke-cluster-id or --kubeconfig, not both")
        case (nil, nil):
            throw ConfigurationError("give --vke-cluster-id (a VKE cluster) or --kubeconfig (any other cluster)")
        }
    }
}
