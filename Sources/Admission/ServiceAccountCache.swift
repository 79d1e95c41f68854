import EventLoop

/// A bounded TTL cache of ServiceAccount lookups in front of another `ServiceAccountSource`
/// (the Kubernetes client or a static source).
///
/// - Found accounts are fresh for `timeToLive`, "does not exist" answers for `negativeTimeToLive`.
/// - Stale-while-revalidate: a found account up to `staleWhileRevalidate` past its TTL is still
///   served, while one background refresh per key fetches it again.
/// - Stale-if-error: when the upstream fails, an entry up to `staleIfError` past its TTL is served
///   instead of the error: this cache's, or else one held by another cache sharing the coalescer
///   (another event loop's), which this cache then keeps. With nothing usable cached anywhere,
///   every waiting caller gets the error.
/// - At most `capacity` entries; the least recently used one is evicted (O(1), see `Table`).
/// - Misses go through a `ServiceAccountFetchCoalescer`, so concurrent misses for one key cost one
///   upstream request.
///
/// Executor placement: calling an actor on the default executor from a connection task running
/// on an event loop costs two thread hops. Pass the loop as `executor` to pin the cache to it and
/// create one cache per loop; give all of them the same `ServiceAccountFetchCoalescer` as
/// `upstream` (its in-flight table is behind a lock, not an actor) so that misses still coalesce
/// across loops. A private coalescer is used when `upstream` is any other source. When the
/// executor is also a `TaskExecutor`, background refreshes run on it too. The price of one cache
/// per loop: each loop fills its own table, so a key costs up to one GET per loop per TTL (and
/// memory per loop), against a hop-free hit path; a single shared cache is the other choice.
public actor ServiceAccountCache: ServiceAccountSource {
    /// Sizes and lifetimes.
    public struct Configuration: Sendable, Hashable {
        /// The most entries kept (found and not found together).
        public var capacity: Int
        /// How long a found account is served without asking upstream.
        public var timeToLive: Duration
        /// How long a "does not exist" answer is served without asking upstream. Short, so a
        /// ServiceAccount created just before its pods is seen quickly.
        public var negativeTimeToLive: Duration
        /// How long past `timeToLive` a found account is still served while it is refreshed in
        /// the background. Not-found answers are never served stale this way.
        public var staleWhileRevalidate: Duration
        /// How long past its TTL an entry is served when the upstream fails.
        public var staleIfError: Duration

        public init(
            capacity: Int = 4096,
            timeToLive: Duration = .seconds(60),
            negativeTimeToLive: Duration = .seconds(2),
            staleWhileRevalidate: Duration = .seconds(60),
            staleIfError: Duration = .seconds(300)
        ) {
            self.capacity = capacity
            self.timeToLive = timeToLive
            self.negativeTimeToLive = negativeTimeToLive
            self.staleWhileRevalidate = staleWhileRevalidate
            self.staleIfError = staleIfError
        }
    }

    /// Counters for metrics, a snapshot.
    public struct Statistics: Sendable, Hashable {
        /// Lookups answered from a fresh entry.
        public var hits: UInt64 = 0
        /// Lookups answered from a stale entry while it was refreshed in the background.
        public var staleHits: UInt64 = 0
        /// Lookups that had to wait for the upstream.
        public var misses: UInt64 = 0
        /// Misses that joined a fetch already in flight (in this cache or another sharing the coalescer).
        public var coalescedWaiters: UInt64 = 0
        /// Entries dropped to stay within capacity.
        public var evictions: UInt64 = 0
        /// Upstream requests started by this cache that failed.
        public var upstreamErrors: UInt64 = 0
        /// Failed lookups answered from a stale entry instead.
        public var staleServedOnError: UInt64 = 0
        /// Background refreshes started.
        public var backgroundRefreshes: UInt64 = 0
        /// Entries currently held.
        public var entries: Int = 0
    }

    private let configuration: Configuration
    private let fetcher: ServiceAccountFetchCoalescer
    private let now: @Sendable () -> Deadline
    private let executor: (any SerialExecutor)?
    private let refreshExecutor: (any TaskExecutor)?
    /// Lends its default executor when no `executor` is given (an actor that implements
    /// `unownedExecutor` has no default executor of its own).
    private let defaultExecutorOwner: DefaultExecutorOwner
    private var table: Table
    private var counters = Statistics()

    /// A cache in front of `upstream`.
    ///
    /// - Parameters:
    ///   - upstream: Where misses are fetched. Pass a shared `ServiceAccountFetchCoalescer` to
    ///     coalesce misses across several caches.
    ///   - executor: Pins the actor to this executor (an event loop); nil uses a default executor.
    ///   - now: The clock; tests pass a manual one.
    public init(
        upstream: any ServiceAccountSource,
        configuration: Configuration = Configuration(),
        executor: (any SerialExecutor)? = nil,
        now: @escaping @Sendable () -> Deadline = { Deadline.now() }
    ) {
        self.configuration = configuration
        self.fetcher = upstream as? ServiceAccountFetchCoalescer ?? ServiceAccountFetchCoalescer(upstream: upstream)
        self.now = now
        self.executor = executor
        self.refreshExecutor = executor as? any TaskExecutor
        self.defaultExecutorOwner = DefaultExecutorOwner()
        self.table = Table(capacity: configuration.capacity)
        fetcher.register(self)
    }

    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        if let executor { return executor.asUnownedSerialExecutor() }
        return defaultExecutorOwner.unownedExecutor
    }

    /// A snapshot of the counters.
    public var statistics: Statistics {
        var snapshot = counters
        snapshot.entries = table.count
        return snapshot
    }

    public func serviceAccount(_ key: ServiceAccountKey) async throws -> ServiceAccount? {
        let now = self.now()
        if let index = table.use(key) {
            let entry = table[index]
            if now < entry.storedAt + timeToLive(of: entry) {
                counters.hits += 1
                return entry.account
            }
            if entry.account != nil, now < entry.storedAt + configuration.timeToLive + configuration.staleWhileRevalidate {
                counters.staleHits += 1
                if !entry.refreshing {
                    table[index].refreshing = true
                    startRefresh(key)
                }
                return entry.account
            }
        }
        counters.misses += 1
        let (result, participation) = await fetcher.fetch(key)
        if participation == .joined { counters.coalescedWaiters += 1 }
        switch result {
        case .success(let account):
            store(account, for: key)
            return account
        case .failure(let error):
            if participation == .led { counters.upstreamErrors += 1 }
            if let entry = entryServableOnError(key) {
                counters.staleServedOnError += 1
                return entry.account
            }
            if let entry = await entryServableOnErrorElsewhere(key) {
                counters.staleServedOnError += 1
                adopt(entry, for: key)
                return entry.account
            }
            throw error
        }
    }

    /// This cache's entry for `key` if it may still be served while the upstream fails.
    func entryServableOnError(_ key: ServiceAccountKey) -> Entry? {
        guard let entry = table.peek(key), now() < entry.storedAt + timeToLive(of: entry) + configuration.staleIfError else { return nil }
        return entry
    }

    /// An entry for `key` servable on error from another cache sharing the coalescer. Only asked
    /// when the upstream failed, so the hops to other event loops cost nothing on the hot path.
    private func entryServableOnErrorElsewhere(_ key: ServiceAccountKey) async -> Entry? {
        for cache in fetcher.caches where cache !== self {
            if let entry = await cache.entryServableOnError(key) { return entry }
        }
        return nil
    }

    /// Keeps another cache's entry, unless this cache got a newer one meanwhile.
    private func adopt(_ entry: Entry, for key: ServiceAccountKey) {
        if let own = table.peek(key), own.storedAt >= entry.storedAt { return }
        if table.store(Entry(account: entry.account, storedAt: entry.storedAt, refreshing: false), for: key) {
            counters.evictions += 1
        }
    }

    private func timeToLive(of entry: Entry) -> Duration {
        entry.account == nil ? configuration.negativeTimeToLive : configuration.timeToLive
    }

    private func store(_ account: ServiceAccount?, for key: ServiceAccountKey) {
        if table.store(Entry(account: account, storedAt: now(), refreshing: false), for: key) {
            counters.evictions += 1
        }
    }

    private func startRefresh(_ key: ServiceAccountKey) {
        counters.backgroundRefreshes += 1
        Task(executorPreference: refreshExecutor) {
            await self.refresh(key)
        }
    }

    private func refresh(_ key: ServiceAccountKey) async {
        let (result, participation) = await fetcher.fetch(key)
        switch result {
        case .success(let account):
            store(account, for: key)
        case .failure:
            if participation == .led { counters.upstreamErrors += 1 }
            table.modify(key) { $0.refreshing = false }
        }
    }
}

/// An empty actor whose default executor a `ServiceAccountCache` without a pinned executor uses.
private actor DefaultExecutorOwner {}
