import EventLoop

/// A `StaticServiceAccountSource` that can be swapped for a newer one while serving: the
/// `--service-accounts-file`, reloaded when the file changes. A lookup takes a lock to read the
/// current source (no actor, no thread hop).
public final class ReloadableServiceAccountSource: ServiceAccountSource {
    private let current: LockedValue<StaticServiceAccountSource>

    /// Serves `initial` until the first `replace`.
    public init(_ initial: StaticServiceAccountSource) {
        current = LockedValue(initial)
    }

    /// The accounts served now.
    public var source: StaticServiceAccountSource { current.withLock { $0 } }

    /// Serves `source` from now on.
    public func replace(with source: StaticServiceAccountSource) {
        current.withLock { $0 = source }
    }

    nonisolated(nonsending) public func serviceAccount(_ key: ServiceAccountKey) async throws -> ServiceAccount? {
        current.withLock { $0.accounts[key] }
    }

    public func storedServiceAccount(_ key: ServiceAccountKey) -> ServiceAccount?? {
        .some(current.withLock { $0.accounts[key] })
    }
}
