/// What became of one review: the HTTP answer to send, and what to count and log about it.
public struct AdmissionOutcome: Sendable {
    /// The classification of a review, for metrics and logs.
    public enum Result: Sendable, Equatable {
        /// A patch with this many operations was sent.
        case mutated(operations: Int)
        /// Admitted unchanged.
        case skipped(SkipReason)
        /// The ServiceAccount lookup failed; `denied` when running fail-closed.
        case failedLookup(denied: Bool)
        /// The body was not a usable AdmissionReview (HTTP 400).
        case invalid
    }

    /// Why a review was admitted unchanged.
    public enum SkipReason: String, Sendable {
        /// Not the CREATE of a pod.
        case notPodCreate
        /// The pod's ServiceAccount does not exist.
        case serviceAccountNotFound
        /// The ServiceAccount has no role annotation.
        case noRole
        /// The pod already has everything (e.g. a reinvocation), or has no spec to patch.
        case alreadyMutated
        /// `<prefix>/skip-containers` names every container of the pod.
        case allContainersSkipped
    }

    /// HTTP status: 200 for every review answered, 400 for an invalid body.
    public var httpStatus: Int
    /// The response body: an AdmissionReview (JSON), or a short plain-text message for 400.
    public var body: [UInt8]
    /// What happened.
    public var result: Result
    /// The reason for `invalid` and `failedLookup` results.
    public var message: String?
    /// The request uid, when it could be read.
    public var uid: String?
    /// The pod's namespace.
    public var namespace: String?
    /// The pod's name (or generateName).
    public var podName: String?
    /// The pod's ServiceAccount name.
    public var serviceAccount: String?
    /// Warnings sent back in the response.
    public var warnings: [String] = []

    /// The Content-Type of `body`.
    public var contentType: String {
        httpStatus == 200 ? "application/json" : "text/plain; charset=utf-8"
    }
}
