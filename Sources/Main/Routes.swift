import Admission
import EventLoop
import Logging

/// The webhook's HTTP routes: `POST /mutate`, `GET /healthz`, `GET /readyz`, `GET /metrics`.
struct Routes: Sendable {
    /// One admission handler per event loop, each over that loop's ServiceAccount source.
    let handlers: [(loop: EventLoop, handler: AdmissionHandler)]
    let readiness: Readiness
    let metrics: WebhookMetrics
    let logger: Logger
    /// Brings pulled metrics (cache counters) up to date before a scrape.
    let beforeMetrics: @Sendable () async -> Void
    /// Whether every admission is logged (level debug). Read once: the logger's level is fixed,
    /// and asking for it copies the log handler.
    private let logsEachAdmission: Bool
    /// Warnings are logged once per ServiceAccount per minute.
    private let warningLogLimiter = LogRateLimiter()

    init(
        handlers: [(loop: EventLoop, handler: AdmissionHandler)], readiness: Readiness, metrics: WebhookMetrics, logger: Logger,
        beforeMetrics: @escaping @Sendable () async -> Void
    ) {
        self.handlers = handlers
        self.readiness = readiness
        self.metrics = metrics
        self.logger = logger
        self.beforeMetrics = beforeMetrics
        logsEachAdmission = logger.logLevel <= .debug
    }

    /// The router for the TLS port.
    func webhookRouter() -> Router {
        var router = healthRouter()
        router.add(.POST, "/mutate", screen: { head in self.screenMutate(head) }) { request in await self.mutate(request) }
        return router
    }

    /// The router for the plain-HTTP metrics port: health and metrics, never /mutate.
    func healthRouter() -> Router {
        var router = Router()
        router.add(.GET, "/healthz") { _ in .text(.ok, "ok\n") }
        router.add(.GET, "/readyz") { _ in
            if let reason = self.readiness.notReadyReason {
                return .text(.serviceUnavailable, "not ready: \(reason)\n" + self.readiness.details)
            }
            return .text(.ok, "ok\n" + self.readiness.details)
        }
        router.add(.GET, "/metrics") { _ in
            await self.beforeMetrics()
            return HTTPResponse(
                status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                body: self.metrics.render())
        }
        return router
    }

    /// Refuses an admission that is not JSON from its head, before its body is read.
    private func screenMutate(_ head: HTTPRequestHead) -> HTTPResponse? {
        guard !head.field("Content-Type", hasMediaType: "application/json") else { return nil }
        metrics.recordAdmission(.invalid, duration: .zero)
        return .text(.unsupportedMediaType, "Content-Type must be application/json\n")
    }

    nonisolated(nonsending) private func mutate(_ request: HTTPRequest) async -> HTTPResponse {
        let start = Deadline.now()
        let outcome = await handler().review(request.body)
        let duration = Deadline.now().duration(since: start)
        record(outcome, duration: duration)
        return HTTPResponse(
            status: HTTPStatus(code: outcome.httpStatus),
            headers: outcome.contentType == Self.json ? Self.jsonHeaders : ["Content-Type": outcome.contentType],
            body: outcome.body)
    }

    private static let json = "application/json"
    /// The fields of every admission answer, built once: a dictionary literal allocates twice.
    private static let jsonHeaders: HTTPHeaders = ["Content-Type": json]

    /// The handler of the loop this task runs on (connection tasks always run on their loop).
    private func handler() -> AdmissionHandler {
        for entry in handlers where entry.loop.inEventLoop { return entry.handler }
        return handlers[0].handler
    }

    private func record(_ outcome: AdmissionOutcome, duration: Duration) {
        let result = outcome.metricResult
        switch result {
        case .error, .denied:
            metrics.lookupFailures.increment()
            logger.warning("ServiceAccount lookup failed", metadata: outcome.logMetadata(duration: duration))
        case .invalid:
            logger.notice("invalid AdmissionReview", metadata: outcome.logMetadata(duration: duration))
        case .mutated, .skipped:
            break
        }
        metrics.recordAdmission(result, duration: duration)
        // A failed lookup's warning is its own log line above.
        if !outcome.warnings.isEmpty, result == .mutated || result == .skipped { logWarnings(of: outcome) }
        if logsEachAdmission {
            logger.debug("admission", metadata: outcome.logMetadata(duration: duration))
        }
    }

    /// Logs the warnings sent back with an admitted pod (annotation values ignored), once per
    /// ServiceAccount per minute: each of its pods gets the same ones.
    private func logWarnings(of outcome: AdmissionOutcome) {
        let account = "\(outcome.namespace ?? "")/\(outcome.serviceAccount ?? "")"
        guard let heldBack = warningLogLimiter.admit(account) else { return }
        var metadata: Logger.Metadata = [
            "warnings": .array(outcome.warnings.map { .string($0) }), "sameAccountNotLogged": .stringConvertible(heldBack),
        ]
        if let namespace = outcome.namespace { metadata["namespace"] = "\(namespace)" }
        if let account = outcome.serviceAccount { metadata["serviceAccount"] = "\(account)" }
        if let pod = outcome.podName { metadata["pod"] = "\(pod)" }
        logger.warning("admission warnings sent to the client", metadata: metadata)
    }
}
