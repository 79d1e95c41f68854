/// Parses `10s`, `500ms`, `2m`, `1.5s` into a `Duration`.
enum DurationParser {
    static func parse(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, seconds) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite else { return nil }
            return .nanoseconds(Int64(value * seconds * 1e9))
        }
        return nil
    }
}
