import Synchronization

/// The readiness of one registered descriptor and the (at most one) task waiting per direction.
///
/// Registered once, edge-triggered: an event with nobody waiting is remembered as `ready`
/// and consumed by the next wait, so no readiness is lost between a failed `recv` and the
/// suspension. A wait with a deadline arms a timer-heap entry that targets this object;
/// entries are never cancelled — a resumed wait just leaves the entry to find nothing to do,
/// and a later wait with a later deadline reuses it. So a connection that sets the same idle
/// timeout on every request costs about one heap operation per timeout period, not per read.
/// (The price: a closed socket's registration stays in the heap until that entry's deadline.)
///
/// Entries are rounded up to `timerGranularity`, so that the deadlines of many connections
/// share one loop wake-up: at a few hundred requests a second over 30 keep-alive connections,
/// each request's idle-buffer release (100 ms after it) would otherwise wake the loop once more
/// per request. A socket deadline therefore fires up to `timerGranularity` late.
///
/// The wait states skip the runtime's exclusivity checks (several per request): only this
/// class's own non-reentrant methods on the loop thread touch them.
///
/// A wait honours task cancellation: cancelling the waiting task fails the wait with
/// `CancellationError` (on the loop, after a hop), and the socket's owner closes it as after any
/// failed read or write. Each wait takes a ticket, so a cancellation that arrives late (after
/// its wait ended, or before the wait reached the loop) reaches that wait or none, never a
/// later wait of another task on the same descriptor (a pooled client connection).
///
/// Everything here is confined to the loop thread except `wait`, which may be called from a
/// task on another executor and then hops to the loop to register itself.
final class SelectorRegistration: TimerTarget, @unchecked Sendable {
    enum Direction: Int {
        case read = 0
        case write = 1

        /// The `IOError.call` of its failures (`IOError.isReadTimeout` relies on "read").
        var operation: String { self == .read ? "read" : "write" }
    }

    private struct WaitState {
        var waiter: UnsafeContinuation<Void, any Error>?
        /// The ticket of `waiter`'s wait.
        var ticket: UInt64 = 0
        /// The ticket of a wait cancelled before it began (it was still on its way to the loop).
        var cancelledTicket: UInt64 = 0
        var ready = false
        var deadline = Deadline.distantFuture
        /// The deadline of this direction's live timer entry, if any.
        var timerDeadline: Deadline?
    }

    /// The grid socket deadlines are rounded up to: 2^25 ns, about 34 ms.
    static let timerGranularityNanoseconds: UInt64 = 1 << 25

    let descriptor: Int32
    let loop: EventLoop
    /// The last wait's ticket. Any thread.
    private let lastTicket = Atomic<UInt64>(0)
    /// Set by the selector on registration. Loop thread only.
    var generation: UInt32 = 0
    /// Loop thread only.
    @exclusivity(unchecked) private(set) var isRegistered = false
    @exclusivity(unchecked) private var read = WaitState()
    /// Whether epoll ever reported hang-up or error: then a read may end the stream with no
    /// further edge to announce it. Loop thread only.
    @exclusivity(unchecked) private(set) var hasSeenHangUpOrError = false
    /// Whether epoll ever reported TCP urgent data (EPOLLPRI): then a `recv` may have stopped
    /// at the urgent mark with more bytes behind it, so a short read no longer means the
    /// receive queue is empty. Loop thread only.
    @exclusivity(unchecked) private(set) var hasSeenUrgentData = false
    @exclusivity(unchecked) private var write = WaitState()

    init(descriptor: Int32, loop: EventLoop) {
        self.descriptor = descriptor
        self.loop = loop
    }

    /// Adds the descriptor to the loop's epoll set. Loop thread only.
    func register(events: UInt32) throws(IOError) {
        try loop.selector.register(self, events: events)
        isRegistered = true
    }

    /// Removes the descriptor from the loop and fails pending waits with `.closed`. Loop thread only.
    func deregister(removeFromEpoll: Bool) {
        guard isRegistered else { return }
        isRegistered = false
        loop.selector.deregister(self, removeFromEpoll: removeFromEpoll)
        fail(&read, with: IOError.closed(Direction.read.operation))
        fail(&write, with: IOError.closed(Direction.write.operation))
    }

