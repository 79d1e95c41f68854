import Admission
import Logging

extension AdmissionOutcome {
    /// The log fields of one admission: `result` a plain word (the `irsa_admissions_total`
    /// label), `reason` why when it was not mutated, `detail` the message sent back, `duration`
    /// in seconds and `operations` as JSON numbers.
    func logMetadata(duration: Duration) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "result": "\(metricResult.rawValue)",
            "duration": .stringConvertible(Double(duration.totalNanoseconds) / 1e9),
        ]
        switch result {
        case .mutated(let operations): metadata["operations"] = .stringConvertible(operations)
        case .skipped(let reason): metadata["reason"] = "\(reason.logWord)"
        case .failedLookup: metadata["reason"] = "lookup-failed"
        case .invalid: metadata["reason"] = "invalid-review"
        }
        if let uid { metadata["uid"] = "\(uid)" }
        if let namespace { metadata["namespace"] = "\(namespace)" }
        if let podName { metadata["pod"] = "\(podName)" }
        if let serviceAccount { metadata["serviceAccount"] = "\(serviceAccount)" }
        if let message { metadata["detail"] = "\(message)" }
        return metadata
    }

    /// The `result` label of `irsa_admissions_total` and of the log line.
    var metricResult: WebhookMetrics.AdmissionResult {
        switch result {
        case .mutated: .mutated
        case .skipped: .skipped
        case .failedLookup(let denied): denied ? .denied : .error
        case .invalid: .invalid
        }
    }
}

extension AdmissionOutcome.SkipReason {
    /// The `reason` of a skipped admission's log line.
    var logWord: String {
        switch self {
        case .notPodCreate: "not-pod-create"
        case .serviceAccountNotFound: "not-found"
        case .noRole: "no-role"
        case .alreadyMutated: "already-mutated"
        }
    }
}
