import Admission
import EventLoop
import Logging

/// The webhook's HTTP routes: `POST /mutate`, `GET /healthz`, `GET /readyz`, `GET /metrics`.
struct Routes: Sendable {
    /// One admission handler per event loop, each over that loop's ServiceAccount source.
    let handlers: [LoopAdmissionHandler]
    let readiness: Readiness
    let metrics: WebhookMetrics
    let logger: Logger
    /// Brings pulled metrics (cache counters) up to date before a scrape.
    let beforeMetrics: @Sendable () async -> Void
    /// Whether every admission is logged (level debug). Read once: the logger's level is fixed,
    /// and asking for it copies the log handler.
    private let logsEachAdmission: Bool

    init(
        handlers: [LoopAdmissionHandler], readiness: Readiness, metrics: WebhookMetrics, logger: Logger,
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
        router.add(.POST, "/mutate") { request in await self.mutate(request) }
        return router
    }

    /// The router for the plain-HTTP metrics port: health and metrics, never /mutate.
    func healthRouter() -> Router {
        var router = Router()
        router.add(.GET, "/healthz") { _ in .text(.ok, "ok\n") }
        router.add(.GET, "/readyz") { _ in
            if let reason = self.readiness.notReadyReason {
                return .text(.serviceUnavailable, "not ready: \(reason)\n")
            }
            return .text(.ok, "ok\n")
        }
        router.add(.GET, "/metrics") { _ in
            await self.beforeMetrics()
            return HTTPResponse(
                status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                body: self.metrics.render())
        }
        return router
    }

    nonisolated(nonsending) private func mutate(_ request: HTTPRequest) async -> HTTPResponse {
        let start = Deadline.now()
        guard request.head.field("Content-Type", satisfies: Self.isJSON) else {
            metrics.recordAdmission(.invalid, duration: Deadline.now().duration(since: start))
            return .text(.unsupportedMediaType, "Content-Type must be application/json\n")
        }
        let outcome = await handler().admission.review(request.body)
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
    /// Returns the loop's box, not the handler: copying the handler would retain each of its fields.
    private func handler() -> LoopAdmissionHandler {
        for entry in handlers where entry.loop.inEventLoop { return entry }
        return handlers[0]
    }

    private func record(_ outcome: AdmissionOutcome, duration: Duration) {
        let result: WebhookMetrics.AdmissionResult
        switch outcome.result {
        case .mutated: result = .mutated
        case .skipped: result = .skipped
        case .failedLookup(let denied):
            result = denied ? .denied : .error
            metrics.lookupFailures.increment()
            logger.warning("ServiceAccount lookup failed", metadata: metadata(outcome, duration: duration))
        case .invalid:
            result = .invalid
            logger.notice("invalid AdmissionReview", metadata: metadata(outcome, duration: duration))
        }
        metrics.recordAdmission(result, duration: duration)
        if logsEachAdmission {
            logger.debug("admission", metadata: metadata(outcome, duration: duration))
        }
    }

    private func metadata(_ outcome: AdmissionOutcome, duration: Duration) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["result": "\(outcome.result)", "duration": "\(duration)"]
        if let uid = outcome.uid { metadata["uid"] = "\(uid)" }
        if let namespace = outcome.namespace { metadata["namespace"] = "\(namespace)" }
        if let pod = outcome.podName { metadata["pod"] = "\(pod)" }
        if let account = outcome.serviceAccount { metadata["serviceAccount"] = "\(account)" }
        if let message = outcome.message { metadata["reason"] = "\(message)" }
        return metadata
    }

    /// Whether a Content-Type value is `application/json` (ASCII case ignored), with or without
    /// parameters such as `; charset=utf-8`.
    static func isJSON(_ contentType: UnsafeRawBufferPointer) -> Bool {
        let semicolon = contentType.firstIndex(of: UInt8(ascii: ";")) ?? contentType.count
        var start = 0
        var end = semicolon
        while start < end, contentType[start] == UInt8(ascii: " ") || contentType[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, contentType[end - 1] == UInt8(ascii: " ") || contentType[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        let expected: StaticString = "application/json"
        guard end - start == expected.utf8CodeUnitCount else { return false }
        for index in 0..<(end - start) {
            let byte = contentType[start + index]
            let lowered = byte &- 0x41 < 26 ? byte | 0x20 : byte
            if lowered != expected.utf8Start[index] { return false }
        }
        return true
    }
}

/// The admission handler of one event loop, boxed: the routes find it per request, and taking a
/// reference out of the list costs one retain where copying the handler retained every field.
final class LoopAdmissionHandler: Sendable {
    let loop: EventLoop
    let admission: AdmissionHandler

    init(loop: EventLoop, admission: AdmissionHandler) {
        self.loop = loop
        self.admission = admission
    }
}
