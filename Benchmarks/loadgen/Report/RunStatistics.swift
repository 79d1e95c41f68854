import Histogram

/// What one connection (or a whole run, once merged) measured after warm-up.
struct RunStatistics: Sendable {
    /// Request bodies from this size on (the corpus's 1 MiB outliers) also get latency of their
    /// own, so that a slow large body does not read as a stall of the small ones.
    static let largeBodyBytes = 256 * 1024

    /// Latency per successful request, in nanoseconds (1 µs to 60 s, 3 significant digits).
    var latency = Self.emptyHistogram()
    /// Latency split by body size, from the first large body on (nil while every body was small).
    var latencyBySize: LatencyBySize?
    var succeeded = 0
    var failures: [FailureKind: Int] = [:]
    var bytesSent = 0
    var bytesReceived = 0
    /// Opens, closes and refusals over the whole run (warm-up included): none is a failure.
    var connectionEvents = ConnectionEvents()

    /// The latency of small and of large bodies, kept apart.
    struct LatencyBySize: Sendable {
        /// Bodies under `largeBodyBytes`.
        var small: Histogram<UInt64>
        /// Bodies of `largeBodyBytes` or more.
        var large = RunStatistics.emptyHistogram()
    }

    var failed: Int { failures.values.reduce(0, +) }

    static func emptyHistogram() -> Histogram<UInt64> {
        Histogram(lowestDiscernibleValue: 1_000, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }

    /// Records a successful request with a `bodyBytes` body that took `nanoseconds`.
    mutating func recordSuccess(nanoseconds: UInt64, bodyBytes: Int) {
        succeeded += 1
        let value = min(max(nanoseconds, 1_000), 60_000_000_000)
        let isLarge = bodyBytes >= Self.largeBodyBytes
        // Until the first large body every recorded request was small.
        if isLarge && latencyBySize == nil { latencyBySize = LatencyBySize(small: latency) }
        _ = latency.record(value)
        if isLarge {
            _ = latencyBySize?.large.record(value)
        } else {
            _ = latencyBySize?.small.record(value)
        }
    }

    mutating func recordFailure(_ kind: FailureKind) {
        failures[kind, default: 0] += 1
    }

    /// Adds `other`'s counts to these.
    mutating func merge(_ other: RunStatistics) {
        if latencyBySize != nil || other.latencyBySize != nil {
            var merged = latencyBySize ?? LatencyBySize(small: latency)
            let incoming = other.latencyBySize ?? LatencyBySize(small: other.latency)
            merged.small.add(incoming.small)
            merged.large.add(incoming.large)
            latencyBySize = merged
        }
        latency.add(other.latency)
        succeeded += other.succeeded
        failures.merge(other.failures, uniquingKeysWith: +)
        bytesSent += other.bytesSent
        bytesReceived += other.bytesReceived
        connectionEvents.merge(other.connectionEvents)
    }
}
