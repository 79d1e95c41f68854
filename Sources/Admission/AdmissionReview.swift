/// The AdmissionReview API versions the webhook accepts; the response uses the request's.
public enum AdmissionReviewVersion: String, Sendable {
    case v1 = "admission.k8s.io/v1"
    case v1beta1 = "admission.k8s.io/v1beta1"
}

/// What the webhook reads from an AdmissionReview request body.
public struct AdmissionRequest: Sendable {
    /// The review's `apiVersion`, echoed in the response.
    public var version: AdmissionReviewVersion
    /// `request.uid`, echoed in the response.
    public var uid: String
    /// `request.operation`, e.g. `CREATE`.
    public var operation: String?
    /// `request.namespace`.
    public var namespace: String?
    /// `request.name` (empty for pods named by generateName).
    public var name: String?
    /// The pod, present exactly when the request is the CREATE of a pod (`pods`, group "",
    /// version v1, no subresource). Other requests are not looked into.
    public var pod: Pod?

    /// The namespace the pod is created in: the request's, else the pod's own.
    public var podNamespace: String? {
        if let namespace, !namespace.isEmpty { return namespace }
        if let namespace = pod?.namespace, !namespace.isEmpty { return namespace }
        return nil
    }
}

extension AdmissionRequest {
    /// Decodes and fully validates an AdmissionReview body in one pass.
    ///
    /// Fields the mutation does not read are validated and skipped without allocating; the pod
    /// object is extracted only for a pods CREATE. Throws `AdmissionError` (HTTP 400) for
    /// anything that is not valid JSON or not a usable AdmissionReview request.
    public static func decode(_ body: UnsafeRawBufferPointer, configuration: PatchConfig) throws(AdmissionError) -> AdmissionRequest {
        var scanner = JSONScanner(body)
        var version: AdmissionReviewVersion?
        var apiVersionSeen = false
        var kindIsReview = false
        var request: RequestFields?
        do {
            var members = try scanner.beginObject()
            while let key = try scanner.nextMember(&members) {
                if key.equals("apiVersion") {
                    apiVersionSeen = true
                    let value = try scanner.readOptionalString()
                    version = value.flatMap { value in
                        value.equals("admission.k8s.io/v1") ? .v1 : value.equals("admission.k8s.io/v1beta1") ? .v1beta1 : nil
                    }
                } else if key.equals("kind") {
                    kindIsReview = try scanner.readOptionalString()?.equals("AdmissionReview") ?? false
                } else if key.equals("request") {
                    request = try scanner.consumeNull() ? nil : try RequestFields.decode(from: &scanner, configuration: configuration)
                } else {
                    try scanner.skipValue()
                }
            }
            try scanner.finish()
        } catch let error as JSONSyntaxError {
            throw .malformedJSON(error)
        } catch let error as AdmissionError {
            throw error
        } catch {
            throw AdmissionError(message: "\(error)")
        }
        guard let version else {
            throw .badField("apiVersion", apiVersionSeen ? "not admission.k8s.io/v1 or v1beta1" : "missing")
        }
        guard kindIsReview else { throw .badField("kind", "not AdmissionReview") }
        guard let request else { throw .badField("request", "missing") }
        guard let uid = request.uid, !uid.isEmpty else { throw .badField("request.uid", "missing") }
        let isPodCreate = request.operationIsCreate == true && request.resourceIsPods == true && !request.hasSubResource
        if isPodCreate && request.pod == nil {
            throw .badField("request.object", "missing for a pods CREATE")
        }
        return AdmissionRequest(
            version: version,
            uid: uid,
            operation: request.operation,
            namespace: request.namespace,
            name: request.name,
            pod: isPodCreate ? request.pod : nil
        )
    }

    /// The fields of `request`, as they are found (keys may come in any order).
    private struct RequestFields {
        var uid: String?
        var operation: String?
        var operationIsCreate: Bool?
        var resourceIsPods: Bool?
        var hasSubResource = false
        var namespace: String?
        var name: String?
        var pod: Pod?

        /// Whether what is known so far already rules out a pods CREATE.
        var isKnownNotPodCreate: Bool {
            operationIsCreate == false || resourceIsPods == false || hasSubResource
        }

        static func decode(from scanner: inout JSONScanner, configuration: PatchConfig) throws -> RequestFields {
            var fields = RequestFields()
            var members = try scanner.beginObject()
            while let key = try scanner.nextMember(&members) {
                if key.equals("uid") {
                    fields.uid = try scanner.readOptionalString()?.value
                } else if key.equals("operation") {
                    let operation = try scanner.readOptionalString()
                    fields.operationIsCreate = operation?.equals("CREATE") ?? false
                    fields.operation = operation?.value
                } else if key.equals("resource") {
                    fields.resourceIsPods = try decodeResourceIsPods(from: &scanner)
                } else if key.equals("subResource") {
                    fields.hasSubResource = !(try scanner.readOptionalString()?.bytes.isEmpty ?? true)
                } else if key.equals("namespace") {
                    fields.namespace = try scanner.readOptionalString()?.value
                } else if key.equals("name") {
                    fields.name = try scanner.readOptionalString()?.value
                } else if key.equals("object") {
                    if fields.isKnownNotPodCreate {
                        try scanner.skipValue()
                    } else if !(try scanner.consumeNull()) {
                        fields.pod = try Pod.decode(from: &scanner, keys: configuration.podDecodingKeys)
                    }
                } else {
                    try scanner.skipValue()
                }
            }
            return fields
        }

        /// Whether a `{group, version, resource}` object names core v1 pods.
        private static func decodeResourceIsPods(from scanner: inout JSONScanner) throws(JSONSyntaxError) -> Bool {
            if try scanner.consumeNull() { return false }
            var group = true, version = false, resource = false
            var members = try scanner.beginObject()
            while let key = try scanner.nextMember(&members) {
                if key.equals("group") {
                    group = try scanner.readOptionalString()?.bytes.isEmpty ?? true
                } else if key.equals("version") {
                    version = try scanner.readOptionalString()?.equals("v1") ?? false
                } else if key.equals("resource") {
                    resource = try scanner.readOptionalString()?.equals("pods") ?? false
                } else {
                    try scanner.skipValue()
                }
            }
            return group && version && resource
        }
    }
}
