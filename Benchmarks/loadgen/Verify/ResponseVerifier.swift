import PatchVerification

/// Checks one webhook answer against what the request expected.
struct ResponseVerifier: Sendable {
    let mode: VerifyMode

    /// The failure of this answer, or nil when it is right.
    ///
    /// - Parameters:
    ///   - status: HTTP status code.
    ///   - body: the response body.
    ///   - uid: the 36 bytes of `request.uid` that were sent.
    ///   - review: the review that was sent.
    func check(status: Int, body: UnsafeRawBufferPointer, uid: UnsafeRawBufferPointer, review: PreparedReview) -> FailureKind? {
        guard status == 200 else { return .httpStatus }
        switch mode {
        case .none: return nil
        case .envelope: return checkEnvelope(body: body, uid: uid, expectation: review.expectation)
        case .full: return checkFull(body: body, uid: uid, review: review)
        }
    }

    private static let uidKey = Array(#""uid":""#.utf8)
    private static let patchKey = Array(#""patch":""#.utf8)

    /// Byte scans only: the first `"uid":"` of a response is `response.uid`.
    private func checkEnvelope(body: UnsafeRawBufferPointer, uid: UnsafeRawBufferPointer, expectation: PatchExpectation) -> FailureKind? {
        guard let uidStart = Self.find(Self.uidKey, in: body) else { return .malformedReview }
        let valueStart = uidStart + Self.uidKey.count
        guard valueStart + uid.count < body.count, body[valueStart + uid.count] == UInt8(ascii: "\"") else { return .uidMismatch }
        for index in 0..<uid.count where body[valueStart + index] != uid[index] { return .uidMismatch }
        let hasPatch = Self.find(Self.patchKey, in: body) != nil
        switch expectation {
        case .patch: return hasPatch ? nil : .missingPatch
        case .none: return hasPatch ? .unexpectedPatch : nil
        case .unknown: return nil
        }
    }

    private func checkFull(body: UnsafeRawBufferPointer, uid: UnsafeRawBufferPointer, review: PreparedReview) -> FailureKind? {
        if let failure = checkEnvelope(body: body, uid: uid, expectation: review.expectation) { return failure }
        guard let document = try? JSONParser.parse(body),
              document["kind"]?.stringValue == "AdmissionReview",
              document["apiVersion"]?.stringValue == "admission.k8s.io/v1",
              let response = document["response"]
        else { return .malformedReview }
        guard response["uid"]?.stringValue.map({ $0.utf8.elementsEqual(uid) }) == true else { return .uidMismatch }
        guard response["allowed"] == .bool(true) else { return .notAllowed }
        guard let encodedPatch = response["patch"]?.stringValue else {
            if case .patch = review.expectation { return .missingPatch }
            return nil
        }
        if review.expectation == .none { return .unexpectedPatch }
        guard response["patchType"]?.stringValue == "JSONPatch",
              let patchBytes = Base64Decoding.decode(encodedPatch),
              let patch = try? JSONParser.parse(patchBytes)
        else { return .malformedReview }
        guard let patched = try? JSONPatchApplier.apply(patch, to: review.pod) else { return .patchDoesNotApply }
        var roleARN: String?
        if case let .patch(role) = review.expectation { roleARN = role }
        return InjectionCheck.isInjected(into: patched, roleARN: roleARN) ? nil : .injectionMissing
    }

    static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Int? {
        guard haystack.count >= needle.count, let first = needle.first else { return nil }
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first {
                var matched = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }
}

/// What an IRSA mutation must leave in a pod: in every container and init container the role
/// env (`AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE`) and a mount of a volume that projects a
/// ServiceAccount token, and that volume in `spec.volumes`.
enum InjectionCheck {
    /// True when `pod` carries the injection (with `roleARN` when given).
    static func isInjected(into pod: JSONValue, roleARN: String?) -> Bool {
        guard let spec = pod["spec"], let containers = spec["containers"]?.arrayValue, !containers.isEmpty else { return false }
        let tokenVolumes = Set((spec["volumes"]?.arrayValue ?? []).compactMap { volume -> String? in
            let projectsToken = volume["projected"]?["sources"]?.arrayValue?.contains { $0["serviceAccountToken"] != nil } ?? false
            return projectsToken ? volume["name"]?.stringValue : nil
        })
        for container in containers + (spec["initContainers"]?.arrayValue ?? []) {
            let env = container["env"]?.arrayValue ?? []
            func value(_ name: String) -> String? { env.first { $0["name"]?.stringValue == name }?["value"]?.stringValue }
            guard let role = value("AWS_ROLE_ARN"), roleARN == nil || role == roleARN,
                  let tokenFile = value("AWS_WEB_IDENTITY_TOKEN_FILE") else { return false }
            let mounts = container["volumeMounts"]?.arrayValue ?? []
            let tokenMount = mounts.first { mount in
                guard let name = mount["name"]?.stringValue, tokenVolumes.contains(name),
                      let path = mount["mountPath"]?.stringValue else { return false }
                // The projected kube-api-access volume is a token volume too: the token file must be under the IRSA mount.
                return tokenFile.hasPrefix(path + "/") && path != "/var/run/secrets/kubernetes.io/serviceaccount"
            }
            if tokenMount == nil { return false }
        }
        return true
    }
}
