import EventLoop
import Testing
import TestKubernetesAPI
@testable import Admission

private func account(_ name: String, role: String? = "arn:aws:iam::1:role/app", version: UInt64) -> ServiceAccount {
    ServiceAccount(namespace: "default", name: name, annotations: role.map { ["vultr.com/role-arn": $0] } ?? [:], resourceVersion: version)
}

private func key(_ name: String) -> ServiceAccountKey { ServiceAccountKey(namespace: "default", name: name) }

extension ServiceAccountStore.Lookup {
    /// The answer, or nil when the lookup must GET.
    var answer: ServiceAccount?? {
        if case .answer(let account) = self { return .some(account) }
        return nil
    }

    /// The fallback of a lookup that must GET.
    var fallback: ServiceAccount?? {
        if case .fetch(let fallback) = self { return fallback }
        return nil
    }

    /// Whether the lookup must GET with nothing to serve if the GET fails.
    var fetchesWithoutFallback: Bool {
        if case .fetch(.none) = self { return true }
        return false
    }
}

@Suite struct ServiceAccountStoreTests {
    let clock = ManualClock()

    func makeSyncedStore(_ accounts: [ServiceAccount], listedAt version: UInt64 = 100) -> ServiceAccountStore {
        let store = ServiceAccountStore(configuration: .init(timeToLive: .seconds(60), negativeTimeToLive: .seconds(2), staleIfError: .seconds(300)), now: clock.function)
        var table = ServiceAccountStore.Table()
        for account in accounts { table.add(account) }
        store.replace(with: table, resourceVersion: version)
        store.setWatching(true)
        return store
    }

    @Test func answersListedAccountsAndAsksToFetchUnknownOnes() {
        let store = ServiceAccountStore()
        #expect(store.lookup(key("app")).fetchesWithoutFallback)
        #expect(store.statistics.secondsSinceConfirmed == nil)
        let synced = makeSyncedStore([account("app", version: 5), account("default", role: nil, version: 6)])
        #expect(synced.lookup(key("app")).answer == .some(account("app", version: 5)))
        #expect(synced.lookup(key("default")).answer == .some(account("default", role: nil, version: 6)))
        #expect(synced.lookup(key("new")).fetchesWithoutFallback)
        #expect(synced.statistics.storeLookups == 2 && synced.statistics.entries == 2 && synced.statistics.secondsSinceConfirmed == 0)
    }

    @Test func watchEventsChangeAndDeleteEntries() {
        let store = makeSyncedStore([account("app", version: 5)])
        store.apply(.upserted(account("app", role: "changed", version: 7), resourceVersion: "7"))
        #expect(store.lookup(key("app")).answer == .some(account("app", role: "changed", version: 7)))
        store.apply(.deleted(account("app", role: "changed", version: 8), resourceVersion: "8"))
        #expect(store.lookup(key("app")).answer == .some(nil))
        #expect(store.statistics.entries == 0)
    }

    @Test func aGETAnswerNeverReplacesANewerWatchEvent() {
        let store = makeSyncedStore([])
        let startedAt = clock.now
        store.apply(.upserted(account("app", role: "from-watch", version: 12), resourceVersion: "12"))
        #expect(store.keepFetched(account("app", role: "from-get", version: 11), for: key("app"), startedAt: startedAt)
            == account("app", role: "from-watch", version: 12))
        #expect(store.keepFetched(nil, for: key("app"), startedAt: startedAt) == account("app", role: "from-watch", version: 12))
        #expect(store.lookup(key("app")).answer == .some(account("app", role: "from-watch", version: 12)))

        store.apply(.deleted(account("app", version: 13), resourceVersion: "13"))
        #expect(store.keepFetched(account("app", role: "from-get", version: 12), for: key("app"), startedAt: startedAt) == nil)
        #expect(store.lookup(key("app")).answer == .some(nil))

