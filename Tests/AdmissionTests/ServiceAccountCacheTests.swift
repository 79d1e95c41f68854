import EventLoop
import Testing
@testable import Admission

private let appKey = ServiceAccountKey(namespace: "default", name: "app")
private func account(_ name: String, role: String = "arn:aws:iam::1:role/app") -> ServiceAccount {
    ServiceAccount(namespace: "default", name: name, annotations: ["vultr.com/role-arn": role])
}

@Suite struct ServiceAccountCacheTests {
    let clock = ManualClock()

    func makeCache(
        _ upstream: any ServiceAccountSource,
        capacity: Int = 16,
        staleWhileRevalidate: Duration = .zero,
        staleIfError: Duration = .seconds(300),
        executor: (any SerialExecutor)? = nil
    ) -> ServiceAccountCache {
        ServiceAccountCache(
            upstream: upstream,
            configuration: .init(
                capacity: capacity, timeToLive: .seconds(60), negativeTimeToLive: .seconds(2),
                staleWhileRevalidate: staleWhileRevalidate, staleIfError: staleIfError),
            executor: executor,
            now: clock.function)
    }

    @Test func servesFromCacheUntilTheTTLPasses() async throws {
        let upstream = ScriptedServiceAccountSource([account("app")])
        let cache = makeCache(upstream)
        #expect(try await cache.serviceAccount(appKey) == account("app"))
        clock.advance(by: .seconds(59))
        upstream.set(account("app", role: "changed"))
        #expect(try await cache.serviceAccount(appKey) == account("app"))
        #expect(upstream.calls == 1)
        clock.advance(by: .seconds(1))
        #expect(try await cache.serviceAccount(appKey) == account("app", role: "changed"))
        #expect(upstream.calls == 2)
        let statistics = await cache.statistics
        #expect(statistics.hits == 1 && statistics.misses == 2 && statistics.entries == 1)
    }

    @Test func remembersNotFoundForTheShortNegativeTTL() async throws {
        let upstream = ScriptedServiceAccountSource()
        let cache = makeCache(upstream)
        #expect(try await cache.serviceAccount(appKey) == nil)
        upstream.set(account("app"))
        clock.advance(by: .milliseconds(1999))
        #expect(try await cache.serviceAccount(appKey) == nil)
        #expect(upstream.calls == 1)
        clock.advance(by: .milliseconds(1))
        #expect(try await cache.serviceAccount(appKey) == account("app"))
        #expect(upstream.calls == 2)
    }

    @Test func evictsTheLeastRecentlyUsedEntryBeyondCapacity() async throws {
        let upstream = ScriptedServiceAccountSource([account("a"), account("b"), account("c"), account("d")])
        let cache = makeCache(upstream, capacity: 3)
        let (a, b, c, d) = (account("a").key, account("b").key, account("c").key, account("d").key)
        for key in [a, b, c] { _ = try await cache.serviceAccount(key) }
        _ = try await cache.serviceAccount(a)  // b is now the least recently used
        _ = try await cache.serviceAccount(d)  // evicts b
        #expect(upstream.calls == 4)
        for key in [a, c, d] { _ = try await cache.serviceAccount(key) }
        #expect(upstream.calls == 4)
        #expect(try await cache.serviceAccount(b) == account("b"))  // evicted: fetched again, evicts a
        #expect(upstream.calls == 5)
        let statistics = await cache.statistics
        #expect(statistics.evictions == 2 && statistics.entries == 3)
    }

