import Logging

extension Logger.MetadataValue {
    /// A count as a log field: the JSON log handler writes it as a JSON number, not a string.
    package static func count(_ value: Int) -> Logger.MetadataValue {
        .stringConvertible(value)
    }

    /// A duration as a log field: seconds, written as a JSON number (`0.5`, not `"0.5 seconds"`).
    package static func seconds(_ duration: Duration) -> Logger.MetadataValue {
        let (seconds, attoseconds) = duration.components
        return .stringConvertible(Double(seconds) + Double(attoseconds) / 1e18)
    }
}
