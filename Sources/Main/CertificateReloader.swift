import EventLoop
import Logging

/// Reloads the serving certificate when its files change (Kubernetes Secret volumes swap a
/// symlink; cert-manager rewrites the files). New connections get the new pair; live ones keep
/// theirs. A bad new pair keeps the old one and logs an error.
enum CertificateReloader {
    static func watch(
        configuration: TLSConfiguration, paths: [String], context: ReloadableTLSContext,
        metrics: WebhookMetrics, logger: Logger
    ) throws(ConfigurationError) -> FileWatcher {
        try FileWatcher(paths: paths) {
            do {
                try context.reload(from: configuration)
                metrics.certificateReloads.increment()
                logger.info("certificate reloaded", metadata: ["certificate": "\(paths[0])"])
            } catch {
                metrics.certificateReloadFailures.increment()
                logger.error("certificate reload failed; still serving the previous one", metadata: ["error": "\(error)"])
            }
        }
    }
}
