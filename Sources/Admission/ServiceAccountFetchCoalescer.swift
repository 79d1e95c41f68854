import EventLoop

/// A `ServiceAccountSource` that merges concurrent lookups of the same key into one upstream request.
///
/// The first caller for a key (the leader) asks the upstream source in its own task, so the fetch
/// keeps that task's executor preference (the event loop its HTTP connection belongs to). Callers
/// arriving while the fetch runs suspend on a continuation and receive the leader's answer or
/// error. The in-flight table is guarded by a lock, so one coalescer can be shared by several
/// `ServiceAccountCache`s pinned to different event loops: 500 concurrent misses spread over two
/// loops still cost one upstream request.
///
/// A waiter stays suspended until the leader's fetch finishes even if the waiter's task is
/// cancelled; the upstream source bounds that time (the Kubernetes client's request timeout).
/// If the leader's task is cancelled, its waiters receive the same `CancellationError`.
public final class ServiceAccountFetchCoalescer: ServiceAccountSource {
    /// Counters for metrics.
    public struct Statistics: Sendable, Hashable {
        /// Requests sent to the upstream source.
        public var upstreamRequests: UInt64 = 0
        /// Requests that failed.
        public var upstreamErrors: UInt64 = 0
        /// Callers that joined a fetch already in flight instead of starting one.
        public var coalescedWaiters: UInt64 = 0
    }

    /// How a call took part in a fetch.
    enum Participation {
        /// It started the upstream request.
        case led
        /// It waited for another caller's request.
        case joined
    }

    private enum Turn {
        case lead
        case answered(Result<ServiceAccount?, any Error>)
    }

    private struct State {
        var waitersByKey: [ServiceAccountKey: [CheckedContinuation<Turn, Never>]] = [:]
        var statistics = Statistics()
    }

    /// A cache that fetches through this coalescer, held weakly (caches hold the coalescer).
    private struct Member {
        weak var cache: ServiceAccountCache?
    }

    private let upstream: any ServiceAccountSource
    private let state = LockedValue(State())
    private let members = LockedValue<[Member]>([])

    /// Coalesces lookups sent to `upstream`.
    public init(upstream: any ServiceAccountSource) {
        self.upstream = upstream
    }

    /// A snapshot of the counters.
    public var statistics: Statistics {
        state.withLock { $0.statistics }
    }

    /// Records `cache` as fetching through this coalescer (see `caches`).
    func register(_ cache: ServiceAccountCache) {
        members.withLock { members in
            members.removeAll { $0.cache == nil }
            members.append(Member(cache: cache))
        }
    }

    /// The caches fetching through this coalescer (one per event loop in the webhook): a cache
    /// whose fetch failed asks the others for an entry it may serve instead.
    var caches: [ServiceAccountCache] {
        members.withLock { $0.compactMap(\.cache) }
    }

    public func serviceAccount(_ key: ServiceAccountKey) async throws -> ServiceAccount? {
        try await fetch(key).result.get()
    }

    /// The upstream answer for `key`, and whether this call led the fetch or joined one.
    ///
    /// A store that keeps answers passes two hooks, so that a caller who missed the store just
    /// before the previous fetch's answer was kept does not fetch again: the leader asks
    /// `answeredMeanwhile` before it fetches, and `publish`es its result before the next caller can
    /// lead.
    func fetch(
        _ key: ServiceAccountKey,
        answeredMeanwhile: () -> ServiceAccount?? = { nil },
        publish: (Result<ServiceAccount?, any Error>) -> Void = { _ in }
    ) async -> (result: Result<ServiceAccount?, any Error>, participation: Participation) {
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let leads = state.withLock { state -> Bool in
                if state.waitersByKey[key] != nil {
                    state.waitersByKey[key]!.append(continuation)
                    state.statistics.coalescedWaiters += 1
                    return false
                }
                state.waitersByKey[key] = []
                return true
            }
            if leads { continuation.resume(returning: .lead) }
        }
        if case .answered(let result) = turn { return (result, .joined) }

        let result: Result<ServiceAccount?, any Error>
        if let answer = answeredMeanwhile() {
            result = .success(answer)
        } else {
            state.withLock { $0.statistics.upstreamRequests += 1 }
            do {
                result = .success(try await upstream.serviceAccount(key))
            } catch {
                result = .failure(error)
            }
            publish(result)
        }
        let waiters = state.withLock { state in
            if case .failure = result { state.statistics.upstreamErrors += 1 }
            return state.waitersByKey.removeValue(forKey: key) ?? []
        }
        for waiter in waiters { waiter.resume(returning: .answered(result)) }
        return (result, .led)
    }
}
