import Histogram
import PatchVerification

/// The final figures of a run, printed as text or as JSON for scripts.
struct RunReport {
    let target: String
    let mode: String
    let connections: Int
    let threads: Int
    let measuredSeconds: Double
    let statistics: RunStatistics

    private var events: ConnectionEvents { statistics.connectionEvents }

    var requestsPerSecond: Double { measuredSeconds > 0 ? Double(statistics.succeeded) / measuredSeconds : 0 }

    private func percentileMicroseconds(_ percentile: Double) -> Double {
        Self.percentileMicroseconds(percentile, of: statistics.latency)
    }

    private var maxMicroseconds: Double { Self.maxMicroseconds(of: statistics.latency) }

    private static func percentileMicroseconds(_ percentile: Double, of histogram: Histogram<UInt64>) -> Double {
        histogram.totalCount == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1_000
    }

    private static func maxMicroseconds(of histogram: Histogram<UInt64>) -> Double {
        histogram.totalCount == 0 ? 0 : Double(histogram.max) / 1_000
    }

    /// `count p50 p99 p99.9 max` of `histogram`, for the lines by body size.
    private static func summary(_ histogram: Histogram<UInt64>) -> String {
        "\(histogram.totalCount) requests, p50 \(format(percentileMicroseconds(50, of: histogram), 0))  p99 \(format(percentileMicroseconds(99, of: histogram), 0))"
            + "  p99.9 \(format(percentileMicroseconds(99.9, of: histogram), 0))  max \(format(maxMicroseconds(of: histogram), 0))"
    }

    private static func jsonSummary(_ histogram: Histogram<UInt64>) -> JSONValue {
        .object([
            ("requests", .int(Int(histogram.totalCount))),
            ("p50", .number(format(percentileMicroseconds(50, of: histogram), 1))), ("p99", .number(format(percentileMicroseconds(99, of: histogram), 1))),
            ("p999", .number(format(percentileMicroseconds(99.9, of: histogram), 1))), ("max", .number(format(maxMicroseconds(of: histogram), 1))),
        ])
    }

    /// Human-readable summary; failures are listed loudly.
    var text: String {
        var lines = [
            "loadgen \(mode): \(target), \(connections) connections, \(threads) thread(s), \(format(measuredSeconds, 1)) s measured",
            "  requests/s  \(format(requestsPerSecond, 0))   (\(statistics.succeeded) ok, \(statistics.failed) failed)",
            "  latency µs  p50 \(format(percentileMicroseconds(50), 0))  p90 \(format(percentileMicroseconds(90), 0))"
                + "  p99 \(format(percentileMicroseconds(99), 0))  p99.9 \(format(percentileMicroseconds(99.9), 0))  max \(format(maxMicroseconds, 0))",
            "  bytes       sent \(statistics.bytesSent)  received \(statistics.bytesReceived)",
        ]
        if let bySize = statistics.latencyBySize {
            let large = RunStatistics.largeBodyBytes / 1024
            lines.append("  bodies under \(large) KiB  \(Self.summary(bySize.small))")
            lines.append("  bodies from \(large) KiB   \(Self.summary(bySize.large))")
        }
        lines += [
            "  connections opened \(events.opened)  closed by Connection: close \(events.closeAnswers)  recycled \(events.recycled)"
                + "  closed between requests \(events.closedBetweenRequests)  refused after the server stopped \(events.refusedAfterServerStopped)",
        ]
        if statistics.failed > 0 {
            lines.append("  !!! \(statistics.failed) FAILED REQUESTS !!!")
            for (kind, count) in statistics.failures.sorted(by: { $0.key < $1.key }) {
                lines.append("  !!! \(count) × \(kind.rawValue)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// One JSON object with every figure (latencies in microseconds).
    var json: String {
        let failures = statistics.failures.sorted(by: { $0.key < $1.key }).map { JSONValue.object([("kind", .string($0.key.rawValue)), ("count", .int($0.value))]) }
        return JSONValue.object([
            ("target", .string(target)), ("mode", .string(mode)), ("connections", .int(connections)), ("threads", .int(threads)),
            ("seconds", .number(format(measuredSeconds, 3))), ("requests", .int(statistics.succeeded)), ("failed", .int(statistics.failed)),
            ("requestsPerSecond", .number(format(requestsPerSecond, 1))),
            ("latencyMicroseconds", .object([
                ("p50", .number(format(percentileMicroseconds(50), 1))), ("p90", .number(format(percentileMicroseconds(90), 1))),
                ("p99", .number(format(percentileMicroseconds(99), 1))), ("p999", .number(format(percentileMicroseconds(99.9), 1))),
                ("max", .number(format(maxMicroseconds, 1))),
            ])),
            ("latencyMicrosecondsByBodySize", statistics.latencyBySize.map { bySize in
                .object([("under256KiB", Self.jsonSummary(bySize.small)), ("from256KiB", Self.jsonSummary(bySize.large))])
            } ?? .null),
            ("bytesSent", .int(statistics.bytesSent)), ("bytesReceived", .int(statistics.bytesReceived)),
            ("failures", .array(failures)),
            ("connections", .object([
                ("opened", .int(events.opened)), ("closeAnswers", .int(events.closeAnswers)), ("recycled", .int(events.recycled)),
                ("closedBetweenRequests", .int(events.closedBetweenRequests)),
                ("refusedAfterServerStopped", .int(events.refusedAfterServerStopped)),
            ])),
        ]).serialized
    }
}

/// `value` with `decimals` digits after the point (0 for values that are not finite).
func format(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite, abs(value) < 1e15 else { return "0" }
    var scale: UInt64 = 1
    for _ in 0..<decimals { scale *= 10 }
    let scaled = UInt64((abs(value) * Double(scale)).rounded())
    var text = String(scaled / scale)
    if decimals > 0 {
        let fraction = String(scaled % scale)
        text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
    return value < 0 && scaled != 0 ? "-" + text : text
}
