import Synchronization

/// Counts a server's open connections and makes acceptors wait, without polling, while the
/// maximum is reached; `release()` wakes one waiter (on whichever loop it runs).
final class ConnectionLimit: @unchecked Sendable {
    let maximum: Int
    /// Any thread: connections open plus slots reserved for an `accept` in progress.
    private let count = Atomic<Int>(0)
    /// Any thread: set once by `close()`.
    private let isClosed = Atomic<Bool>(false)
    private let lock = Lock()
    /// Under `lock`: acceptors waiting for a slot; resumed with true when the limit closes.
    private var waiters: [UnsafeContinuation<Bool, Never>] = []

    init(maximum: Int) {
        precondition(maximum > 0, "maxConnections must be positive")
        self.maximum = maximum
    }

    var current: Int { count.load(ordering: .relaxed) }

    /// Takes a slot, waiting while all are taken. Returns false once `close()` was called.
    func acquire() async -> Bool {
        while true {
            if isClosed.load(ordering: .acquiring) { return false }
            if tryAcquire() { return true }
            let closed = await withUnsafeContinuation { (continuation: UnsafeContinuation<Bool, Never>) in
                // Re-checked under the lock that `release` takes after decrementing: no lost wake-up.
                let resumeNow: Bool? = lock.withLock {
                    if isClosed.load(ordering: .acquiring) { return true }
                    if count.load(ordering: .acquiring) < maximum { return false }
                    waiters.append(continuation)
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow) }
            }
            if closed { return false }
        }
    }

    /// Takes a slot if one is free, without waiting (and whether or not the limit is closed).
    func tryAcquire() -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < maximum {
            let (exchanged, original) = count.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives a slot back and wakes one waiting acceptor.
    func release() {
        count.subtract(1, ordering: .acquiringAndReleasing)
        let waiter: UnsafeContinuation<Bool, Never>? = lock.withLock {
            waiters.isEmpty ? nil : waiters.removeFirst()
        }
        waiter?.resume(returning: false)
    }

    /// Ends all waits: pending and later `acquire` calls return false.
    func close() {
        isClosed.store(true, ordering: .releasing)
        let all: [UnsafeContinuation<Bool, Never>] = lock.withLock {
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in all { waiter.resume(returning: true) }
    }
}
