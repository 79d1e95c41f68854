/// A source of the current monotonic instant; injected so timeouts can be tested without waiting.
public protocol HTTPClock: Sendable {
    func now() -> Deadline
    /// The instant read from the clock, for a connection's first deadline: `now()` may be as old
    /// as the loop's iteration, which a burst of accepts and handshakes can make long.
    func preciseNow() -> Deadline
}

extension HTTPClock {
    public func preciseNow() -> Deadline { now() }
}

/// The real monotonic clock.
public struct MonotonicClock: HTTPClock {
    public init() {}

    @inlinable
    public func now() -> Deadline { Deadline.now() }
}

/// The time of an event loop's current iteration (`EventLoop.iterationStart`): no clock read
/// per call, for connection deadlines, which may end up to one loop iteration early.
public struct EventLoopClock: HTTPClock {
    public let loop: EventLoop

    public init(loop: EventLoop) {
        self.loop = loop
    }

    @inlinable
    public func now() -> Deadline { loop.iterationStart }

    public func preciseNow() -> Deadline { Deadline.now() }
}

/// How long a server connection may take for each phase.
public struct HTTPTimeouts: Sendable {
    /// From accept to the end of the TLS handshake.
    public var tlsHandshake: Duration = .seconds(10)
    /// For a whole request head, from its first byte (or, for the first request, from the
    /// connection's start): a total, not per read, so a client trickling bytes cannot hold
    /// the connection (slowloris).
    public var requestHead: Duration = .seconds(10)
    /// For a whole request body, from the end of its head.
    public var requestBody: Duration = .seconds(30)
    /// How long a keep-alive connection may wait for its next request.
    public var idle: Duration = .seconds(120)
    /// For writing one response.
    public var write: Duration = .seconds(30)
    /// How long, after answering an error, the connection reads and discards what the client
    /// still sends before closing (so that the close does not reset the answer away).
    public var lingerAfterError: Duration = .milliseconds(500)
    /// How long, once the server drains, a keep-alive connection waiting between requests is
    /// kept for a request already on its way: one that arrives is answered with
    /// `Connection: close`; then the connection closes. Zero closes idle connections at once,
    /// which drops a request the client sent just before the close reached it.
    public var drainIdleGrace: Duration = .milliseconds(250)

    public init() {}
}

/// Decides, for one server connection, the deadline of every read, what to do when one
/// passes, and whether the connection may stay open. Pure: no I/O, time from `Clock`.
///
/// The connection calls one method per event, in order: `handshakeCompleted` (TLS only),
/// then per request `receivedHeadBytes`, `headCompleted`, `bodyCompleted` (when there is a
/// body) and `responseSent`. `readDeadline` is the deadline to set before each read.
public struct HTTPConnectionStateMachine<Clock: HTTPClock> {
    /// What the connection is waiting for.
    public enum State: Equatable, Sendable {
        /// The TLS handshake.
        case handshaking(until: Deadline)
        /// The first byte of the next request; `isFirst` for the connection's first request.
        case awaitingRequest(until: Deadline, isFirst: Bool)
        /// The rest of a request head.
        case readingHead(until: Deadline)
        /// The rest of a request body.
        case readingBody(until: Deadline)
        /// The handler and the response write; no read pending.
        case responding
        /// Nothing: the connection is done.
        case closed
    }

    /// What to do when a read failed with `.timedOut`.
    public enum TimeoutAction: Equatable, Sendable {
        /// The deadline has not really passed (it moved): read again with `readDeadline`.
        case keepReading
        /// Close without answering: nothing of a request was received.
        case close
        /// Answer with this status (408), then close.
        case respondAndClose(HTTPStatus)
    }

    /// What to do with this connection when the server starts draining.
    public enum DrainAction: Equatable, Sendable {
        /// It is idle (no request in progress): close it now.
        case closeNow
        /// It waits between requests: read with the shortened `readDeadline` (the drain grace);
        /// a request that arrives is finished with `Connection: close`, else it closes then.
        case closeWhenQuiet
        /// A request (or the TLS handshake) is in progress: finish it, answer with
        /// `Connection: close`, then close (after a handshake, a first request arriving within
        /// the grace is answered).
        case finishInFlight
    }

    /// What to do after a response was written.
    public enum NextStep: Equatable, Sendable {
        /// Wait for the next request until this deadline.
        case awaitRequest(until: Deadline)
        /// Close the connection.
        case close
    }

