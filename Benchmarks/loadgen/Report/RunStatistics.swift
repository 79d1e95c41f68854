import Histogram

/// What one connection (or a whole run, once merged) measured after warm-up.
struct RunStatistics: Sendable {
    /// Latency per successful request, in nanoseconds (1 µs to 60 s, 3 significant digits).
    var latency = Histogram<UInt64>(lowestDiscernibleValue: 1_000, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    var succeeded = 0
    var failures: [FailureKind: Int] = [:]
    var bytesSent = 0
    var bytesReceived = 0
    /// Opens, closes and refusals over the whole run (warm-up included): none is a failure.
    var connectionEvents = ConnectionEvents()

    var failed: Int { failures.values.reduce(0, +) }

    /// Records a successful request that took `nanoseconds`.
    mutating func recordSuccess(nanoseconds: UInt64) {
        succeeded += 1
        _ = latency.record(min(max(nanoseconds, 1_000), 60_000_000_000))
    }

    mutating func recordFailure(_ kind: FailureKind) {
        failures[kind, default: 0] += 1
    }

    /// Adds `other`'s counts to these.
    mutating func merge(_ other: RunStatistics) {
        latency.add(other.latency)
        succeeded += other.succeeded
        failures.merge(other.failures, uniquingKeysWith: +)
        bytesSent += other.bytesSent
        bytesReceived += other.bytesReceived
        connectionEvents.merge(other.connectionEvents)
    }
}
