import EventLoop
import Testing
@testable import Admission

/// The informer's gate between watch events and the store: a change that gives an account a
/// role waits until the gate admits it, changes behind it wait too (order is kept), nothing waits
/// longer than the bound, and a LIST waits for its accounts before it replaces the store.
@Suite(.serialized) struct GatedStoreUpdatesTests {
    /// A gate the test opens by hand; it follows accounts with a `role` annotation.
    final class ManualGate: ServiceAccountStoreGate {
        struct State {
            var admitted: Set<ServiceAccountKey> = []
            var announced: [ServiceAccountKey] = []
            var stopped: [ServiceAccountKey] = []
            var exactly: [ServiceAccountKey]?
            var admitting: (@Sendable () -> Void)?
        }

        let state = LockedValue(State())

        func follows(_ account: ServiceAccount) -> Bool { account.annotations["role"] != nil }
        func willServe(_ accounts: [ServiceAccountKey]) { state.withLock { $0.announced += accounts } }
        func serves(exactly accounts: [ServiceAccountKey]) { state.withLock { $0.exactly = accounts } }
        func stoppedServing(_ account: ServiceAccountKey) { state.withLock { state in state.stopped.append(account) } }
        func admits(_ account: ServiceAccountKey) -> Bool { state.withLock { $0.admitted.contains(account) } }
        func onAdmitting(_ body: @escaping @Sendable () -> Void) { state.withLock { $0.admitting = body } }

        func admit(_ account: ServiceAccountKey) {
            _ = state.withLock { $0.admitted.insert(account) }
            state.withLock { $0.admitting }?()
        }
    }

    let group = EventLoopGroup(threads: 1)

    static func key(_ name: String) -> ServiceAccountKey { ServiceAccountKey(namespace: "default", name: name) }

    static func upsert(_ name: String, role: Bool, version: UInt64) -> ServiceAccountWatchEvent {
        .upserted(ServiceAccount(namespace: "default", name: name, annotations: role ? ["role": "r"] : [:], resourceVersion: version),
                  resourceVersion: String(version))
    }

    /// Whether the store serves `name` with a role (watching, so the store answers).
    static func servesRole(_ store: ServiceAccountStore, _ name: String) -> Bool? {
        guard case .answer(let account) = store.lookup(key(name)) else { return nil }
        return account?.annotations["role"] != nil
    }

    @Test func aRoleGainWaitsForTheGateAndTheChangesBehindItWaitToo() async throws {
        let store = ServiceAccountStore()
        store.setWatching(true)
        let gate = ManualGate()
        let updates = GatedStoreUpdates(store: store, gate: gate, bound: .seconds(30), loop: group.loops[0])
        updates.apply(Self.upsert("plain", role: false, version: 1))
        #expect(Self.servesRole(store, "plain") == false, "a change without a role applies at once")
        updates.apply(Self.upsert("app", role: true, version: 2))
        updates.apply(Self.upsert("plain", role: true, version: 3))
        updates.apply(Self.upsert("other", role: false, version: 4))
        #expect(gate.state.withLock { $0.announced } == [Self.key("app"), Self.key("plain")], "announced at once, to be written together")
        #expect(Self.servesRole(store, "app") == nil && Self.servesRole(store, "plain") == false && Self.servesRole(store, "other") == nil)
        gate.admit(Self.key("app"))
        #expect(Self.servesRole(store, "app") == true)
        #expect(Self.servesRole(store, "plain") == false, "still waiting for its own admission")
        #expect(Self.servesRole(store, "other") == nil, "behind it")
        gate.admit(Self.key("plain"))
        #expect(Self.servesRole(store, "plain") == true && Self.servesRole(store, "other") == false)
        #expect(updates.statistics.held == 3 && updates.statistics.timedOut == 0)
        #expect(gate.state.withLock { $0.stopped } == [Self.key("plain"), Self.key("other")], "narrowed only after the store applied them")
    }

    @Test func nothingIsHeldLongerThanTheBound() async throws {
        let store = ServiceAccountStore()
        store.setWatching(true)
        let updates = GatedStoreUpdates(store: store, gate: ManualGate(), bound: .milliseconds(200), loop: group.loops[0])
        let started = ContinuousClock.now
        updates.apply(Self.upsert("app", role: true, version: 2))
        while Self.servesRole(store, "app") != true, ContinuousClock.now - started < .seconds(10) { try await Task.sleep(for: .milliseconds(5)) }
        let waited = ContinuousClock.now - started
        #expect(Self.servesRole(store, "app") == true)
        #expect(waited >= .milliseconds(200) && waited < .seconds(5), "served after \(waited) (a loaded machine may be late, never early)")
        #expect(updates.statistics.timedOut == 1)
    }

    @Test func aListWaitsForItsAccountsThenReplacesTheStoreAndNarrows() async throws {
        let store = ServiceAccountStore()
        let gate = ManualGate()
        let updates = GatedStoreUpdates(store: store, gate: gate, bound: .seconds(30), loop: group.loops[0])
        var table = ServiceAccountStore.Table()
        table.add(ServiceAccount(namespace: "default", name: "app", annotations: ["role": "r"], resourceVersion: 5))
        let replaced = Task { await updates.replace(with: table, resourceVersion: 5, followed: [Self.key("app")]) }
        try await Task.sleep(for: .milliseconds(100))
        #expect(store.statistics.entries == 0, "held until the gate admits app")
        #expect(gate.state.withLock { $0.announced } == [Self.key("app")])
        gate.admit(Self.key("app"))
        await replaced.value
        #expect(store.statistics.entries == 1)
        #expect(gate.state.withLock { $0.exactly } == [Self.key("app")])
    }

    @Test func withoutAGateEverythingAppliesAtOnce() async throws {
        let store = ServiceAccountStore()
        store.setWatching(true)
        let updates = GatedStoreUpdates(store: store, gate: nil, bound: .seconds(30), loop: group.loops[0])
        updates.apply(Self.upsert("app", role: true, version: 2))
        #expect(Self.servesRole(store, "app") == true)
    }
}
