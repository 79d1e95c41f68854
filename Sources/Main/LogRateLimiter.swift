import EventLoop

/// Lets one log line per key through per interval and counts the ones it held back, so a flood
/// of the same failure (a wrong `caBundle` fails every pod's handshake) logs one line a minute
/// that says how many there were. Safe from any thread; keys idle for an interval are dropped
/// once there are many, so a stream of distinct keys cannot grow it without bound.
final class LogRateLimiter: Sendable {
    private struct Entry {
        var lastLogged: Deadline
        var heldBack: Int
    }

    private let interval: Duration
    private let entries = LockedValue<[String: Entry]>([:])
    private static let pruneAbove = 4096

    init(interval: Duration = .seconds(60)) {
        self.interval = interval
    }

    /// Whether a line for `key` may be logged now: nil when one was logged within the interval
    /// (this one is counted instead), else how many were held back since the last line.
    func admit(_ key: String, now: Deadline = .now()) -> Int? {
        entries.withLock { entries in
            if var entry = entries[key], now < entry.lastLogged + interval {
                entry.heldBack += 1
                entries[key] = entry
                return nil
            }
            let heldBack = entries[key]?.heldBack ?? 0
            if entries.count >= Self.pruneAbove {
                entries = entries.filter { now < $0.value.lastLogged + interval }
            }
            entries[key] = Entry(lastLogged: now, heldBack: 0)
            return heldBack
        }
    }
}
