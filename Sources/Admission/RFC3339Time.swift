#if canImport(Glibc)
import Glibc
#endif

/// Moments written as RFC 3339 in UTC (`2026-12-07T12:04:05.000042Z`), as Kubernetes objects and
/// the JSON logs carry them.
public enum RFC3339Time {
    /// `secondsSinceEpoch` as `YYYY-MM-DDThh:mm:ssZ`, with `fraction` after the seconds in
    /// exactly `fractionDigits` digits when given (milliseconds: 3; Kubernetes' MicroTime: 6).
    public static func format(secondsSinceEpoch: Int, fraction: Int? = nil, fractionDigits: Int = 0) -> String {
        var seconds = secondsSinceEpoch
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let fractionText = fraction.map { "." + digits($0, fractionDigits) } ?? ""
        return digits(Int(parts.tm_year) + 1900, 4) + "-" + digits(Int(parts.tm_mon) + 1, 2) + "-" + digits(Int(parts.tm_mday), 2)
            + "T" + digits(Int(parts.tm_hour), 2) + ":" + digits(Int(parts.tm_min), 2) + ":" + digits(Int(parts.tm_sec), 2)
            + fractionText + "Z"
    }
}