        #expect(store.keepFetched(account("app", role: "recreated", version: 14), for: key("app"), startedAt: startedAt)
            == account("app", role: "recreated", version: 14))
        #expect(store.lookup(key("app")).answer == .some(account("app", role: "recreated", version: 14)))
    }

    @Test func keepsAFetchedAccountUntilTheWatchDeliversIt() {
        let store = makeSyncedStore([])
        _ = store.keepFetched(account("new", version: 101), for: key("new"), startedAt: clock.now)
        clock.advance(by: .seconds(600))
        #expect(store.lookup(key("new")).answer == .some(account("new", version: 101)))
        store.apply(.upserted(account("new", role: "r2", version: 102), resourceVersion: "102"))
        #expect(store.lookup(key("new")).answer == .some(account("new", role: "r2", version: 102)))
    }

    @Test func whileTheWatchIsDownEntriesAreServedStaleForTheTTLThenFetched() {
        let store = makeSyncedStore([account("app", version: 5)])
        store.setWatching(false)
        clock.advance(by: .seconds(59))
        #expect(store.lookup(key("app")).answer == .some(account("app", version: 5)))
        #expect(store.statistics.staleLookups == 1)
        #expect(store.statistics.secondsSinceConfirmed == 59)
        clock.advance(by: .seconds(1))
        #expect(store.lookup(key("app")).fallback == .some(account("app", version: 5)))
        clock.advance(by: .seconds(300))
        #expect(store.lookup(key("app")).fetchesWithoutFallback)
        _ = store.keepFetched(account("app", role: "fetched", version: 9), for: key("app"), startedAt: clock.now)
        clock.advance(by: .seconds(59))
        #expect(store.lookup(key("app")).answer == .some(account("app", role: "fetched", version: 9)))
        #expect(store.statistics.fetchedLookups == 1 && store.statistics.staleLookups == 1)
    }

    @Test func aRelistDropsAccountsDeletedWhileDisconnectedAndKeepsNewerFetchedOnes() {
        let store = makeSyncedStore([account("gone", version: 5), account("kept", version: 6)])
        store.setWatching(false)
        _ = store.keepFetched(account("created", version: 250), for: key("created"), startedAt: clock.now)
        _ = store.keepFetched(account("old", version: 150), for: key("old"), startedAt: clock.now)
        var table = ServiceAccountStore.Table()
        table.add(account("kept", version: 6))
        store.replace(with: table, resourceVersion: 200)
        store.setWatching(true)
        #expect(store.lookup(key("gone")).fetchesWithoutFallback)
        #expect(store.lookup(key("kept")).answer == .some(account("kept", version: 6)))
        #expect(store.lookup(key("created")).answer == .some(account("created", version: 250)))
        #expect(store.lookup(key("old")).fetchesWithoutFallback)
    }

    @Test func theSourceFetchesMissesOnceThroughTheCoalescerAndServesHitsFromTheStore() async throws {
        let api = try FakeKubernetesAPI(accounts: [ServiceAccount(namespace: "default", name: "new", annotations: ["vultr.com/role-arn": "r"])])
        let group = EventLoopGroup(threads: 1)
        defer { withExtendedLifetime(group) {} }
        let client = try KubernetesClient(api: api.configuration, loop: group.loops[0])
        let store = makeSyncedStore([account("app", version: 5)])
        let source = StoreServiceAccountSource(store: store, fetcher: ServiceAccountFetchCoalescer(upstream: client), now: clock.function)

        let answers = try await withThrowingTaskGroup(of: ServiceAccount?.self) { group in
            for _ in 0..<500 { group.addTask { try await source.serviceAccount(key("new")) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.count == 500 && answers.allSatisfy { $0?.annotations == ["vultr.com/role-arn": "r"] })
        #expect(api.requests.filter { $0.contains("/serviceaccounts/new") }.count == 1)
        #expect(try await source.serviceAccount(key("new"))?.annotations == ["vultr.com/role-arn": "r"])
        #expect(try await source.serviceAccount(key("app")) == account("app", version: 5))
        #expect(try await source.serviceAccount(key("missing")) == nil)
        #expect(api.requests.count == 2)
    }

    /// The synchronous answer the admission path asks first: a hit, a known deletion, and nil
    /// (ask the async lookup) for an account the store cannot answer, which it does not fetch.
    @Test func theStoredAnswerServesHitsAndLeavesMissesToTheAsyncLookup() throws {
        let store = makeSyncedStore([account("app", version: 5), account("gone", version: 6)])
        store.apply(.deleted(account("gone", version: 7), resourceVersion: "7"))
        let upstream = StaticServiceAccountSource([account("new", version: 8)])
        let source = StoreServiceAccountSource(store: store, fetcher: ServiceAccountFetchCoalescer(upstream: upstream), now: clock.function)
        #expect(source.storedServiceAccount(key("app")) == .some(account("app", version: 5)))
        #expect(source.storedServiceAccount(key("gone")) == .some(nil))
        #expect(source.storedServiceAccount(key("new")) == nil)
        store.setWatching(false)
        clock.advance(by: .seconds(61))
        #expect(source.storedServiceAccount(key("app")) == nil, "an entry past its time to live is the async lookup's to refresh")
    }

    /// The open-addressed table against a dictionary: random inserts, updates and removals of
    /// keys short and long (the hash's three paths: under 4, 4 to 16 and over 16 bytes), with
    /// enough removals that the slots after a removed one shift back across the table's end.
    @Test func theTableAgreesWithADictionaryThroughInsertsUpdatesAndRemovals() {
        var generator = SeededGenerator(seed: 11)
        let names = (0..<3_000).map { index in
            switch index % 3 {
            case 0: "s\(index % 97)"
            case 1: "app-\(index)"
            default: "a-rather-long-service-account-name-\(index)"
            }
        }
        let keys = names.enumerated().map { ServiceAccountKey(namespace: "team-\($0.offset % 7)", name: $0.element) }
        var table = ServiceAccountStore.Table()
        var model: [ServiceAccountKey: UInt64] = [:]
        for step in 0..<40_000 {
            let key = keys[Int.random(in: 0..<keys.count, using: &generator)]
            if Int.random(in: 0..<3, using: &generator) == 0 {
                table.remove(key)
                model[key] = nil
            } else {
                let entry = ServiceAccountStore.Entry(annotations: [:], resourceVersion: UInt64(step + 1), fetchedAt: 0, exists: true, fetched: false)
                table.upsert(key, entry)
                model[key] = UInt64(step + 1)
            }
            if step % 4_000 == 0 || step == 39_999 {
                #expect(table.count == model.count)
                for key in keys {
                    #expect(table.entry(key)?.resourceVersion == model[key], "\(key) after step \(step)")
                }
            }
        }
        for key in keys { table.remove(key) }
        #expect(table.count == 0 && keys.allSatisfy { table.entry($0) == nil })
    }

    @Test func keysDifferingOnlyWhereNamespaceEndsAndNameBeginsAreDistinct() {
        var table = ServiceAccountStore.Table()
        table.add(ServiceAccount(namespace: "ab", name: "c", resourceVersion: 1))
        table.add(ServiceAccount(namespace: "a", name: "bc", resourceVersion: 2))
        #expect(table.entry(ServiceAccountKey(namespace: "ab", name: "c"))?.resourceVersion == 1)
        #expect(table.entry(ServiceAccountKey(namespace: "a", name: "bc"))?.resourceVersion == 2)
        #expect(ServiceAccountKeyHash.hash(ServiceAccountKey(namespace: "ab", name: "c"), seed: 1)
            != ServiceAccountKeyHash.hash(ServiceAccountKey(namespace: "a", name: "bc"), seed: 1))
    }

    /// Every byte of a name of 1 to 40 bytes reaches the hash (the short-name paths read each byte
    /// range once, split at byte 8), in small strings and in heap-allocated ones.
    @Test func everyByteOfANameChangesItsHash() {
        for length in 1...40 {
            let name = String(repeating: "a", count: length)
            let base = ServiceAccountKeyHash.hash(ServiceAccountKey(namespace: "ns", name: name), seed: 7)
            for position in 0..<length {
                var bytes = Array(name.utf8)
                bytes[position] = UInt8(ascii: "b")
                let changed = String(decoding: bytes, as: UTF8.self)
                #expect(ServiceAccountKeyHash.hash(ServiceAccountKey(namespace: "ns", name: changed), seed: 7) != base,
                        "byte \(position) of a \(length)-byte name")
            }
        }
    }
}
