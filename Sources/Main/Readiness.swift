import EventLoop
import Synchronization

/// What `/readyz` reports: ready once the certificate is loaded and the ServiceAccount source
/// has answered, and never again once shutdown has begun (so endpoints stop routing to us).
final class Readiness: Sendable {
    private let certificateLoaded = Atomic<Bool>(false)
    private let sourceUsable = Atomic<Bool>(false)
    private let shuttingDown = Atomic<Bool>(false)
    private let sourceWaitReason = LockedValue("ServiceAccount source not reachable yet")

    func markCertificateLoaded() { certificateLoaded.store(true, ordering: .relaxed) }
    func markSourceUsable() { sourceUsable.store(true, ordering: .relaxed) }
    /// What `/readyz` says while the source is not usable yet.
    func setSourceWaitReason(_ reason: String) { sourceWaitReason.withLock { $0 = reason } }
    func markShuttingDown() { shuttingDown.store(true, ordering: .relaxed) }

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
