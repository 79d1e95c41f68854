import EventLoop
import Logging

/// Feeds the HTTP server's connection and TLS events into `WebhookMetrics`, and logs failed
/// TLS handshakes: one line per reason per minute, saying how many more there were.
struct MetricsObserver: HTTPServerObserver {
    let metrics: WebhookMetrics
    let logger: Logger
    let handshakeLogLimiter = LogRateLimiter()

    /// Admissions are timed by the routes; other requests are not measured.
    var observesServedRequests: Bool { false }

    func connectionOpened() {
        metrics.connectionsAccepted.increment()
        metrics.openConnections.increment()
    }

    func connectionClosed() {
        metrics.openConnections.decrement()
    }

    func tlsHandshakeFailed(_ error: any Error) {
        let failure = HandshakeFailure(error)
        metrics.recordHandshakeFailure(failure.reason)
        guard let heldBack = handshakeLogLimiter.admit(failure.reason.rawValue) else { return }
        logger.warning("TLS handshake failed: \(failure.explanation)", metadata: [
            "reason": "\(failure.reason.rawValue)", "error": "\(error)", "sameReasonNotLogged": .stringConvertible(heldBack),
        ])
    }
}