    /// Suspends until the descriptor is ready in `direction`, failing with `.timedOut` at `deadline`,
    /// with `.closed` if deregistered, and with `CancellationError` if the task is cancelled.
    /// Any thread; at most one waiter per direction.
    nonisolated(nonsending) func wait(_ direction: Direction, deadline: Deadline) async throws {
        let ticket = lastTicket.wrappingAdd(1, ordering: .relaxed).newValue
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else if loop.inEventLoop {
                    beginWait(direction, continuation, deadline: deadline, ticket: ticket)
                } else {
                    loop.execute { self.beginWait(direction, continuation, deadline: deadline, ticket: ticket) }
                }
            }
        } onCancel: {
            // Always a hop: the canceller may be anywhere, even inside this registration on the loop.
            loop.execute { self.cancelWait(direction, ticket: ticket) }
        }
    }

    /// Applies a changed deadline to a pending wait (earlier: arms an earlier timer). Loop thread only.
    func updateDeadline(_ direction: Direction, _ deadline: Deadline) {
        switch direction {
        case .read: update(&read, direction, deadline: deadline)
        case .write: update(&write, direction, deadline: deadline)
        }
    }

    /// Forgets a recorded read readiness: call when a `recv` emptied the receive queue, which
    /// took the data of every edge handled so far (edges arrive only between loop jobs); data
    /// arriving later brings a new edge. Without this, the next wait would return at once with
    /// nothing to read. Loop thread only.
    func consumeReadReadiness() {
        read.ready = false
    }

    /// Resumes waiters for the epoll events `events`. Loop thread only.
    func handle(events: UInt32) {
        if events & (Epoll.Event.readHangUp | Epoll.Event.hangUp | Epoll.Event.error) != 0 {
            hasSeenHangUpOrError = true
        }
        if events & Epoll.Event.priority != 0 {
            hasSeenUrgentData = true
        }
        if events & (Epoll.Event.readable | Epoll.Event.priority | Epoll.Event.readHangUp | Epoll.Event.hangUp | Epoll.Event.error) != 0 {
            signal(&read)
        }
        if events & (Epoll.Event.writable | Epoll.Event.hangUp | Epoll.Event.error) != 0 {
            signal(&write)
        }
    }

    func timerFired(tag: Int, deadline: Deadline) {
        guard let direction = Direction(rawValue: tag) else { return }
        switch direction {
        case .read: expire(&read, direction, entryDeadline: deadline)
        case .write: expire(&write, direction, entryDeadline: deadline)
        }
    }

    private func beginWait(_ direction: Direction, _ continuation: UnsafeContinuation<Void, any Error>, deadline: Deadline, ticket: UInt64) {
        guard isRegistered else {
            continuation.resume(throwing: IOError.closed(direction.operation))
            return
        }
        switch direction {
        case .read: begin(&read, direction, continuation, deadline: deadline, ticket: ticket)
        case .write: begin(&write, direction, continuation, deadline: deadline, ticket: ticket)
        }
    }

    private func begin(
        _ state: inout WaitState, _ direction: Direction, _ continuation: UnsafeContinuation<Void, any Error>, deadline: Deadline, ticket: UInt64
    ) {
        precondition(state.waiter == nil, "two concurrent \(direction.operation)s on one descriptor")
        if state.cancelledTicket == ticket {
            continuation.resume(throwing: CancellationError())
            return
        }
        if state.ready {
            state.ready = false
            continuation.resume()
            return
        }
        state.waiter = continuation
        state.ticket = ticket
        state.deadline = deadline
        armTimer(&state, direction)
    }

    private func cancelWait(_ direction: Direction, ticket: UInt64) {
        switch direction {
        case .read: cancel(&read, ticket: ticket)
        case .write: cancel(&write, ticket: ticket)
        }
    }

    /// Fails the wait with `ticket` if it is pending; otherwise remembers the ticket, in case that
    /// wait has yet to begin (a no-op if it already ended: tickets are not reused).
    private func cancel(_ state: inout WaitState, ticket: UInt64) {
        guard let waiter = state.waiter, state.ticket == ticket else {
            state.cancelledTicket = ticket
            return
        }
        state.waiter = nil
        waiter.resume(throwing: CancellationError())
    }

    private func update(_ state: inout WaitState, _ direction: Direction, deadline: Deadline) {
        guard state.waiter != nil else { return }
        state.deadline = deadline
        armTimer(&state, direction)
    }

    private func armTimer(_ state: inout WaitState, _ direction: Direction) {
        guard state.deadline != .distantFuture else { return }
        let entry = Self.roundedUp(state.deadline)
        // An entry at or before this one's grid point fires in time (and re-arms if early).
        if let armed = state.timerDeadline, armed <= entry { return }
        state.timerDeadline = entry
        loop.timers.schedule(at: entry, target: self, tag: direction.rawValue)
    }

    /// `deadline` rounded up to the next multiple of `timerGranularityNanoseconds`.
    static func roundedUp(_ deadline: Deadline) -> Deadline {
        let mask = timerGranularityNanoseconds - 1
        let (sum, overflow) = deadline.uptimeNanoseconds.addingReportingOverflow(mask)
        return overflow ? .distantFuture : Deadline(uptimeNanoseconds: sum & ~mask)
    }

    private func expire(_ state: inout WaitState, _ direction: Direction, entryDeadline: Deadline) {
        guard state.timerDeadline == entryDeadline else { return }  // a superseded entry
        state.timerDeadline = nil
        guard let waiter = state.waiter else { return }
        if state.deadline <= entryDeadline {
            state.waiter = nil
            waiter.resume(throwing: IOError.timedOut(direction.operation))
        } else {
            armTimer(&state, direction)
        }
    }

    private func signal(_ state: inout WaitState) {
        if let waiter = state.waiter {
            state.waiter = nil
            waiter.resume()
        } else {
            state.ready = true
        }
    }

    private func fail(_ state: inout WaitState, with error: IOError) {
        guard let waiter = state.waiter else { return }
        state.waiter = nil
        waiter.resume(throwing: error)
    }
}
