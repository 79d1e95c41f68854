import Admission
import PatchVerification

/// Fuzz harness for AdmissionReview decoding and patch generation: the input is a request body.
///
/// Whatever the webhook accepts must be JSON to an independent strict parser and must decode the
/// same once re-serialized. For a pods CREATE it answers for a ServiceAccount with a role, and
/// the answer must hold the mutation's invariants: it echoes the uid; its patch applies to the
/// pod under RFC 6902; the patched pod matches `MutationInvariants` (nothing outside env,
/// volumeMounts and volumes changes, exactly the missing entries are appended); and reviewing
/// the patched pod again yields no operation.
public enum AdmissionReviewHarness {
    /// Every optional variable enabled, so every fragment of the patch is exercised.
    static let configuration = PatchConfig(region: "ewr")
    static let annotations = [
        "vultr.com/role-arn": "arn:aws:iam::123456789012:role/app",
        "vultr.com/audience": "sts.vultr.example",
        "vultr.com/token-expiration": "3600",
    ]

    /// Checks one request body.
    public static func check(_ input: [UInt8]) throws(FuzzViolation) {
        let request: AdmissionRequest
        do {
            request = try input.withUnsafeBytes { try AdmissionRequest.decode($0, configuration: configuration) }
        } catch {
            guard let error = error as? AdmissionError, error.httpStatus == 400, !error.message.isEmpty else {
                throw FuzzViolation("rejection without 400 and a reason: \(error)")
            }
            return
        }
        let document: JSONValue
        do {
            document = try JSONParser.parse(input)
        } catch {
            // A lone UTF-16 surrogate in a \u escape fits RFC 8259's grammar; the webhook, like Go's
            // encoding/json in the API server, reads it as U+FFFD, where the strict parser refuses it.
            if error.message.contains("surrogate") { return }
            throw FuzzViolation("accepted a body that is not JSON: \(error)")
        }
        // Duplicate member names have no single meaning (RFC 8259 section 4); the API server never sends them.
        guard !document.hasDuplicateMemberNames else { return }
        try expectSameDecoding(of: document, as: request)
        guard let pod = request.pod, let object = document["request"]?["object"] else { return }

        let account = ServiceAccount(namespace: request.podNamespace ?? "default", name: pod.serviceAccountName, annotations: annotations)
        let handler = AdmissionHandler(configuration: configuration, serviceAccounts: StaticServiceAccountSource([account]), failClosed: false)
        let patch = try answeredPatch(handler.mutate(request, pod: pod, serviceAccount: account), uid: request.uid)
        let patched: JSONValue
        do {
            patched = try JSONPatchApplier.apply(patch, to: object)
        } catch {
            throw FuzzViolation("patch \(patch.serialized) does not apply: \(error)")
        }
        guard let settings = configuration.settings(serviceAccount: account, pod: pod) else {
            throw FuzzViolation("no settings for a ServiceAccount with a role")
        }
        if case .object = object["spec"] {
            let violations = invariants(settings).violations(original: object, patched: patched)
            guard violations.isEmpty else { throw FuzzViolation("\(violations) for patch \(patch.serialized)") }
        } else if patch != [] {
            throw FuzzViolation("a pod without spec got operations: \(patch.serialized)")
        }

        var again = document
        again["request"]?["object"] = patched
        let secondRequest: AdmissionRequest
        do {
            secondRequest = try again.bytes.withUnsafeBytes { try AdmissionRequest.decode($0, configuration: configuration) }
        } catch {
            throw FuzzViolation("the patched review does not decode: \(error)")
        }
        guard let secondPod = secondRequest.pod else { throw FuzzViolation("the patched review is not a pods CREATE") }
        let second = try answeredPatch(handler.mutate(secondRequest, pod: secondPod, serviceAccount: account), uid: request.uid)
        guard second == [] else { throw FuzzViolation("mutating the patched pod again yields \(second.serialized)") }
    }

    /// The same document re-serialized compactly (other escapes and spacing) decodes to the same request.
    private static func expectSameDecoding(of document: JSONValue, as request: AdmissionRequest) throws(FuzzViolation) {
        let reserialized: AdmissionRequest
        do {
            reserialized = try document.bytes.withUnsafeBytes { try AdmissionRequest.decode($0, configuration: configuration) }
        } catch {
            throw FuzzViolation("re-serialized body rejected: \(error)")
        }
        guard reserialized.uid == request.uid, reserialized.pod == request.pod, reserialized.namespace == request.namespace,
              reserialized.operation == request.operation, reserialized.version == request.version
        else { throw FuzzViolation("re-serialized body decodes differently: \(reserialized) vs \(request)") }
    }

    /// The patch in a 200 answer that echoes `uid` and admits the pod; `[]` when it has none.
    private static func answeredPatch(_ outcome: AdmissionOutcome, uid: String) throws(FuzzViolation) -> JSONValue {
        let review: JSONValue
        do {
            review = try JSONParser.parse(outcome.body)
        } catch {
            throw FuzzViolation("answer is not JSON: \(error)")
        }
        guard outcome.httpStatus == 200, review["kind"] == "AdmissionReview", let response = review["response"],
              response["uid"] == .string(uid), response["allowed"] == true
        else { throw FuzzViolation("bad answer: \(review.serialized)") }
        guard let encoded = response["patch"] else { return [] }
        guard response["patchType"] == "JSONPatch", let text = encoded.stringValue, let bytes = Base64Decoding.decode(text) else {
            throw FuzzViolation("bad patch field: \(response.serialized)")
        }
        let patch: JSONValue
        do {
            patch = try JSONParser.parse(bytes)
        } catch {
            throw FuzzViolation("patch is not JSON: \(error)")
        }
        guard patch != [] else { throw FuzzViolation("an empty patch was sent") }
        return patch
    }

    /// What the patch must add, from the mutation's documented variables.
    private static func invariants(_ settings: PatchSettings) -> MutationInvariants {
        let mountPath = settings.tokenMountPath
        var env = [
            "AWS_ROLE_ARN": settings.roleARN,
            "AWS_WEB_IDENTITY_TOKEN_FILE": mountPath + (mountPath.hasSuffix("/") ? "token" : "/token"),
        ]
        if settings.regionalSTS { env["AWS_STS_REGIONAL_ENDPOINTS"] = "regional" }
        if let endpoint = settings.stsEndpoint { env["AWS_ENDPOINT_URL_STS"] = endpoint }
        if let region = settings.region {
            env["AWS_REGION"] = region
            env["AWS_DEFAULT_REGION"] = region
        }
        return MutationInvariants(mountPath: mountPath, expectedEnv: env,
                                  token: (settings.audience, settings.tokenExpiration), untouched: Set(settings.skippedContainers))
    }
}
