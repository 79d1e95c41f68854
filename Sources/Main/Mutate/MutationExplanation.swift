import Admission

/// The `--explain` line of one pod: which ServiceAccount, which annotations were read, what was
/// left alone and why, and the result.
struct MutationExplanation {
    let pod: ManifestPod
    let serviceAccount: ServiceAccount?
    let origin: String
    let mutation: PodMutation
    let configuration: PatchConfig

    var text: String {
        var parts = ["ServiceAccount \(pod.serviceAccount) " + (serviceAccount == nil ? "not found in \(origin)" : "from \(origin)")]
        parts.append("read " + annotationsRead)
        if let settings = mutation.settings { parts += leftAlone(settings) }
        parts.append(result)
        return parts.joined(separator: "; ")
    }

    private var annotationsRead: String {
        let keys = configuration.annotationKeys
        var read: [String] = []
        if let annotations = serviceAccount?.annotations {
            read += keys.onServiceAccount.compactMap { key in annotations[key].map { "ServiceAccount \(key)=\"\($0)\"" } }
        }
        let onPod = [(keys.tokenExpiration, pod.pod.tokenExpirationAnnotation), (keys.region, pod.pod.regionAnnotation),
                     (keys.skipContainers, pod.pod.skipContainersAnnotation)]
        read += onPod.compactMap { key, value in value.map { "pod \(key)=\"\($0)\"" } }
        return read.isEmpty ? "no annotations" : read.joined(separator: ", ")
    }

    /// The containers, variables and mounts the patch does not touch, each with its reason.
    private func leftAlone(_ settings: PatchSettings) -> [String] {
        var notes: [String] = []
        let containers = pod.pod.initContainers + pod.pod.containers
        let skipped = containers.filter { settings.skippedContainers.contains($0.name) }.map(\.name)
        if !skipped.isEmpty { notes.append("skipped containers \(skipped.joined(separator: ", ")) (\(configuration.annotationKeys.skipContainers))") }
        for container in containers where !settings.skippedContainers.contains(container.name) {
            let ownVariables = container.definedVariables.intersection(settings.variables)
            if !ownVariables.isEmpty {
                let regions = ownVariables.intersection([.region, .defaultRegion])
                let follower = regions == .region ? " (AWS_DEFAULT_REGION refers to it)" : regions == .defaultRegion ? " (AWS_REGION refers to it)" : ""
                notes.append("container \(container.name) keeps its own \(AWSVariables.names(in: ownVariables).joined(separator: ", "))\(follower)")
            }
            if container.hasTokenMount { notes.append("container \(container.name) already mounts \(settings.tokenMountPath)") }
            if pod.containersWithEnvFrom.contains(container.name) {
                notes.append("container \(container.name) has envFrom, which the webhook cannot see: what it adds wins over the same names there")
            }
        }
        if pod.pod.hasTokenVolume { notes.append("volume \(PatchConfig.volumeName) already exists") }
        return notes
    }

    private var result: String {
        if mutation.patch != nil, let settings = mutation.settings {
            return "mutated: role \(settings.roleARN), audience \(settings.audience), token \(settings.tokenExpiration) s, "
                + "region \(settings.region ?? "none"), \(mutation.operationCount) operations"
        }
        switch mutation.skipReason {
        case .serviceAccountNotFound?: return "not mutated: no such ServiceAccount"
        case .noRole?: return "not mutated: the ServiceAccount has no \(configuration.annotationKeys.roleARN) (nor \(PatchConfig.legacyRoleAnnotation))"
        case .allContainersSkipped?: return "not mutated: every container is skipped"
        default: return "not mutated: the pod already has everything"
        }
    }
}
