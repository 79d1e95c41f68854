import EventLoop
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The served certificate's expiry, where operators see it: the gauge
/// `irsa_certificate_expiry_timestamp_seconds` (set at start and on every reload), and a warning
/// line once a day from `warningWindow` before the certificate's notAfter, and at a reload that
/// installs a certificate already that close to it. The daily check runs on an event loop's timer.
enum CertificateExpiry {
    static let warningWindow: Duration = .seconds(30 * 86_400)
    static let checkInterval: Duration = .seconds(86_400)

    /// Records the current certificate's expiry and warns if it is close, then again every day,
    /// until the returned task is cancelled.
    static func watch(_ tls: ReloadableTLSContext, metrics: WebhookMetrics, logger: Logger, loop: EventLoop) -> Task<Void, Never> {
        Task(executorPreference: loop) {
            while true {
                check(tls.current, metrics: metrics, logger: logger)
                do {
                    try await loop.sleep(until: .after(checkInterval))
                } catch {
                    return
                }
            }
        }
    }

    /// Sets the gauge from `context`'s certificate and logs a warning when it expires within
    /// `warningWindow` (or has expired).
    static func check(_ context: TLSContext, metrics: WebhookMetrics, logger: Logger) {
        guard let expiry = context.certificateExpiry else { return }
        metrics.recordCertificateExpiry(secondsSinceEpoch: expiry)
        let remaining = expiry - Int64(time(nil))
        guard remaining <= warningWindow.components.seconds else { return }
        let days = remaining / 86_400
        let metadata: Logger.Metadata = [
            "notAfter": "\(JSONLogHandler.timestamp(secondsSinceEpoch: Int(expiry)))", "daysLeft": .stringConvertible(days),
        ]
        if remaining <= 0 {
            logger.error("the serving certificate has expired: the API server rejects the webhook and pods run without their role; renew it now", metadata: metadata)
        } else {
            logger.warning("the serving certificate expires in \(days == 1 ? "1 day" : "\(days) days"): renew it (the webhook reloads it without a restart)", metadata: metadata)
        }
    }
}
