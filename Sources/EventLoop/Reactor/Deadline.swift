#if canImport(Glibc)
import Glibc
#endif

/// A point in time on the monotonic clock (CLOCK_MONOTONIC), in nanoseconds.
///
/// Deadlines drive every timeout in the event loop: a read, write or connect that has
/// not finished by its deadline fails with `IOError.timedOut`.
public struct Deadline: Comparable, Hashable, Sendable {
    /// Nanoseconds since an arbitrary fixed point (boot).
    public var uptimeNanoseconds: UInt64

    public init(uptimeNanoseconds: UInt64) {
        self.uptimeNanoseconds = uptimeNanoseconds
    }

    /// The current instant.
    @inlinable
    public static func now() -> Deadline {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Deadline(uptimeNanoseconds: UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec))
    }

    /// A deadline that never passes.
    public static let distantFuture = Deadline(uptimeNanoseconds: .max)

    /// The instant `duration` from now.
    @inlinable
    public static func after(_ duration: Duration) -> Deadline {
        now() + duration
    }

    @inlinable
    public static func < (lhs: Deadline, rhs: Deadline) -> Bool {
        lhs.uptimeNanoseconds < rhs.uptimeNanoseconds
    }

    /// `lhs` moved later by `rhs`, saturating at `distantFuture`; negative durations move it earlier.
    @inlinable
    public static func + (lhs: Deadline, rhs: Duration) -> Deadline {
        let (seconds, attoseconds) = rhs.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if nanoseconds.overflow { return seconds < 0 ? Deadline(uptimeNanoseconds: 0) : .distantFuture }
        let delta = nanoseconds.partialValue &+ attoseconds / 1_000_000_000
        if delta >= 0 {
            let (sum, overflow) = lhs.uptimeNanoseconds.addingReportingOverflow(UInt64(delta))
            return overflow ? .distantFuture : Deadline(uptimeNanoseconds: sum)
        }
        let magnitude = UInt64(delta.magnitude)
        return Deadline(uptimeNanoseconds: lhs.uptimeNanoseconds > magnitude ? lhs.uptimeNanoseconds - magnitude : 0)
    }

    /// The time from `other` to `self` (negative when `self` is earlier).
    @inlinable
    public func duration(since other: Deadline) -> Duration {
        .nanoseconds(Int64(bitPattern: uptimeNanoseconds &- other.uptimeNanoseconds))
    }
}
