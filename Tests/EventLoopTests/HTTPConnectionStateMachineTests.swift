import Testing
@testable import EventLoop

/// A clock that moves only when told to.
final class ManualClock: HTTPClock {
    private let current = LockedValue(Deadline(uptimeNanoseconds: 1_000_000_000))

    func now() -> Deadline { current.withLock { $0 } }

    func advance(by duration: Duration) {
        current.withLock { $0 = $0 + duration }
    }
}

@Suite struct HTTPConnectionStateMachineTests {
    private func timeouts() -> HTTPTimeouts {
        var timeouts = HTTPTimeouts()
        timeouts.tlsHandshake = .seconds(10)
        timeouts.requestHead = .seconds(10)
        timeouts.requestBody = .seconds(30)
        timeouts.idle = .seconds(120)
        return timeouts
    }

    /// A plain connection that served one request and now waits for the next one.
    private func keepAliveMachineAfterOneRequest(
        timeouts: HTTPTimeouts, clock: ManualClock
    ) -> HTTPConnectionStateMachine<ManualClock> {
        var machine = HTTPConnectionStateMachine(timeouts: timeouts, clock: clock, tls: false)
        machine.receivedHeadBytes()
        machine.headCompleted(hasBody: false)
        _ = machine.responseSent(keepAlive: true)
        return machine
    }

    @Test func defaultsAreTheDocumentedOnes() {
        let defaults = HTTPTimeouts()
        #expect(defaults.tlsHandshake == .seconds(10))
        #expect(defaults.requestHead == .seconds(10))
        #expect(defaults.requestBody == .seconds(30))
        #expect(defaults.idle == .seconds(120))
    }

    @Test func tlsHandshakeHasItsOwnDeadlineThenTheHeadDeadline() {
        let clock = ManualClock()
        let start = clock.now()
        var machine = HTTPConnectionStateMachine(timeouts: timeouts(), clock: clock, tls: true)
        #expect(machine.readDeadline == start + .seconds(10))
        #expect(machine.isIdle)
        clock.advance(by: .seconds(4))
        machine.handshakeCompleted()
        #expect(machine.readDeadline == start + .seconds(14))
    }

    @Test func handshakeTimeoutClosesSilently() {
        let clock = ManualClock()
        var machine = HTTPConnectionStateMachine(timeouts: timeouts(), clock: clock, tls: true)
        clock.advance(by: .seconds(9))
        #expect(machine.readTimedOut() == .keepReading)
        clock.advance(by: .seconds(1))
        #expect(machine.readTimedOut() == .close)
        #expect(machine.state == .closed)
    }

    @Test func firstHeadDeadlineCountsFromTheConnectionStart() {
        let clock = ManualClock()
        let start = clock.now()
        var machine = HTTPConnectionStateMachine(timeouts: timeouts(), clock: clock, tls: false)
        clock.advance(by: .seconds(6))
        machine.receivedHeadBytes()
        #expect(machine.readDeadline == start + .seconds(10))
    }

    @Test func slowlorisHeadTimesOutAfterTheTotalHeadTimeNotPerByte() {
        let clock = ManualClock()
        let start = clock.now()
        var machine = HTTPConnectionStateMachine(timeouts: timeouts(), clock: clock, tls: false)
        for _ in 0..<9 {
            clock.advance(by: .seconds(1))
            machine.receivedHeadBytes()
            #expect(machine.readDeadline == start + .seconds(10))
        }
        clock.advance(by: .seconds(1))
        #expect(machine.readTimedOut() == .respondAndClose(.requestTimeout))
    }

    @Test func silentNewConnectionIsClosedWithoutAnAnswer() {
        let clock = ManualClock()
        var machine = HTTPConnectionStateMachine(timeouts: timeouts(), clock: clock, tls: false)
        clock.advance(by: .seconds(10))
        #expect(machine.readTimedOut() == .close)
    }

    @Test func bodyDeadlineIsTotalFromTheEndOfTheHead() {
        let clock = ManualClock()
        var machine = HTTPConnectionStateMachine(timeouts: timeouts(), clock: clock, tls: false)
        machine.receivedHeadBytes()
        clock.advance(by: .seconds(2))
        let headEnd = clock.now()
        machine.headCompleted(hasBody: true)
        #expect(machine.readDeadline == headEnd + .seconds(30))
        clock.advance(by: .seconds(29))
        #expect(machine.readTimedOut() == .keepReading)
        clock.advance(by: .seconds(1))
        #expect(machine.readTimedOut() == .respondAndClose(.requestTimeout))
    }

    @Test func respondingHasNoReadDeadline() {
        let clock = ManualClock()
        var machine = HTTPConnectionStateMachine(timeouts: timeouts(), clock: clock, tls: false)
        machine.receivedHeadBytes()
        machine.headCompleted(hasBody: true)
        machine.bodyCompleted()
        #expect(machine.readDeadline == .distantFuture)
        #expect(!machine.isIdle)
    }

    @Test func keepAliveWaitsTheIdleTimeThenTheNextHeadGetsItsOwnDeadline() {
        let clock = ManualClock()
        var machine = HTTPConnectionStateMachine(timeouts: timeouts(), clock: clock, tls: false)
        machine.receivedHeadBytes()
        machine.headCompleted(hasBody: false)
        let sent = clock.now()
        #expect(machine.responseSent(keepAlive: true) == .awaitRequest(until: sent + .seconds(120)))
        #expect(machine.isIdle)
        clock.advance(by: .seconds(100))
        machine.receivedHeadBytes()
        #expect(machine.readDeadline == sent + .seconds(110))
    }

