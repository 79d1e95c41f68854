/// The three durations of Lease-based leader election, with client-go's meaning and defaults.
///
/// - `leaseDuration` (15 s): written to the Lease as `leaseDurationSeconds`; a candidate takes
///   the Lease over when its record has not changed for this long by the candidate's own clock.
/// - `renewDeadline` (10 s): the leader stops acting as leader when it has not renewed for this
///   long (counted from the moment it sent its last successful renewal), which is before any
///   candidate can see the Lease expire. The difference is the margin for clock rate skew and
///   for the leader's work to notice that it was cancelled.
/// - `retryPeriod` (2 s): the pause between renewals, and between a candidate's attempts (with
///   up to 120 % random jitter, as client-go's `JitterFactor`).
public struct LeaseTiming: Sendable, Hashable {
    /// A combination the election cannot work with; the message says which rule it breaks.
    public struct Invalid: Error, Hashable, CustomStringConvertible {
        public let description: String
    }

    /// client-go's jitter factor: a candidate waits `retryPeriod` times 1 to 2.2.
    static let jitterFactor = 1.2

    public let leaseDuration: Duration
    public let renewDeadline: Duration
    public let retryPeriod: Duration

    /// 15 s, 10 s and 2 s, as Kubernetes' own controllers use.
    public static let standard = LeaseTiming(uncheckedLeaseDuration: .seconds(15), renewDeadline: .seconds(10), retryPeriod: .seconds(2))

    /// Validated timings, as client-go requires them: `leaseDuration` a whole number of seconds
    /// (the Lease stores seconds) and longer than `renewDeadline`, which is longer than
    /// `retryPeriod` with its jitter (1.2 times); all positive.
    public init(leaseDuration: Duration, renewDeadline: Duration, retryPeriod: Duration) throws(Invalid) {
        guard retryPeriod > .zero else { throw Invalid(description: "the retry period must be positive") }
        guard leaseDuration >= .seconds(1), leaseDuration.components.attoseconds == 0 else {
            throw Invalid(description: "the lease duration must be a whole number of seconds, at least 1 (it is \(leaseDuration))")
        }
        guard leaseDuration > renewDeadline else {
            throw Invalid(description: "the lease duration (\(leaseDuration)) must be longer than the renew deadline (\(renewDeadline))")
        }
        guard renewDeadline > retryPeriod * Self.jitterFactor else {
            throw Invalid(description: "the renew deadline (\(renewDeadline)) must be longer than 1.2 times the retry period (\(retryPeriod))")
        }
        self.init(uncheckedLeaseDuration: leaseDuration, renewDeadline: renewDeadline, retryPeriod: retryPeriod)
    }

    private init(uncheckedLeaseDuration: Duration, renewDeadline: Duration, retryPeriod: Duration) {
        self.leaseDuration = uncheckedLeaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
    }

    /// `leaseDurationSeconds` of the records written.
    var leaseDurationSeconds: Int { Int(leaseDuration.components.seconds) }

    /// The pause before a candidate's next attempt, given a random value in [0, 1).
    func candidatePause(random: Double) -> Duration {
        retryPeriod * (1 + Self.jitterFactor * min(max(random, 0), 1))
    }
}
