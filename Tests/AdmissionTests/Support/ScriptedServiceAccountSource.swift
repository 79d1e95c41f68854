import Admission
import EventLoop

/// A `ServiceAccountSource` for cache unit tests: answers from a table (or fails), counts calls,
/// and can hold every call until `open()` so concurrent callers really overlap.
final class ScriptedServiceAccountSource: ServiceAccountSource {
    struct Failure: Error, Equatable {}

    private struct State {
        var accounts: [ServiceAccountKey: ServiceAccount] = [:]
        var failing = false
        var gated = false
        var parked: [CheckedContinuation<Void, Never>] = []
        var calls = 0
    }

    private let state = LockedValue(State())

    init(_ accounts: [ServiceAccount] = []) {
        state.withLock { state in
            for account in accounts { state.accounts[account.key] = account }
        }
    }

    var calls: Int { state.withLock { $0.calls } }

    func set(_ account: ServiceAccount) { state.withLock { $0.accounts[account.key] = account } }
    func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }
    /// Calls from now on wait until `open()`.
    func close() { state.withLock { $0.gated = true } }
    /// Releases waiting calls and lets new ones through.
    func open() {
        let parked = state.withLock { state in
            state.gated = false
            defer { state.parked = [] }
            return state.parked
        }
        for continuation in parked { continuation.resume() }
    }

    func serviceAccount(_ key: ServiceAccountKey) async throws -> ServiceAccount? {
        await withCheckedContinuation { continuation in
            let wait = state.withLock { state -> Bool in
                state.calls += 1
                if state.gated { state.parked.append(continuation) }
                return state.gated
            }
            if !wait { continuation.resume() }
        }
        let (failing, account) = state.withLock { ($0.failing, $0.accounts[key]) }
        if failing { throw Failure() }
        return account
    }
}

/// A clock that moves only when told.
final class ManualClock: Sendable {
    private let current = LockedValue(Deadline(uptimeNanoseconds: 1_000_000_000))

    var now: Deadline { current.withLock { $0 } }

    func advance(by duration: Duration) {
        current.withLock { $0 = $0 + duration }
    }

    /// The closure `ServiceAccountCache` takes.
    var function: @Sendable () -> Deadline { { [self] in self.now } }
}

/// Polls `condition` every millisecond until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return await condition()
}
