#if canImport(Glibc)
import Glibc
#endif

/// The IMF-fixdate for the `Date` field (`Sun, 06 Nov 1994 08:49:37 GMT`), formatted at most
/// once per second.
struct HTTPDateCache {
    private var second = -1
    private var text: [UInt8] = []

    /// The current date, 29 bytes.
    mutating func current() -> [UInt8] {
        let now = time(nil)
        if now != second {
            second = now
            text = Self.format(now)
        }
        return text
    }

    static func format(_ seconds: time_t) -> [UInt8] {
        var moment = seconds
        var parts = tm()
        gmtime_r(&moment, &parts)
        let days: [StaticString] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        var out: [UInt8] = []
        out.reserveCapacity(29)
        func append(_ text: StaticString) {
            out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
        func twoDigits(_ value: Int32) {
            out.append(UInt8(ascii: "0") + UInt8(value / 10 % 10))
            out.append(UInt8(ascii: "0") + UInt8(value % 10))
        }
        append(days[Int(parts.tm_wday)])
        append(", ")
        twoDigits(parts.tm_mday)
        out.append(HTTPBytes.space)
        append(months[Int(parts.tm_mon)])
        out.append(HTTPBytes.space)
        let year = parts.tm_year + 1900
        twoDigits(year / 100)
        twoDigits(year % 100)
        out.append(HTTPBytes.space)
        twoDigits(parts.tm_hour)
        out.append(HTTPBytes.colon)
        twoDigits(parts.tm_min)
        out.append(HTTPBytes.colon)
        twoDigits(parts.tm_sec)
        append(" GMT")
        return out
    }
}
