import CEventLoopShims

/// A process-wide budget for the bytes that request bodies hold in memory, shared by every
/// connection of the servers given it.
///
/// Without it each connection may buffer a whole body up to the body limit, so a few dozen
/// clients sending large bodies slowly can exhaust memory. A body's first `bytesFreePerBody`
/// bytes are not counted (a connection holds buffers of that order anyway, and an ordinary
/// admission body fits, so it never touches the budget); beyond that, the body's buffer is
/// reserved here before it grows. A body that does not fit waits, its socket unread (TCP
/// back-pressure), in order of arrival, for at most `maximumWait`; then it is refused (503).
public final class RequestBodyBudget: Sendable {
    /// Bytes all counted bodies may hold together.
    public let capacity: Int
    /// Bytes of each body not counted.
    public let bytesFreePerBody: Int
    /// How long a body waits for room before it is refused.
    public let maximumWait: Duration

    /// A body waiting for room; its continuation is resumed once, under the lock's decision.
    private final class Waiter: @unchecked Sendable {
        let bytes: Int
        var continuation: UnsafeContinuation<Bool, Never>?
        init(bytes: Int) { self.bytes = bytes }
    }

    private struct State: Sendable {
        var held = 0
        var waiters: [Waiter] = []
    }

    private let state = LockedValue(State())

    public init(capacity: Int, bytesFreePerBody: Int = 64 * 1024, maximumWait: Duration = .seconds(1)) {
        self.capacity = capacity
        self.bytesFreePerBody = bytesFreePerBody
        self.maximumWait = maximumWait
    }

    /// Makes the allocator map blocks of `bytes` or more (large bodies) on their own, so that
    /// freeing one returns its memory to the system. Left alone, glibc raises this threshold
    /// after the first large block is freed, and later bodies stay in its arenas when freed: the
    /// process would keep the peak the budget allowed. Call once at start.
    public static func returnLargeBodiesToTheSystem(from bytes: Int = 256 * 1024) {
        _ = mallopt(M_MMAP_THRESHOLD, Int32(bytes))
    }

    /// Bytes reserved now.
    public var heldBytes: Int {
        state.withLock { $0.held }
    }

    /// Reserves `bytes`, waiting behind earlier waiters until they fit or `deadline` passes
    /// (timed on `loop`, the caller's loop); returns whether they were reserved.
    nonisolated(nonsending) func reserve(_ bytes: Int, until deadline: Deadline, on loop: EventLoop) async -> Bool {
        let waiter = Waiter(bytes: bytes)
        return await withUnsafeContinuation { continuation in
            let decided: Bool? = state.withLock { state in
                if state.waiters.isEmpty, state.held + bytes <= capacity {
                    state.held += bytes
                    return true
                }
                if bytes > capacity { return false }
                waiter.continuation = continuation
                state.waiters.append(waiter)
                return nil
            }
            if let decided {
                continuation.resume(returning: decided)
            } else if loop.inEventLoop {
                _ = loop.scheduleTimer(at: deadline) { self.expire(waiter) }
            } else {
                loop.execute { _ = loop.scheduleTimer(at: deadline) { self.expire(waiter) } }
            }
        }
    }

    /// Gives back `bytes` reserved earlier and lets the waiters that now fit go on.
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        let granted = state.withLock { state in
            state.held -= bytes
            return Self.grant(&state, capacity: capacity)
        }
        for waiter in granted { waiter.continuation?.resume(returning: true) }
    }

    /// Refuses `waiter` if it is still waiting when its deadline comes.
    private func expire(_ waiter: Waiter) {
        let (expired, granted) = state.withLock { state -> (Bool, [Waiter]) in
            guard let index = state.waiters.firstIndex(where: { $0 === waiter }) else { return (false, []) }
            state.waiters.remove(at: index)
            // The first waiter leaving may let the ones behind it fit.
            return (true, Self.grant(&state, capacity: capacity))
        }
        if expired { waiter.continuation?.resume(returning: false) }
        for other in granted { other.continuation?.resume(returning: true) }
    }

    /// Reserves for the waiters at the front that fit, in order; returns them to resume.
    private static func grant(_ state: inout State, capacity: Int) -> [Waiter] {
        var granted: [Waiter] = []
        while let first = state.waiters.first, state.held + first.bytes <= capacity {
            state.held += first.bytes
            state.waiters.removeFirst()
            granted.append(first)
        }
        return granted
    }
}
