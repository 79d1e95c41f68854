import EventLoop

/// The informer's copy of every ServiceAccount in the cluster: per account only what the
/// mutation reads (the kept annotations) and its resourceVersion, filled by a LIST, kept current
/// by the watch, and topped up by GETs for accounts the watch has not delivered yet.
///
/// Lookups take a lock, hash the key (`ServiceAccountKeyHash`, with the table's seed) and probe the
/// table (`Table`) once: no actor and no thread hop, so the admission path stays on its event
/// loop. One store serves every loop (one copy of 100,000 accounts, not one per loop); writers
/// (the watch on one loop, GET answers) hold the lock just as briefly, and a relist builds its
/// table outside the lock and swaps it in.
///
/// Freshness: while a watch stream runs, every entry is current. While it is down (or before the
/// first LIST) an entry is served for `timeToLive` from its last confirmation (the watch's last
/// moment up, or the GET that fetched it), then looked up again by GET; if that GET fails, it
/// is served `staleIfError` longer. A GET's "does not exist" counts for `negativeTimeToLive`.
public final class ServiceAccountStore: Sendable {
    /// How long entries may be served unconfirmed.
    public struct Configuration: Sendable, Hashable {
        /// Served this long after its last confirmation while the watch is down (`--cache-ttl`).
        public var timeToLive: Duration
        /// A GET's "does not exist" is served this long while the watch is down (`--negative-cache-ttl`).
        public var negativeTimeToLive: Duration
        /// Served this long past `timeToLive` when the GET that should refresh it fails.
        public var staleIfError: Duration

        public init(timeToLive: Duration = .seconds(60), negativeTimeToLive: Duration = .seconds(2), staleIfError: Duration = .seconds(300)) {
            self.timeToLive = timeToLive
            self.negativeTimeToLive = negativeTimeToLive
            self.staleIfError = staleIfError
        }
    }

    /// Counters and gauges for metrics, a snapshot.
    public struct Statistics: Sendable, Hashable {
        /// Lookups answered by the store while the watch ran.
        public var storeLookups: UInt64 = 0
        /// Lookups answered by entries the watch confirmed before it went down.
        public var staleLookups: UInt64 = 0
        /// Lookups answered by a GET (the account was missing or expired).
        public var fetchedLookups: UInt64 = 0
        /// Lookups whose GET failed and that were answered by an expired entry instead.
        public var staleOnError: UInt64 = 0
        /// Accounts held (found ones; not remembered deletions or "does not exist" answers).
        public var entries = 0
        /// Seconds since the API last confirmed the store (0 while the watch runs; nil before the first LIST).
        public var secondsSinceConfirmed: Double?
    }

    /// What the store knows about one key.
    struct Entry: Sendable {
        /// The kept annotations (empty for most accounts: no allocation).
        var annotations: [String: String]
        /// The numeric resourceVersion; 0 when unknown.
        var resourceVersion: UInt64
        /// When a GET last confirmed it (uptime nanoseconds); 0 when only the watch did.
        var fetchedAt: UInt64
        /// False for a GET's "does not exist".
        var exists: Bool
        /// True when it came from a GET and the watch has not delivered it since.
        var fetched: Bool
    }

    /// What a lookup found.
    enum Lookup {
        /// The store answers: the account, or nil when it does not exist.
        case answer(ServiceAccount?)
        /// The caller must GET it; `fallback` may be served if the GET fails (nil: nothing may).
        case fetch(fallback: ServiceAccount??)
    }

    private struct State {
        var table = Table()
        /// Keys whose entry came from a GET and is not yet confirmed by the watch.
        var fetchedKeys: Set<ServiceAccountKey> = []
        /// Keys the watch deleted, with the deletion's resourceVersion: an older GET answer must
        /// not bring them back. Bounded by `maximumRememberedDeletions`.
        var deletions: [ServiceAccountKey: UInt64] = [:]
        /// Whether a watch stream is connected.
        var watching = false
        /// When the watch last confirmed the store: nil before the first LIST.
        var confirmedAt: Deadline?
        var statistics = Statistics()
    }

    static let maximumRememberedDeletions = 10_000

    /// The freshness rules.
    public let configuration: Configuration
    private let state = LockedValue(State())
    private let now: @Sendable () -> Deadline

    /// An empty store. `now` is the clock; tests pass a manual one.
    public init(configuration: Configuration = Configuration(), now: @escaping @Sendable () -> Deadline = { Deadline.now() }) {
        self.configuration = configuration
        self.now = now
    }

    /// A snapshot of the counters and gauges.
    public var statistics: Statistics {
        let now = self.now()
        return state.withLock { state in
            var snapshot = state.statistics
            snapshot.entries = state.table.count - state.fetchedKeys.count(where: { state.table.entry($0)?.exists == false })
            if let confirmedAt = state.confirmedAt {
                snapshot.secondsSinceConfirmed = state.watching ? 0 : Double(now.uptimeNanoseconds &- confirmedAt.uptimeNanoseconds) / 1e9
            }
            return snapshot
        }
    }

    // MARK: - Lookups

    /// The hot path, while the watch runs: the account (`.some(nil)`: it does not exist), or nil
    /// when `lookup(_:)` must decide. The lock is held for the hash (the table's seed), the probe
    /// and the counter; no `Lookup` is built, returned and destroyed.
    @inline(__always)
    func watchedAnswer(_ key: ServiceAccountKey) -> ServiceAccount?? {
        state.withLock { Self.watchedHit(key, in: &$0) }
    }

