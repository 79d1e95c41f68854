/// The answer to one AdmissionReview, written as the JSON body of an `AdmissionReview` with a
/// `response`.
public struct AdmissionResponse: Sendable {
    /// The request's uid.
    public var uid: String
    /// Whether the object is admitted.
    public var allowed: Bool
    /// The JSON Patch to apply, when there is one (sent base64-encoded with `patchType: JSONPatch`).
    public var patch: [UInt8]?
    /// Messages shown to the client that created the object.
    public var warnings: [String]
    /// Code and message explaining a denial.
    public var status: (code: Int, message: String)?
    /// Keys (`AuditAnnotation`) and values the API server records in the request's audit event,
    /// each key prefixed with the webhook's name.
    public var auditAnnotations: [(key: StaticString, value: String)]

    public init(uid: String, allowed: Bool, patch: [UInt8]? = nil, warnings: [String] = [],
                status: (code: Int, message: String)? = nil, auditAnnotations: [(key: StaticString, value: String)] = []) {
        self.uid = uid
        self.allowed = allowed
        self.patch = patch
        self.warnings = warnings
        self.status = status
        self.auditAnnotations = auditAnnotations
    }

    /// The complete response body for a review of `version`.
    public func encoded(version: AdmissionReviewVersion) -> [UInt8] {
        var writer = JSONWriter(capacity: 160 + uid.utf8.count + Base64.encodedCount(patch?.count ?? 0))
        writer.raw(version == .v1
            ? "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":"
            : "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":")
        writer.string(uid)
        writer.raw(allowed ? ",\"allowed\":true" : ",\"allowed\":false")
        if let status {
            writer.raw(",\"status\":{\"code\":")
            writer.integer(status.code)
            writer.raw(",\"message\":")
            writer.string(status.message)
            writer.raw("}")
        }
        if let patch {
            writer.raw(",\"patchType\":\"JSONPatch\",\"patch\":\"")
            writer.base64(patch)
            writer.raw("\"")
        }
        if !auditAnnotations.isEmpty {
            writer.raw(",\"auditAnnotations\":{")
            for (index, annotation) in auditAnnotations.enumerated() {
                writer.raw(index == 0 ? "\"" : ",\"")
                writer.raw(annotation.key)
                writer.raw("\":")
                writer.string(annotation.value)
            }
            writer.raw("}")
        }
        if !warnings.isEmpty {
            writer.raw(",\"warnings\":[")
            for (index, warning) in warnings.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(warning)
            }
            writer.raw("]")
        }
        writer.raw("}}")
        return writer.finish()
    }
}
