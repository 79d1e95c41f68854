import EventLoop

/// Feeds the HTTP server's connection and TLS events into `WebhookMetrics`.
struct MetricsObserver: HTTPServerObserver {
    let metrics: WebhookMetrics

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
        metrics.tlsHandshakeFailures.increment()
    }
}
