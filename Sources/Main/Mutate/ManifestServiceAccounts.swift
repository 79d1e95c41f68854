import Admission
import EventLoop

/// Where `irsa-webhook mutate` finds each pod's ServiceAccount: ServiceAccount documents in its
/// own input first (what is applied together wins), then `--service-accounts-file`, or the
/// cluster (`--kubeconfig`, one GET per account, remembered for the run).
final class ManifestServiceAccounts {
    /// The accounts in the input (`List` items included), with the document each came from.
    private let inInput: [ServiceAccountKey: (account: ServiceAccount, label: String)]
    /// The file or the cluster, and how messages name it.
    private let fallback: (source: any ServiceAccountSource, name: String)?
    /// The loop the cluster client runs on.
    private let group: EventLoopGroup?
    private var looked: [ServiceAccountKey: (account: ServiceAccount?, origin: String)] = [:]

    /// - Throws: `ConfigurationError` for both a file and a kubeconfig, an unusable file or
    ///   kubeconfig, and a ServiceAccount document that cannot be read or is listed twice.
    init(documents: [ManifestDocument], defaultNamespace: String, file: String?, kubeconfig: String?, apiTimeout: Duration,
         configuration: PatchConfig) throws(ConfigurationError) {
        var inInput: [ServiceAccountKey: (ServiceAccount, String)] = [:]
        for document in documents.flatMap(\.objects) {
            let account: ServiceAccount?
            do {
                account = try document.serviceAccount(defaultNamespace: defaultNamespace)
            } catch {
                throw ConfigurationError(error.description)
            }
            guard let account else { continue }
            if let earlier = inInput[account.key] {
                throw ConfigurationError("\(document.label): ServiceAccount \(account.key) is listed again (first in \(earlier.1))")
            }
            inInput[account.key] = (account, document.label)
        }
        self.inInput = inInput
        switch (file, kubeconfig) {
        case (let file?, nil):
            do {
                let source = try StaticServiceAccountSource(contentsOfFile: file, keeping: configuration.serviceAccountAnnotationFilter)
                fallback = (source, "--service-accounts-file \(file)")
            } catch {
                throw ConfigurationError("--service-accounts-file: \(error.description)")
            }
            group = nil
        case (nil, let kubeconfig?):
            let group = EventLoopGroup(threads: 1)
            do {
                let api = try KubernetesAPIConfiguration.kubeconfig(path: kubeconfig)
                let client = try KubernetesClient(api: api, loop: group.loops[0], configuration: KubernetesClient.Configuration(
                    requestTimeout: apiTimeout, annotationFilter: configuration.serviceAccountAnnotationFilter,
                    userAgent: "irsa-webhook/\(IRSAWebhook.version) mutate"))
                fallback = (client, "the cluster of --kubeconfig \(kubeconfig)")
            } catch {
                group.shutdown()
                throw ConfigurationError("--kubeconfig: \(error)")
            }
            self.group = group
        case (nil, nil):
            fallback = nil
            group = nil
        case (_?, _?):
            throw ConfigurationError("--service-accounts-file and --kubeconfig exclude each other: give one")
        }
    }

    deinit { group?.shutdown() }

    /// The account `key` names (nil when it does not exist) and where it was found or looked for.
    ///
    /// - Throws: `ConfigurationError` when the cluster cannot answer.
    func account(_ key: ServiceAccountKey) async throws(ConfigurationError) -> (account: ServiceAccount?, origin: String) {
        if let found = inInput[key] { return (found.account, found.label) }
        if let known = looked[key] { return known }
        guard let fallback else { return (nil, "the input (no --service-accounts-file or --kubeconfig)") }
        let account: ServiceAccount?
        do {
            account = try await fallback.source.serviceAccount(key)
        } catch {
            throw ConfigurationError("\(fallback.name): cannot look up ServiceAccount \(key): \(error)")
        }
        looked[key] = (account, fallback.name)
        return (account, fallback.name)
    }
}
