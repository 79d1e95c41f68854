import Admission
import EventLoop
import Logging

/// Reloads the serving certificate when its files change (Kubernetes Secret volumes swap a
/// symlink; cert-manager rewrites the files). New connections get the new pair; live ones keep
/// theirs. A bad new pair keeps the old one and logs an error. Changes in the directory that
/// leave the pair's bytes as they were (other files, a rewrite with the same content) reload
/// nothing, so the reload metric and log count real rotations.
enum CertificateReloader {
    static func watch(
        configuration: TLSConfiguration, paths: [String], context: ReloadableTLSContext,
        metrics: WebhookMetrics, logger: Logger
    ) throws(ConfigurationError) -> FileWatcher {
        let lastAttempt = LockedValue(contents(of: paths))
        return try FileWatcher(paths: paths) {
            let current = contents(of: paths)
            let changed = lastAttempt.withLock { last in
                defer { last = current }
                return last != current
            }
            guard changed else {
                logger.debug("certificate directory changed; the pair's files did not", metadata: ["certificate": "\(paths[0])"])
                return
            }
            do {
                try context.reload(from: configuration)
                metrics.certificateReloads.increment()
                logger.info("certificate reloaded", metadata: ["certificate": "\(paths[0])"])
                CertificateExpiry.check(context.current, metrics: metrics, logger: logger)
            } catch {
                metrics.certificateReloadFailures.increment()
                logger.error("certificate reload failed; still serving the previous one", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The bytes of each file (nil for one that cannot be read), followed through symlinks.
    ///
    /// Plain byte arrays rather than `Data`: a `Data` keeps its storage reference inside a
    /// multi-payload enum whose case tag sits in the pointer's spare bits, which LeakSanitizer
    /// cannot follow, so the watcher's copy was reported as leaked at exit.
    private static func contents(of paths: [String]) -> [[UInt8]?] {
        paths.map { try? ConfigurationFile.read($0, limit: maximumFileBytes) }
    }

    /// Larger files count as unreadable here; loading them fails with its own error.
    private static let maximumFileBytes = 1 << 20
}
