import Foundation

/// How much each Prometheus sample grew between two scrapes (absent samples count as 0).
struct MetricsDelta: CustomStringConvertible {
    private let values: [String: Double]

    init(before: String, after: String) {
        let old = Self.samples(before)
        var values: [String: Double] = [:]
        for (series, value) in Self.samples(after) { values[series] = value - (old[series] ?? 0) }
        self.values = values
    }

    subscript(series: String) -> Double? { values[series] }

    var description: String {
        values.filter { $0.value != 0 }.sorted { $0.key < $1.key }.map { "\($0.key) +\($0.value)" }.joined(separator: ", ")
    }

    private static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }
}
