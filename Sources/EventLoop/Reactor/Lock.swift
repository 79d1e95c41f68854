#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex for the few structures shared between threads (remote job queue, server waiters).
///
/// Chosen over `Synchronization.Mutex` so that ThreadSanitizer runs stay free of its false
/// positives (see PLATFORM-NOTES). Inlinable (through `LockedValue`), so that other modules'
/// locked sections are specialized rather than called through generic entry points.
@usableFromInline
final class Lock: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>

    @usableFromInline
    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inlinable @inline(__always)
    func withLock<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
