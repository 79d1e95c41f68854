import Admission
import ArgumentParser
import Yams
#if canImport(Glibc)
import Glibc
#endif

/// `irsa-webhook mutate`: prints manifests as the webhook would make them, without a cluster.
///
/// Each Pod, and the pod template of each Deployment, StatefulSet, DaemonSet, ReplicaSet, Job
/// and CronJob, goes through the webhook's own decoder, `PodMutation` and `PodPatch`; the patch
/// is applied to the parsed document (`ManifestPatch`). Other documents pass through, as do pods
/// labelled `ManifestPod.optOutLabel`, which the webhook configuration never sends.
struct MutateCommand: WebhookCommand {
    static let configuration = CommandConfiguration(
        commandName: "mutate",
        abstract: "Print manifests as the webhook would mutate them (offline preview).",
        discussion: """
        Reads YAML (one or more documents) or JSON manifests (one or more objects) from FILEs, or \
        standard input for -. Pods and the pod templates of Deployments, StatefulSets, DaemonSets, \
        ReplicaSets, Jobs and CronJobs are mutated (unless labelled vultr.com/skip-irsa-webhook: \
        "true"); other documents are printed unchanged, in order. ServiceAccounts come \
        from ServiceAccount documents in the input, then --service-accounts-file or the cluster \
        (--kubeconfig, GET only). Warnings go to standard error. Exit codes: 0 done; 1 with --strict \
        when anything was warned about; 2 bad input or flags (one line naming the document and field).
        """
    )

    @Argument(help: "Manifest files (YAML or JSON); - reads standard input.")
    var files: [String] = []

    @OptionGroup(title: "Mutation")
    var mutation: MutationOptions

    @Option(help: "ServiceAccounts (YAML or JSON List, or multi-document YAML) for pods whose account is not in the input.")
    var serviceAccountsFile: String?

    @Option(help: "kubeconfig of a cluster to GET ServiceAccounts from when they are not in the input.")
    var kubeconfig: String?

    @Option(parsing: .unconditional, help: "Timeout of one ServiceAccount lookup in the cluster, e.g. 2s.")
    var apiTimeout: String = "2s"

    @Option(name: [.short, .long], help: "Namespace of objects that name none.")
    var namespace: String = "default"

    @Option(name: [.short, .long], help: "yaml (the default) or json.")
    var output: String?

    @Flag(help: "Print each pod-bearing object's JSON Patch (paths from the object's root) instead of the manifests; not with -o.")
    var patch: Bool = false

    @Flag(help: "Exit with code 1 when anything was warned about.")
    var strict: Bool = false

    @Flag(help: "Explain on standard error, per pod: which ServiceAccount, which annotations, what was left alone and why.")
    var explain: Bool = false

    func execute() async throws(ConfigurationError) -> Int32 {
        let patchConfig = try Configuration.patchConfig(mutation)
        guard !files.isEmpty else { throw ConfigurationError("mutate needs manifest files, or - for standard input") }
        guard files.count(where: { $0 == "-" }) <= 1 else { throw ConfigurationError("- (standard input) is named twice; it can be read once") }
        let output = output ?? "yaml"
        guard output == "yaml" || output == "json" else { throw ConfigurationError("--output must be yaml or json, got '\(output)'") }
        guard !patch || self.output == nil else {
            throw ConfigurationError("--patch and --output exclude each other: --patch prints the patches as JSON")
        }
        let apiTimeout = try Configuration.duration(apiTimeout, flag: "--api-timeout")
        var documents: [ManifestDocument] = []
        for file in files {
            do {
                documents += try ManifestDocument.read(file)
            } catch {
                throw ConfigurationError(error.description)
            }
        }
        let accounts = try ManifestServiceAccounts(
            documents: documents, defaultNamespace: namespace, file: serviceAccountsFile, kubeconfig: kubeconfig, apiTimeout: apiTimeout, configuration: patchConfig)

        var results: [(node: Node, isJSON: Bool)] = []
        var patches: [Node] = []
        var warned = false
        for document in documents {
            var node = document.node
            for object in document.objects {
                let pod: ManifestPod?
                do {
                    pod = try ManifestPod(object, defaultNamespace: namespace, configuration: patchConfig)
                } catch {
                    throw ConfigurationError(object.error(error).description)
                }
                guard let pod else { continue }
                var podPatch: [UInt8]?
                if pod.isOptedOut {
                    if explain {
                        StandardStream.error("irsa-webhook: explain: \(object.label): not mutated: labelled \(ManifestPod.optOutLabel)=\"true\", "
                            + "which the webhook configuration's objectSelector never sends")
                    }
                } else {
                    let (account, origin) = try await accounts.account(pod.serviceAccount)
                    let mutation = PodMutation(pod: pod.pod, serviceAccount: account, configuration: patchConfig)
                    warned = report(object, pod: pod, account: account, origin: origin, mutation: mutation, configuration: patchConfig) || warned
                    podPatch = mutation.patch
                }
                do {
                    let manifestPatch = try ManifestPatch(podPatch ?? Array("[]".utf8), under: object.path + pod.path)
                    node = try manifestPatch.applied(to: node)
                    patches.append(Self.patchEntry(object, manifestPatch))
                } catch {
                    throw ConfigurationError(object.error(error).description)
                }
            }
            results.append((node, document.isJSON))
        }

        do {
            if patch {
                StandardStream.output(try ManifestOutput.json([Node(patches)]))
            } else {
                StandardStream.output(output == "json" ? try ManifestOutput.json(results.map(\.node)) : try ManifestOutput.yaml(results))
            }
        } catch {
            throw ConfigurationError(error.description)
        }
        return strict && warned ? 1 : 0
    }

    /// What `--patch` prints for one object: where it is, and its patch from its document's root.
    private static func patchEntry(_ object: ManifestDocument, _ patch: ManifestPatch) -> Node {
        var members: [(Node, Node)] = [(Node("source"), Node(object.source)), (Node("document"), Node(String(object.number), Tag(.int)))]
        if let item = object.item { members.append((Node("item"), Node(String(item), Tag(.int)))) }
        members += [(Node("kind"), Node(object.kind ?? "")), (Node("name"), Node(object.objectName)), (Node("patch"), patch.node)]
        return Node(members)
    }

    /// Writes the warnings about one pod (and with `--explain` its explanation) to standard
    /// error; returns whether there was any warning.
    private func report(_ document: ManifestDocument, pod: ManifestPod, account: ServiceAccount?, origin: String,
                        mutation: PodMutation, configuration: PatchConfig) -> Bool {
        var warnings = mutation.warnings.map { $0.hasPrefix("irsa-webhook: ") ? String($0.dropFirst(14)) : $0 }
        if account == nil { warnings.append("ServiceAccount \(pod.serviceAccount) not found in \(origin): no role") }
        for warning in warnings { StandardStream.error("irsa-webhook: warning: \(document.label): \(warning)") }
        if explain {
            let explanation = MutationExplanation(pod: pod, serviceAccount: account, origin: origin, mutation: mutation, configuration: configuration)
            StandardStream.error("irsa-webhook: explain: \(document.label): \(explanation.text)")
        }
        return !warnings.isEmpty
    }
}