    public let timeouts: HTTPTimeouts
    public let clock: Clock
    public private(set) var state: State
    /// Whether the server is draining: no response may keep the connection open.
    public private(set) var isDraining = false

    /// Starts a connection accepted now; `tls` when a handshake comes first.
    public init(timeouts: HTTPTimeouts, clock: Clock, tls: Bool) {
        self.timeouts = timeouts
        self.clock = clock
        let now = clock.preciseNow()
        state = tls
            ? .handshaking(until: now + timeouts.tlsHandshake)
            : .awaitingRequest(until: now + timeouts.requestHead, isFirst: true)
    }

    /// The deadline for the next read (distant future when no read is expected).
    public var readDeadline: Deadline {
        switch state {
        case .handshaking(let until), .awaitingRequest(let until, _), .readingHead(let until), .readingBody(let until):
            return until
        case .responding, .closed:
            return .distantFuture
        }
    }

    /// Whether the connection waits between requests, so draining may close it at once.
    public var isIdle: Bool {
        switch state {
        case .handshaking, .awaitingRequest: return true
        default: return false
        }
    }

    /// The TLS handshake finished: the first request head is due within `requestHead` (within
    /// the drain grace when the server is draining).
    public mutating func handshakeCompleted() {
        guard case .handshaking = state else { return }
        let now = clock.now()
        let until = now + timeouts.requestHead
        state = .awaitingRequest(until: isDraining ? min(until, now + timeouts.drainIdleGrace) : until, isFirst: true)
    }

    /// Bytes of a request head arrived. The first byte of a request starts its head timeout;
    /// later bytes do not move it.
    public mutating func receivedHeadBytes() {
        guard case .awaitingRequest(let until, let isFirst) = state else { return }
        state = .readingHead(until: isFirst ? until : clock.now() + timeouts.requestHead)
    }

    /// The request head is complete; `hasBody` when a body follows.
    public mutating func headCompleted(hasBody: Bool) {
        state = hasBody ? .readingBody(until: clock.now() + timeouts.requestBody) : .responding
    }

    /// The request body is complete: the handler runs.
    public mutating func bodyCompleted() {
        state = .responding
    }

    /// Whether the response may leave the connection open: the client allows it
    /// (`requestKeepAlive`) and the server is not draining.
    public func mayKeepAlive(requestKeepAlive: Bool) -> Bool {
        requestKeepAlive && !isDraining
    }

    /// The response was written; `keepAlive` as announced in it.
    public mutating func responseSent(keepAlive: Bool) -> NextStep {
        guard keepAlive, !isDraining else {
            state = .closed
            return .close
        }
        let until = clock.now() + timeouts.idle
        state = .awaitingRequest(until: until, isFirst: false)
        return .awaitRequest(until: until)
    }

    /// A read failed with `.timedOut`.
    public mutating func readTimedOut() -> TimeoutAction {
        let deadline = readDeadline
        if clock.now() < deadline { return .keepReading }
        switch state {
        case .handshaking, .awaitingRequest, .responding, .closed:
            state = .closed
            return .close
        case .readingHead, .readingBody:
            state = .closed
            return .respondAndClose(.requestTimeout)
        }
    }

    /// The server starts draining. `inputPending`: bytes of the next request already arrived
    /// but were not read yet; closing would drop a request the client has sent, so a connection
    /// awaiting a request with input pending finishes that request instead.
    ///
    /// A connection still in its TLS handshake finishes it (within the handshake timeout), then
    /// gets the grace for its first request: a TLS 1.3 client is done with the handshake half a
    /// round trip before the server and sends its request at once, so closing the handshake
    /// would reset a request the client already sent, and a client slowed down mid-handshake
    /// (a loaded machine) would find its connection reset.
    public mutating func startDraining(inputPending: Bool = false) -> DrainAction {
        isDraining = true
        let grace = timeouts.drainIdleGrace
        switch state {
        case .awaitingRequest(let until, let isFirst):
            if inputPending { return .finishInFlight }
            if grace > .zero {
                state = .awaitingRequest(until: min(until, clock.now() + grace), isFirst: isFirst)
                return .closeWhenQuiet
            }
        case .handshaking where grace > .zero:
            return .finishInFlight
        default:
            break
        }
        if isIdle {
            state = .closed
            return .closeNow
        }
        return .finishInFlight
    }

    /// The connection is closing, for whatever reason.
    public mutating func closed() {
        state = .closed
    }
}
