import EventLoop
import Logging

/// Graceful shutdown on SIGTERM or SIGINT: readiness goes false, listeners stop accepting,
/// idle keep-alive connections close at once, requests in flight finish (answered with
/// `Connection: close`), and the process exits within the grace period. A second signal
/// exits at once. `Webhook.run` then joins the certificate watcher and the event loops before
/// the process exits, so no thread is inside OpenSSL when its atexit cleanup runs.
enum Shutdown {
    static func perform(
        servers: [HTTPServer], readiness: Readiness, grace: Duration, logger: Logger
    ) async -> Bool {
        readiness.markShuttingDown()
        Systemd.notify("STOPPING=1\nSTATUS=draining connections")
        let deadline = Deadline.now() + grace
        for server in servers { await server.drain() }
        var allClosed = true
        for server in servers {
            let closed = await server.waitUntilAllConnectionsClosed(deadline: deadline)
            allClosed = allClosed && closed
        }
        if allClosed {
            logger.info("shutdown complete: every connection closed")
        } else {
            let open = servers.reduce(0) { $0 + $1.openConnectionCount }
            logger.warning("shutdown grace period over with connections still open", metadata: ["open": .stringConvertible(open)])
        }
        return allClosed
    }
}
