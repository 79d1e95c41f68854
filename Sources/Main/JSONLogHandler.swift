#if canImport(Glibc)
import Glibc
#endif
import Admission
import Logging

/// A swift-log handler writing one JSON object per line to standard error:
/// `{"time":"…","level":"info","message":"…",<metadata…>}`.
///
/// Lines go to `LogSink.standardError` (never blocking the caller), whole, so concurrent lines
/// never interleave.
struct JSONLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    private let label: String

    init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = JSONWriter(capacity: 256)
        line.raw("{\"time\":")
        line.string(Self.timestamp())
        line.raw(",\"level\":")
        line.string(event.level.rawValue)
        line.raw(",\"logger\":")
        line.string(label)
        line.raw(",\"message\":")
        line.string(event.message.description)
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line.raw(",")
            line.string(key)
            line.raw(":")
            Self.append(value, to: &line)
        }
        if event.level >= .error {
            line.raw(",\"source\":")
            line.string("\(event.file):\(event.line)")
        }
        line.raw("}\n")
        LogSink.standardError.write(line.finish())
    }

    private static func append(_ value: Logger.Metadata.Value, to line: inout JSONWriter) {
        switch value {
        case .string(let string): line.string(string)
        case .stringConvertible(let convertible):
            // Numbers stay numbers, so log queries can compare and sum them.
            if let integer = convertible as? any BinaryInteger, let value = Int(exactly: integer) {
                line.integer(value)
            } else if let double = convertible as? Double {
                line.number(double)
            } else {
                line.string(convertible.description)
            }
        case .array(let values):
            line.raw("[")
            for (index, element) in values.enumerated() {
                if index > 0 { line.raw(",") }
                append(element, to: &line)
            }
            line.raw("]")
        case .dictionary(let dictionary):
            line.raw("{")
            for (index, (key, element)) in dictionary.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { line.raw(",") }
                line.string(key)
                line.raw(":")
                append(element, to: &line)
            }
            line.raw("}")
        }
    }

    /// RFC 3339 UTC with milliseconds, e.g. 2026-11-27T02:01:28.123Z.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return timestamp(secondsSinceEpoch: now.tv_sec, milliseconds: Int(now.tv_nsec / 1_000_000))
    }

    /// `secondsSinceEpoch` in RFC 3339 UTC, with `milliseconds` when given.
    static func timestamp(secondsSinceEpoch: Int, milliseconds: Int? = nil) -> String {
        RFC3339Time.format(secondsSinceEpoch: secondsSinceEpoch, fraction: milliseconds, fractionDigits: 3)
    }
}
