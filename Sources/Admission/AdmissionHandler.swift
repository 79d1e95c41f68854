/// Reviews AdmissionReview bodies: decodes, looks up the pod's ServiceAccount, builds the patch
/// and encodes the answer.
///
/// Immutable, so shared freely: everything but the ServiceAccount lookup runs on the caller's
/// executor, outside any actor. A class, so that an async `review` captures one reference
/// instead of copying (and retaining) every field of the configuration.
public final class AdmissionHandler: Sendable {
    /// Command-line defaults and annotation prefix.
    public let configuration: PatchConfig
    /// Where ServiceAccounts are looked up.
    public let serviceAccounts: any ServiceAccountSource
    /// Deny pods whose ServiceAccount cannot be looked up, instead of admitting them unchanged.
    public let failClosed: Bool

    public init(configuration: PatchConfig, serviceAccounts: any ServiceAccountSource, failClosed: Bool) {
        self.configuration = configuration
        self.serviceAccounts = serviceAccounts
        self.failClosed = failClosed
    }

    /// Reviews one request body. Never throws: a bad body becomes an HTTP 400 outcome. Runs on
    /// the caller's executor (the connection's event loop), with no task switch of its own.
    nonisolated(nonsending) public func review(_ body: [UInt8]) async -> AdmissionOutcome {
        let request: AdmissionRequest
        do {
            request = try body.withUnsafeBytes { try AdmissionRequest.decode($0, configuration: configuration) }
        } catch let error as AdmissionError {
            return Self.invalid(error)
        } catch {
            return Self.invalid(AdmissionError(message: "\(error)"))
        }
        guard let pod = request.pod else {
            return answer(request, pod: nil, AdmissionResponse(uid: request.uid, allowed: true), .skipped(.notPodCreate))
        }
        guard let namespace = request.podNamespace else {
            return Self.invalid(.badField("request.namespace", "missing"))
        }
        let key = ServiceAccountKey(namespace: namespace, name: pod.serviceAccountName)
        do {
            if let account = serviceAccounts.storedServiceAccount(key) {
                return mutate(request, pod: pod, serviceAccount: account)
            }
            return mutate(request, pod: pod, serviceAccount: try await serviceAccounts.serviceAccount(key))
        } catch {
            return lookupFailed(request, pod: pod, key: key, error: error)
        }
    }

    /// The answer for a pods CREATE once its ServiceAccount is known (nil: it does not exist).
    public func mutate(_ request: AdmissionRequest, pod: Pod, serviceAccount: ServiceAccount?) -> AdmissionOutcome {
        let mutation = PodMutation(pod: pod, serviceAccount: serviceAccount, configuration: configuration)
        var response = AdmissionResponse(uid: request.uid, allowed: true, patch: mutation.patch, warnings: mutation.warnings)
        guard mutation.patch != nil, let settings = mutation.settings else {
            return answer(request, pod: pod, response, .skipped(mutation.skipReason ?? .alreadyMutated))
        }
        response.auditAnnotations = [
            (AuditAnnotation.roleARN, AuditAnnotation.value(settings.roleARN)),
            (AuditAnnotation.tokenAudience, AuditAnnotation.value(settings.audience)),
        ]
        return answer(request, pod: pod, response, .mutated(operations: mutation.operationCount))
    }

    private func lookupFailed(_ request: AdmissionRequest, pod: Pod, key: ServiceAccountKey, error: any Error) -> AdmissionOutcome {
        var reason = "\(error)"
        if reason.count > 200 { reason = String(reason.prefix(200)) + "…" }
        let response: AdmissionResponse
        if failClosed {
            response = AdmissionResponse(uid: request.uid, allowed: false, status: (
                code: 500,
                message: "irsa-webhook: cannot look up ServiceAccount \(key) (\(reason)); pod denied (fail-closed)"
            ))
        } else {
            response = AdmissionResponse(
                uid: request.uid, allowed: true,
                warnings: ["irsa-webhook: cannot look up ServiceAccount \(key) (\(reason)); pod admitted without IAM role credentials"],
                auditAnnotations: [(AuditAnnotation.lookupFailure, AuditAnnotation.value("ServiceAccount \(key): \(reason)"))])
        }
        var outcome = answer(request, pod: pod, response, .failedLookup(denied: failClosed))
        outcome.message = reason
        return outcome
    }

    private func answer(_ request: AdmissionRequest, pod: Pod?, _ response: AdmissionResponse,
                        _ result: AdmissionOutcome.Result) -> AdmissionOutcome {
        AdmissionOutcome(
            httpStatus: 200,
            body: response.encoded(version: request.version),
            result: result,
            uid: request.uid,
            namespace: request.podNamespace ?? request.namespace,
            podName: pod?.name ?? request.name,
            serviceAccount: pod?.serviceAccountName,
            warnings: response.warnings
        )
    }

    private static func invalid(_ error: AdmissionError) -> AdmissionOutcome {
        AdmissionOutcome(httpStatus: error.httpStatus, body: Array((error.message + "\n").utf8),
                         result: .invalid, message: error.message)
    }
}
