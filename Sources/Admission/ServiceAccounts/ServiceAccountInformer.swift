import EventLoop
import Logging

/// Keeps a `ServiceAccountStore` current: LIST every ServiceAccount (paginated), then WATCH from
/// the list's resourceVersion, resuming from the last version seen (events and bookmarks) when a
/// stream ends or breaks.
///
/// - A 410 (status or ERROR event) lists again and replaces the store, so accounts deleted while
///   disconnected disappear.
/// - Failures reconnect after a jittered exponential pause (`ReconnectBackoff`); a stream that
///   delivered something restarts the backoff.
/// - A stream is asked to end after `watchTimeout` (jittered up to twice that); one still open a
///   margin later (a tenth of it, 1 to 30 s) is dead and is replaced.
/// - A 403 on LIST or WATCH stops the informer: the error and a warning are logged, `onForbidden`
///   runs, and the store, no longer watched, serves as the GET mode's TTL cache does.
///
/// Runs as one task on the HTTP client's event loop; events are applied to the store there,
/// through `GatedStoreUpdates` when a gate (the narrowing writer) must hear of roles first.
/// Cancelling that task (shutdown) ends it within a loop iteration or two, wherever it waits (a
/// socket wait or a backoff pause fails with `CancellationError`), with its connections closed.
public final class ServiceAccountInformer: Sendable {
    /// Page size and timings.
    public struct Configuration: Sendable {
        /// `limit` of each LIST page.
        public var pageSize = 500
        /// Time allowed for one LIST page.
        public var pageTimeout: Duration = .seconds(60)
        /// `timeoutSeconds` of a watch, before jitter (drawn from this to twice this).
        public var watchTimeout: Duration = .seconds(300)
        /// The User-Agent header.
        public var userAgent = "irsa-webhook"
        /// Which annotations to keep.
        public var annotationFilter = ServiceAccountAnnotationFilter.all
        /// The longest the gate may hold back a change (see `GatedStoreUpdates`).
        public var gateBound: Duration = .seconds(1)

        public init() {}
    }

    /// Counters for metrics, a snapshot.
    public struct Statistics: Sendable, Hashable {
        /// Watch events received, by type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR).
        public var eventsByType: [String: UInt64] = [:]
        /// Watch streams ended, by reason (closed, error, gone, timeout, forbidden).
        public var restartsByReason: [String: UInt64] = [:]
        /// Completed LISTs.
        public var lists: UInt64 = 0
        /// Changes held back until the gate admitted them (an account gaining a role).
        public var heldChanges: UInt64 = 0
        /// Held changes applied because the gate did not admit them in time.
        public var heldChangesTimedOut: UInt64 = 0
    }

    /// The store kept current.
    public var store: ServiceAccountStore { updates.store }
    private let updates: GatedStoreUpdates
    private let api: ServiceAccountAPI
    private let configuration: Configuration
    private let logger: Logger
    private let counters = LockedValue(Statistics())

    /// An informer filling `store` through `client` (which must not be shared with GETs limited
    /// to small bodies) from the API `api` describes, telling `gate` of accounts it follows.
    public init(
        store: ServiceAccountStore, client: HTTPClient, api: KubernetesAPIConfiguration, configuration: Configuration,
        gate: (any ServiceAccountStoreGate)? = nil, logger: Logger
    ) {
        updates = GatedStoreUpdates(store: store, gate: gate, bound: configuration.gateBound, loop: client.loop)
        self.api = ServiceAccountAPI(client: client, api: api, userAgent: configuration.userAgent, filter: configuration.annotationFilter)
        self.configuration = configuration
        self.logger = logger
    }

    /// A snapshot of the counters.
    public var statistics: Statistics {
        var snapshot = counters.withLock { $0 }
        let gated = updates.statistics
        snapshot.heldChanges = gated.held
        snapshot.heldChangesTimedOut = gated.timedOut
        return snapshot
    }

