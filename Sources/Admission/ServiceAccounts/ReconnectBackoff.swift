/// Pauses between reconnection attempts: exponential from `initial` up to `maximum`, each drawn
/// at random from its upper half (jitter, so many webhooks do not reconnect in step).
struct ReconnectBackoff {
    let initial: Duration
    let maximum: Duration
    private var attempts = 0

    init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The pause before the next attempt; `random` is in 0..<1.
    mutating func next(random: Double) -> Duration {
        let ceiling = min(initial * (1 << min(attempts, 20)), maximum)
        attempts += 1
        return ceiling * (0.5 + random / 2)
    }

    /// After a success: the next pause starts from `initial` again.
    mutating func reset() {
        attempts = 0
    }
}