    @Test func idleKeepAliveConnectionClosesSilently() {
        let clock = ManualClock()
        var machine = keepAliveMachineAfterOneRequest(timeouts: timeouts(), clock: clock)
        clock.advance(by: .seconds(119))
        #expect(machine.readTimedOut() == .keepReading)
        clock.advance(by: .seconds(1))
        #expect(machine.readTimedOut() == .close)
    }

    @Test func responseWithoutKeepAliveCloses() {
        let clock = ManualClock()
        var machine = HTTPConnectionStateMachine(timeouts: timeouts(), clock: clock, tls: false)
        machine.receivedHeadBytes()
        machine.headCompleted(hasBody: false)
        #expect(machine.responseSent(keepAlive: false) == .close)
        #expect(machine.state == .closed)
    }

    @Test func drainingClosesIdleConnectionsAtOnceWithoutGrace() {
        let clock = ManualClock()
        var noGrace = timeouts()
        noGrace.drainIdleGrace = .zero
        var machine = keepAliveMachineAfterOneRequest(timeouts: noGrace, clock: clock)
        #expect(machine.startDraining() == .closeNow)
        #expect(machine.state == .closed)
    }

    /// Regression: closing idle keep-alive connections at once lost a request a busy client sent
    /// just as the close reached it (GracefulShutdownTests, about 1 run in 5).
    @Test func drainingGivesIdleConnectionsAGraceForARequestOnItsWay() {
        let clock = ManualClock()
        var machine = keepAliveMachineAfterOneRequest(timeouts: timeouts(), clock: clock)
        #expect(machine.startDraining() == .closeWhenQuiet)
        #expect(machine.readDeadline == clock.now() + HTTPTimeouts().drainIdleGrace)
        // A request arrives within the grace: it is answered, with Connection: close.
        machine.receivedHeadBytes()
        machine.headCompleted(hasBody: false)
        #expect(!machine.mayKeepAlive(requestKeepAlive: true))
        #expect(machine.responseSent(keepAlive: true) == .close)
    }

    @Test func drainingClosesAQuietIdleConnectionWhenTheGraceEnds() {
        let clock = ManualClock()
        var machine = keepAliveMachineAfterOneRequest(timeouts: timeouts(), clock: clock)
        #expect(machine.startDraining() == .closeWhenQuiet)
        clock.advance(by: .milliseconds(100))
        #expect(machine.readTimedOut() == .keepReading)
        clock.advance(by: .milliseconds(200))
        #expect(machine.readTimedOut() == .close)
        #expect(machine.state == .closed)
    }

    /// Regression: draining closed keep-alive connections whose next request was already in
    /// the socket's receive queue, losing requests the client had sent (GracefulShutdownTests).
    @Test func drainingAnswersARequestThatArrivedButWasNotRead() {
        let clock = ManualClock()
        var machine = keepAliveMachineAfterOneRequest(timeouts: timeouts(), clock: clock)
        #expect(machine.startDraining(inputPending: true) == .finishInFlight)
        machine.receivedHeadBytes()
        machine.headCompleted(hasBody: false)
        #expect(!machine.mayKeepAlive(requestKeepAlive: true))
        #expect(machine.responseSent(keepAlive: true) == .close)
    }

    /// Regression: draining closed connections still in their TLS handshake; a TLS 1.3 client,
    /// done half a round trip earlier, had already sent its request and met a reset
    /// (SaturationShutdownTests with a new connection every 2 requests: 6 to 52 per shutdown).
    @Test func drainingLetsAHandshakeFinishAndAnswersTheFirstRequestWithinTheGrace() {
        let clock = ManualClock()
        let start = clock.now()
        var machine = HTTPConnectionStateMachine(timeouts: timeouts(), clock: clock, tls: true)
        #expect(machine.startDraining() == .finishInFlight)
        #expect(machine.readDeadline == start + .seconds(10))  // the handshake keeps its own timeout
        clock.advance(by: .milliseconds(400))
        machine.handshakeCompleted()
        #expect(machine.state == .awaitingRequest(until: clock.now() + HTTPTimeouts().drainIdleGrace, isFirst: true))
        machine.receivedHeadBytes()
        machine.headCompleted(hasBody: false)
        #expect(!machine.mayKeepAlive(requestKeepAlive: true))
        #expect(machine.responseSent(keepAlive: true) == .close)
    }

    @Test func drainingClosesAFinishedHandshakeWithoutRequestWhenTheGraceEnds() {
        let clock = ManualClock()
        var machine = HTTPConnectionStateMachine(timeouts: timeouts(), clock: clock, tls: true)
        #expect(machine.startDraining() == .finishInFlight)
        machine.handshakeCompleted()
        clock.advance(by: .milliseconds(300))
        #expect(machine.readTimedOut() == .close)
        var noGrace = timeouts()
        noGrace.drainIdleGrace = .zero
        var abrupt = HTTPConnectionStateMachine(timeouts: noGrace, clock: clock, tls: true)
        #expect(abrupt.startDraining() == .closeNow)
        abrupt.handshakeCompleted()
        #expect(abrupt.state == .closed)
    }

    @Test func drainingFinishesInFlightRequestsWithConnectionClose() {
        let clock = ManualClock()
        var machine = HTTPConnectionStateMachine(timeouts: timeouts(), clock: clock, tls: false)
        machine.receivedHeadBytes()
        #expect(machine.startDraining() == .finishInFlight)
        machine.headCompleted(hasBody: false)
        #expect(!machine.mayKeepAlive(requestKeepAlive: true))
        #expect(machine.responseSent(keepAlive: true) == .close)
    }

    @Test func mayKeepAliveFollowsTheClient() {
        let machine = HTTPConnectionStateMachine(timeouts: timeouts(), clock: ManualClock(), tls: false)
        #expect(machine.mayKeepAlive(requestKeepAlive: true))
        #expect(!machine.mayKeepAlive(requestKeepAlive: false))
    }
}
