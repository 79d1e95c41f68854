import Synchronization

/// Counters every connection bumps as it goes, read once a second for the progress line.
final class LiveCounters: Sendable {
    let completed = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    /// Set when the run should end (duration or request budget reached, or a fatal error).
    let stopping = Atomic<Bool>(false)
    /// Requests handed out so far (for `--requests`).
    let issued = Atomic<Int>(0)
    /// Set once the server answered with `Connection: close` or closed a connection between
    /// requests: from then on a refused reconnect may mean that it stopped listening.
    let serverClosing = Atomic<Bool>(false)

    init() {}

    /// Whether `serverClosing` is set, or gets set within `timeout` (before the run stops).
    func awaitServerClosing(within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !serverClosing.load(ordering: .relaxed) {
            if ContinuousClock.now >= deadline || stopping.load(ordering: .relaxed) { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Takes one request from a budget of `limit` (nil: unlimited); false when the budget is spent.
    func takeRequest(limit: Int?) -> Bool {
        if stopping.load(ordering: .relaxed) { return false }
        guard let limit else { return true }
        return issued.wrappingAdd(1, ordering: .relaxed).oldValue < limit
    }
}
