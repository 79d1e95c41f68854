/// What the webhook does to one pod whose ServiceAccount is known (or known to be missing): the
/// one decision behind both the admission answer and `irsa-webhook mutate`.
public struct PodMutation: Sendable {
    /// The merged settings; nil when the ServiceAccount is missing or has no role.
    public var settings: PatchSettings?
    /// The JSON Patch (RFC 6902) against the pod; nil when there is nothing to add.
    public var patch: [UInt8]?
    /// How many operations `patch` holds.
    public var operationCount = 0
    /// Why the pod stays as it is; nil when `patch` is set.
    public var skipReason: AdmissionOutcome.SkipReason?

    /// Decides for `pod` running as `serviceAccount` (nil: it does not exist).
    public init(pod: borrowing Pod, serviceAccount: ServiceAccount?, configuration: borrowing PatchConfig) {
        guard let serviceAccount else {
            skipReason = .serviceAccountNotFound
            return
        }
        guard let settings = configuration.settings(serviceAccount: serviceAccount, pod: pod) else {
            skipReason = .noRole
            return
        }
        self.settings = settings
        let patch = PodPatch.patch(for: pod, settings: settings)
        if !patch.isEmpty {
            operationCount = patch.operationCount
            self.patch = patch.bytes
        } else if pod.hasSpec && PodPatch.every(pod, isSkippedBy: settings) {
            skipReason = .allContainersSkipped
        } else {
            skipReason = .alreadyMutated
        }
    }

    /// The ignored annotation values, one message each.
    public var warnings: [String] { settings?.warnings ?? [] }
}