    /// Starts listing and watching on the client's loop. `onSynced` runs after every completed
    /// LIST (the first makes the webhook ready); `onForbidden` once if the API refuses (403).
    /// Returns the task: cancel it and await it to stop the informer.
    @discardableResult
    public func start(onSynced: @escaping @Sendable () -> Void, onForbidden: @escaping @Sendable (String) -> Void) -> Task<Void, Never> {
        Task(executorPreference: api.client.loop) {
            await self.run(onSynced: onSynced, onForbidden: onForbidden)
            self.api.client.closeIdleConnections()
        }
    }

    private func run(onSynced: @Sendable () -> Void, onForbidden: @Sendable (String) -> Void) async {
        var backoff = ReconnectBackoff()
        var version: String?
        while !Task.isCancelled {
            guard let from = version else {
                do {
                    version = try await list()
                    onSynced()
                } catch let failure as ServiceAccountAPI.Failure where failure.isForbidden {
                    disable(failure.description, onForbidden: onForbidden)
                    return
                } catch {
                    if Task.isCancelled { break }
                    let pause = backoff.next(random: Double.random(in: 0..<1))
                    logger.warning("ServiceAccount LIST failed; retrying", metadata: ["error": "\(error)", "retryIn": .seconds(pause)])
                    try? await api.client.loop.sleep(until: .after(pause))
                }
                continue
            }
            let timeout = configuration.watchTimeout * (1 + Double.random(in: 0..<1))
            let margin = min(max(timeout / 10, .seconds(1)), .seconds(30))
            var delivered = false
            let (last, end) = await api.watch(
                from: from, timeout: timeout, margin: margin, onOpen: { store.setWatching(true) },
                onEvent: { type, event in
                    delivered = true
                    updates.apply(event)
                    counters.withLock { $0.eventsByType[type, default: 0] += 1 }
                })
            store.setWatching(false)
            if Task.isCancelled { break }
            counters.withLock { $0.restartsByReason[end.reason, default: 0] += 1 }
            version = last
            if delivered { backoff.reset() }
            switch end {
            case .closed where delivered:
                logger.debug("ServiceAccount watch ended; resuming", metadata: ["resourceVersion": "\(last)"])
                continue
            case .closed, .timeout, .error:
                let pause = backoff.next(random: Double.random(in: 0..<1))
                logger.warning("ServiceAccount watch interrupted; resuming", metadata: [
                    "reason": "\(end.reason)", "error": "\(end)", "resourceVersion": "\(last)", "retryIn": .seconds(pause),
                ])
                try? await api.client.loop.sleep(until: .after(pause))
            case .gone(let why):
                logger.info("ServiceAccount watch version too old; listing again", metadata: ["error": "\(why)"])
                version = nil
            case .forbidden(let why):
                disable(why, onForbidden: onForbidden)
                return
            }
        }
        logger.info("ServiceAccount informer stopped")
    }

    /// Lists into a new table, swaps it into the store, and returns the version to watch from.
    private func list() async throws -> String {
        let started = Deadline.now()
        let listing = try await api.list(pageSize: configuration.pageSize, pageTimeout: configuration.pageTimeout, collecting: updates.follows)
        let accounts = listing.table.count
        await updates.replace(with: listing.table, resourceVersion: ServiceAccount.orderedVersion(listing.resourceVersion), followed: listing.collected)
        counters.withLock { $0.lists += 1 }
        logger.info("ServiceAccounts listed", metadata: [
            "accounts": .count(accounts), "pages": .count(listing.pages), "resourceVersion": "\(listing.resourceVersion)",
            "seconds": .stringConvertible(Double(Deadline.now().uptimeNanoseconds &- started.uptimeNanoseconds) / 1e9),
        ])
        return listing.resourceVersion
    }

    private func disable(_ why: String, onForbidden: @Sendable (String) -> Void) {
        logger.error("cannot list or watch ServiceAccounts", metadata: ["error": "\(why)"])
        logger.warning("falling back to GET lookups cached for --cache-ttl (the get mode); grant list and watch on serviceaccounts for instant updates")
        onForbidden(why)
    }
}
