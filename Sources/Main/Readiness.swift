import EventLoop
import Synchronization

/// What `/readyz` reports: ready once the certificate is loaded and the ServiceAccount source
/// has answered, and never again once shutdown has begun (so endpoints stop routing to us).
/// Details (the narrowing writer's state) follow as lines of their own and never make it unready:
/// admissions are answered correctly whatever the webhook configuration says.
final class Readiness: Sendable {
    private let certificateLoaded = Atomic<Bool>(false)
    private let sourceUsable = Atomic<Bool>(false)
    private let shuttingDown = Atomic<Bool>(false)
    private let sourceWaitReason = LockedValue("ServiceAccount source not reachable yet")
    private let detailProviders = LockedValue<[@Sendable () -> String]>([])

    func markCertificateLoaded() { certificateLoaded.store(true, ordering: .relaxed) }
    func markSourceUsable() { sourceUsable.store(true, ordering: .relaxed) }
    /// What `/readyz` says while the source is not usable yet.
    func setSourceWaitReason(_ reason: String) { sourceWaitReason.withLock { $0 = reason } }
    func markShuttingDown() { shuttingDown.store(true, ordering: .relaxed) }
    /// Adds a line `/readyz` shows after its verdict.
    func addDetail(_ provider: @escaping @Sendable () -> String) { detailProviders.withLock { $0.append(provider) } }

    /// The detail lines, each ending in a newline.
    var details: String { detailProviders.withLock { $0 }.map { $0() + "\n" }.joined() }

    var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }
    var isSourceUsable: Bool { sourceUsable.load(ordering: .relaxed) }

    /// Nil when ready, else why not.
    var notReadyReason: String? {
        if shuttingDown.load(ordering: .relaxed) { return "shutting down" }
        if !certificateLoaded.load(ordering: .relaxed) { return "certificate not loaded" }
        if !sourceUsable.load(ordering: .relaxed) { return sourceWaitReason.withLock { $0 } }
        return nil
    }
}
