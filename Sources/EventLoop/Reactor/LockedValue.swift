/// A value shared between threads, every access under a pthread mutex (`Lock`).
///
/// Used instead of `Synchronization.Mutex`: under contention that mutex hands the lock over
/// inside libswiftSynchronization (an uninstrumented spin, then `FUTEX_LOCK_PI`), where
/// ThreadSanitizer cannot see the happens-before edge, so it reports the protected value as
/// racing. TSan intercepts `pthread_mutex_lock`, so code guarded by this type is checked for
/// real races instead. Uncontended, both cost one atomic read-modify-write per lock and unlock.
///
/// `withLock` is inlinable, so another module's call is specialized for its value (no generic
/// entry point, no metadata passed); the value skips the runtime's exclusivity check, which
/// the lock already guarantees.
public final class LockedValue<Value> {
    @usableFromInline let lock = Lock()
    /// Under `lock`.
    @usableFromInline @exclusivity(unchecked) var value: Value

    /// A box holding `value`.
    public init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with exclusive access to the value and returns its result.
    @inlinable @inline(__always)
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        try lock.withLock { () throws(Failure) -> Result in try body(&value) }
    }
}

extension LockedValue: @unchecked Sendable where Value: Sendable {}
