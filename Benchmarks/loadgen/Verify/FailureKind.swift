/// What went wrong with one request; runs count failures by kind.
enum FailureKind: String, Sendable, CaseIterable, Comparable {
    case connect = "connect failed"
    case tlsHandshake = "TLS handshake failed"
    case io = "I/O error"
    case timeout = "timed out"
    case closedByServer = "connection closed by server"
    case httpStatus = "HTTP status not 200"
    case malformedHTTP = "malformed HTTP response"
    case malformedReview = "malformed AdmissionReview"
    case uidMismatch = "response.uid does not echo request.uid"
    case notAllowed = "response.allowed is not true"
    case unexpectedPatch = "patch for a ServiceAccount without role"
    case missingPatch = "no patch for an annotated ServiceAccount"
    case patchDoesNotApply = "patch does not apply to the pod"
    case injectionMissing = "patched pod lacks the role env, token mount or volume"

    static func < (lhs: FailureKind, rhs: FailureKind) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// How much of each response to check.
enum VerifyMode: String, Sendable, CaseIterable {
    /// Status 200 only (for servers with a fixed reply, like the nginx ceiling).
    case none
    /// Status 200, `response.uid` echoed, patch present exactly when expected; no JSON parsing.
    case envelope
    /// Envelope, then parse the review, decode and apply the patch to the pod, check the injection.
    case full
}
