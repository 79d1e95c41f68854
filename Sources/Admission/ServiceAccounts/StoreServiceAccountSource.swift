import EventLoop

/// Looks ServiceAccounts up in a `ServiceAccountStore`, and GETs (through a shared
/// `ServiceAccountFetchCoalescer`) the ones it cannot answer: accounts the watch has not
/// delivered yet (created a moment before their pod), and entries unconfirmed for longer than the
/// store's time to live while the watch is down.
///
/// A hit runs on the caller's executor under the store's lock: no actor, no task switch, and
/// through `storedServiceAccount(_:)` no async call. A GET answer is kept in the store only if
/// no newer watch event arrived meanwhile. When the GET fails, an expired entry still within the
/// store's stale-if-error window is served instead; otherwise the error goes to the caller (fail
/// open or closed as configured).
public final class StoreServiceAccountSource: ServiceAccountSource {
    /// The store lookups read.
    public let store: ServiceAccountStore
    private let fetcher: ServiceAccountFetchCoalescer
    private let now: @Sendable () -> Deadline

    /// A source reading `store` and fetching misses through `fetcher`.
    public init(store: ServiceAccountStore, fetcher: ServiceAccountFetchCoalescer, now: @escaping @Sendable () -> Deadline = { Deadline.now() }) {
        self.store = store
        self.fetcher = fetcher
        self.now = now
    }

    public func storedServiceAccount(_ key: ServiceAccountKey) -> ServiceAccount?? {
        if let answer = store.watchedAnswer(key) { return answer }
        if case .answer(let account) = store.lookup(key) { return .some(account) }
        return nil
    }

    nonisolated(nonsending) public func serviceAccount(_ key: ServiceAccountKey) async throws -> ServiceAccount? {
        let fallback: ServiceAccount??
        switch store.lookup(key) {
        case .answer(let account):
            return account
        case .fetch(let servable):
            fallback = servable
        }
        let startedAt = now()
        let store = store
        let fetched = await fetcher.fetch(
            key,
            answeredMeanwhile: { [self] in storedServiceAccount(key) },
            publish: { result in
                if case .success(let account) = result { _ = store.keepFetched(account, for: key, startedAt: startedAt) }
            })
        switch fetched.result {
        case .success(let account):
            return store.keepFetched(account, for: key, startedAt: startedAt)
        case .failure(let error):
            guard let fallback else { throw error }
            store.countStaleOnError()
            return fallback
        }
    }
}