    @Test func lruTableKeepsRecencyOrderAcrossManyOperations() {
        var table = ServiceAccountCache.Table(capacity: 4)
        var model: [String] = []  // most recent last
        func entry() -> ServiceAccountCache.Entry { .init(account: nil, storedAt: Deadline(uptimeNanoseconds: 0), refreshing: false) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let name = "sa-\(Int.random(in: 0..<7, using: &generator))"
            let key = ServiceAccountKey(namespace: "ns", name: name)
            if Bool.random(using: &generator) {
                let found = table.use(key) != nil
                #expect(found == model.contains(name))
                if found { model.removeAll { $0 == name }; model.append(name) }
            } else {
                let evicted = table.store(entry(), for: key)
                let wasPresent = model.contains(name)
                model.removeAll { $0 == name }
                model.append(name)
                let modelEvicts = !wasPresent && model.count > 4
                if modelEvicts { model.removeFirst() }
                #expect(evicted == modelEvicts)
            }
            #expect(table.count == model.count)
        }
    }

    @Test func fiveHundredConcurrentMissesMakeOneUpstreamRequest() async throws {
        let upstream = ScriptedServiceAccountSource([account("app")])
        upstream.close()
        let coalescer = ServiceAccountFetchCoalescer(upstream: upstream)
        let cache = makeCache(coalescer)
        try await withThrowingTaskGroup(of: ServiceAccount?.self) { group in
            for _ in 0..<500 { group.addTask { try await cache.serviceAccount(appKey) } }
            #expect(await eventually { coalescer.statistics.coalescedWaiters == 499 })
            upstream.open()
            for try await found in group { #expect(found == account("app")) }
        }
        #expect(upstream.calls == 1)
        let statistics = await cache.statistics
        #expect(statistics.misses == 500 && statistics.coalescedWaiters == 499)
    }

    @Test func cachesPinnedToTwoEventLoopsShareOneUpstreamRequest() async throws {
        let upstream = ScriptedServiceAccountSource([account("app")])
        upstream.close()
        let coalescer = ServiceAccountFetchCoalescer(upstream: upstream)
        let group = EventLoopGroup(threads: 2)
        defer { group.shutdown() }
        let caches = group.loops.map { makeCache(coalescer, executor: $0) }
        try await withThrowingTaskGroup(of: ServiceAccount?.self) { tasks in
            for index in 0..<500 {
                let (loop, cache) = (group.loops[index % 2], caches[index % 2])
                tasks.addTask(executorPreference: loop) {
                    cache.preconditionIsolated("the cache runs on its loop: no hop from a task on that loop")
                    return try await cache.serviceAccount(appKey)
                }
            }
            #expect(await eventually { coalescer.statistics.coalescedWaiters == 499 })
            upstream.open()
            for try await found in tasks { #expect(found == account("app")) }
        }
        #expect(upstream.calls == 1)
        #expect(coalescer.statistics == .init(upstreamRequests: 1, upstreamErrors: 0, coalescedWaiters: 499))
        for cache in caches { #expect(await cache.statistics.misses == 250) }
        // Both caches now answer from their own table.
        for cache in caches { #expect(try await cache.serviceAccount(appKey) == account("app")) }
        #expect(upstream.calls == 1)
    }

    @Test func servesStaleWhileOneBackgroundRefreshRuns() async throws {
        let upstream = ScriptedServiceAccountSource([account("app")])
        let cache = makeCache(upstream, staleWhileRevalidate: .seconds(60))
        _ = try await cache.serviceAccount(appKey)
        upstream.set(account("app", role: "new"))
        upstream.close()
        clock.advance(by: .seconds(90))
        for _ in 0..<20 { #expect(try await cache.serviceAccount(appKey) == account("app")) }
        #expect(await eventually { upstream.calls == 2 })
        #expect(await cache.statistics.backgroundRefreshes == 1)
        upstream.open()
        #expect(await eventually { (try? await cache.serviceAccount(appKey)) == account("app", role: "new") })
        #expect(upstream.calls == 2)
        let statistics = await cache.statistics
        #expect(statistics.staleHits >= 20 && statistics.misses == 1)
    }

    @Test func staleWindowEndsInAMiss() async throws {
        let upstream = ScriptedServiceAccountSource([account("app")])
        let cache = makeCache(upstream, staleWhileRevalidate: .seconds(60))
        _ = try await cache.serviceAccount(appKey)
        upstream.set(account("app", role: "new"))
        clock.advance(by: .seconds(120))
        #expect(try await cache.serviceAccount(appKey) == account("app", role: "new"))
        #expect(await cache.statistics.staleHits == 0)
    }

    @Test func errorsReachEveryWaiterWhenNothingIsCached() async throws {
        let upstream = ScriptedServiceAccountSource()
        upstream.setFailing(true)
        upstream.close()
        let coalescer = ServiceAccountFetchCoalescer(upstream: upstream)
        let cache = makeCache(coalescer)
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    do { _ = try await cache.serviceAccount(appKey); return false } catch { return error is ScriptedServiceAccountSource.Failure }
                }
            }
            #expect(await eventually { coalescer.statistics.coalescedWaiters == 49 })
            upstream.open()
            for await failedWithUpstreamError in group { #expect(failedWithUpstreamError) }
        }
        #expect(upstream.calls == 1)
        #expect(await cache.statistics.upstreamErrors == 1)
        // Errors are not cached: the next lookup asks again.
        upstream.setFailing(false)
        upstream.set(account("app"))
        #expect(try await cache.serviceAccount(appKey) == account("app"))
    }

    @Test func servesStaleWhileTheUpstreamIsDownWithinStaleIfError() async throws {
        let upstream = ScriptedServiceAccountSource([account("app")])
        let cache = makeCache(upstream, staleIfError: .seconds(300))
        _ = try await cache.serviceAccount(appKey)
        upstream.setFailing(true)
        clock.advance(by: .seconds(359))
        #expect(try await cache.serviceAccount(appKey) == account("app"))
        #expect(await cache.statistics.staleServedOnError == 1)
        clock.advance(by: .seconds(1))
        await #expect(throws: ScriptedServiceAccountSource.Failure.self) { try await cache.serviceAccount(appKey) }
    }

    /// Regression: with one cache per event loop, an account cached by one loop was not served by
    /// the others while the API was down (their pods were admitted without the role).
    @Test func servesAnotherCachesEntryWhenTheUpstreamIsDown() async throws {
        let upstream = ScriptedServiceAccountSource([account("app")])
        let coalescer = ServiceAccountFetchCoalescer(upstream: upstream)
        let (first, second) = (makeCache(coalescer, staleIfError: .seconds(300)), makeCache(coalescer, staleIfError: .seconds(300)))
        _ = try await first.serviceAccount(appKey)
        upstream.setFailing(true)
        clock.advance(by: .seconds(359))
        #expect(try await second.serviceAccount(appKey) == account("app"))
        let statistics = await second.statistics
        #expect(statistics.staleServedOnError == 1 && statistics.entries == 1)
        // Kept with the first cache's age: served again without asking the other cache, and only as long as there.
        #expect(try await second.serviceAccount(appKey) == account("app"))
        clock.advance(by: .seconds(1))
        await #expect(throws: ScriptedServiceAccountSource.Failure.self) { try await second.serviceAccount(appKey) }
        #expect(upstream.calls == 4)
    }

    @Test func failedBackgroundRefreshIsRetriedByALaterLookup() async throws {
        let upstream = ScriptedServiceAccountSource([account("app")])
        let cache = makeCache(upstream, staleWhileRevalidate: .seconds(60))
        _ = try await cache.serviceAccount(appKey)
        upstream.setFailing(true)
        clock.advance(by: .seconds(70))
        #expect(try await cache.serviceAccount(appKey) == account("app"))
        #expect(await eventually { await cache.statistics.upstreamErrors == 1 })
        upstream.setFailing(false)
        upstream.set(account("app", role: "new"))
        #expect(try await cache.serviceAccount(appKey) == account("app"))  // stale, second refresh starts
        #expect(await eventually { (try? await cache.serviceAccount(appKey)) == account("app", role: "new") })
        #expect(await cache.statistics.backgroundRefreshes == 2)
    }
}