    /// The entry for `key` if it may be served, else what to do instead.
    func lookup(_ key: ServiceAccountKey) -> Lookup {
        state.withLock { state in
            if state.watching {
                if let answer = Self.watchedHit(key, in: &state) { return .answer(answer) }
                if state.deletions[key] != nil {
                    state.statistics.storeLookups += 1
                    return .answer(nil)
                }
                return .fetch(fallback: nil)
            }
            guard let index = state.table.index(of: key) else { return .fetch(fallback: nil) }
            let entry = state.table[index]
            let watchConfirmed = state.confirmedAt?.uptimeNanoseconds ?? 0
            let confirmed = max(entry.fetchedAt, watchConfirmed)
            let age = Duration.nanoseconds(Int64(clamping: now().uptimeNanoseconds &- confirmed))
            let timeToLive = entry.exists ? configuration.timeToLive : configuration.negativeTimeToLive
            let account = entry.exists ? Self.account(key, entry) : nil
            if age < timeToLive {
                if entry.fetchedAt < watchConfirmed { state.statistics.staleLookups += 1 } else { state.statistics.storeLookups += 1 }
                return .answer(account)
            }
            return .fetch(fallback: entry.exists && age < timeToLive + configuration.staleIfError ? .some(account) : nil)
        }
    }

    /// While the watch runs, `key`'s account if the table holds it (`.some(nil)`: it does not
    /// exist), counted as a store lookup; nil otherwise. Under the lock.
    @inline(__always)
    private static func watchedHit(_ key: ServiceAccountKey, in state: inout State) -> ServiceAccount?? {
        guard state.watching, let index = state.table.index(of: key) else { return nil }
        state.statistics.storeLookups += 1
        let entry = state.table[index]
        return .some(entry.exists ? account(key, entry) : nil)
    }

    /// Keeps what a GET that started at `startedAt` answered for `key`, unless the store has
    /// newer news (a watch event with a higher resourceVersion, or a deletion after it), and
    /// returns the store's answer for `key` afterwards.
    func keepFetched(_ account: ServiceAccount?, for key: ServiceAccountKey, startedAt: Deadline) -> ServiceAccount? {
        state.withLock { state in
            state.statistics.fetchedLookups += 1
            let existing = state.table.entry(key)
            if let account {
                let version = account.resourceVersion ?? 0
                if let deleted = state.deletions[key], version <= deleted { return nil }
                if let existing, existing.exists, existing.resourceVersion > version || (account.resourceVersion == nil && !existing.fetched) {
                    return Self.account(key, existing)
                }
                state.table.upsert(key, Entry(annotations: account.annotations, resourceVersion: version,
                                              fetchedAt: startedAt.uptimeNanoseconds, exists: true, fetched: true))
                state.fetchedKeys.insert(key)
                return account
            }
            if let existing, existing.exists {
                let watchKnowsIt = !existing.fetched && state.watching
                let fetchedLater = existing.fetched && existing.fetchedAt > startedAt.uptimeNanoseconds
                if watchKnowsIt || fetchedLater { return Self.account(key, existing) }
            }
            state.table.upsert(key, Entry(annotations: [:], resourceVersion: 0, fetchedAt: startedAt.uptimeNanoseconds,
                                          exists: false, fetched: true))
            state.fetchedKeys.insert(key)
            return nil
        }
    }

    /// Counts a lookup answered by an expired entry because its GET failed.
    func countStaleOnError() {
        state.withLock { $0.statistics.staleOnError += 1 }
    }

    // MARK: - Informer

    /// Replaces everything with a completed LIST at `resourceVersion`, so accounts deleted while
    /// the watch was away disappear. GET answers newer than the list are kept.
    public func replace(with table: Table, resourceVersion: UInt64?) {
        var table = table
        let listed = resourceVersion ?? .max
        state.withLock { state in
            var carried: Set<ServiceAccountKey> = []
            for key in state.fetchedKeys {
                guard let entry = state.table.entry(key), entry.exists, entry.resourceVersion > listed, table.entry(key) == nil else { continue }
                table.upsert(key, entry)
                carried.insert(key)
            }
            swap(&state.table, &table)
            state.fetchedKeys = carried
            state.deletions = [:]
            state.confirmedAt = now()
        }
        withExtendedLifetime(table) {}
    }

    /// Applies one watch event (ADDED, MODIFIED or DELETED).
    func apply(_ event: ServiceAccountWatchEvent) {
        state.withLock { state in
            switch event {
            case .upserted(let account, _):
                state.table.add(account)
                state.fetchedKeys.remove(account.key)
                state.deletions[account.key] = nil
            case .deleted(let account, _):
                state.table.remove(account.key)
                state.fetchedKeys.remove(account.key)
                if state.deletions.count >= Self.maximumRememberedDeletions { state.deletions.removeAll(keepingCapacity: true) }
                state.deletions[account.key] = account.resourceVersion ?? .max
            case .bookmark, .error:
                break
            }
        }
    }

    /// Marks the watch as connected (the store is current) or as down since now.
    public func setWatching(_ watching: Bool) {
        let now = self.now()
        state.withLock { state in
            if state.watching, !watching { state.confirmedAt = now }
            state.watching = watching
        }
    }

    @inline(__always)
    private static func account(_ key: ServiceAccountKey, _ entry: Entry) -> ServiceAccount {
        ServiceAccount(namespace: key.namespace, name: key.name, annotations: entry.annotations,
                       resourceVersion: entry.resourceVersion == 0 ? nil : entry.resourceVersion)
    }
}
