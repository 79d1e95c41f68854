/// Lets `HTTPServerConnection.run` hand itself (and its handshake) to the task that serves a
/// busy period: the connection stays confined to its loop (that task prefers the loop as its
/// executor) and is used by one task at a time (`run` awaits it).
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A connection that the server can ask to drain.
protocol DrainableConnection: AnyObject {
    /// Closes the connection now if idle; otherwise lets the request in progress finish and
    /// answer with `Connection: close`.
    func startDraining()
}

/// Serves the requests of one connection, in order, until it closes.
///
/// Keep-alive, pipelining, `100 Continue`, body reading, timeouts and answering a malformed
/// request before closing all live here, once; the state machine decides deadlines and
/// keep-alive, the router answers. Confined to the stream's event loop.
final class HTTPServerConnection<Stream: ByteStream, Clock: HTTPClock>: DrainableConnection {
    /// Why the connection stops serving.
    private enum Exit: Error {
        /// Close without answering (peer gone, idle timeout, drained).
        case close
        /// Answer with this status and `Connection: close`, then close.
        case respond(HTTPStatus, reason: String)
    }

    private let stream: Stream
    /// The stream's loop: times waits for the body budget.
    private let loop: EventLoop
    private let router: Router
    private let configuration: HTTPServerConfiguration
    private let observer: any HTTPServerObserver
    // Touched only by this connection's task, one call at a time: no runtime exclusivity checks.
    @exclusivity(unchecked) private var machine: HTTPConnectionStateMachine<Clock>
    @exclusivity(unchecked) private var parser: HTTPRequestParser
    private let readBuffer: ConnectionBuffer
    private let writeBuffer: ConnectionBuffer
    @exclusivity(unchecked) private var dateCache = HTTPDateCache()
    /// Whether to time requests for `observer.requestServed` (a clock read per request end).
    private let timesRequests: Bool
    /// Bytes of the current body reserved from `configuration.bodyBudget`, given back once its
    /// response is sent or the connection ends.
    @exclusivity(unchecked) private var budgetedBodyBytes = 0
    /// `takeTurns`: the loop's poll count when this connection's current turn began, and the
    /// requests it has served since.
    @exclusivity(unchecked) private var pollCountAtTurnStart = -1
    @exclusivity(unchecked) private var requestsThisTurn = 0
    /// The requests one connection serves in a row before the loop polls for its other sockets.
    static var requestsPerTurn: Int { 16 }

    init(
        stream: Stream,
        loop: EventLoop,
        router: Router,
        configuration: HTTPServerConfiguration,
        observer: any HTTPServerObserver,
        clock: Clock,
        tls: Bool
    ) {
        self.stream = stream
        self.loop = loop
        self.router = router
        self.configuration = configuration
        self.observer = observer
        timesRequests = observer.observesServedRequests
        machine = HTTPConnectionStateMachine(timeouts: configuration.timeouts, clock: clock, tls: tls)
        parser = HTTPRequestParser(limits: configuration.limits)
        readBuffer = ConnectionBuffer(capacity: max(configuration.readBufferSize, configuration.limits.maxHeadSize + 1024))
        writeBuffer = ConnectionBuffer(capacity: 4096)
    }

    func startDraining() {
        switch machine.startDraining(inputPending: hasUnreadInput()) {
        case .closeNow: stream.close()
        case .closeWhenQuiet: stream.readDeadline = machine.readDeadline
        case .finishInFlight: break
        }
    }

    /// Whether bytes arrived that no read has taken: ciphertext buffered by TLS, or data in the
    /// socket's receive queue. A keep-alive client may have sent its next request already.
    private func hasUnreadInput() -> Bool {
        if let socket = stream as? Socket { return socket.hasUnreadBytes }
        if let tls = stream as? TLSStream<Socket> {
            return tls.connection.hasBufferedCiphertext || tls.transport.hasUnreadBytes
        }
        return false
    }

    /// Runs `handshake` (TLS) under the handshake timeout, then serves requests until the
    /// connection ends; closes the stream before returning.
    ///
    /// The handshake and the requests run in a task of their own per busy period (preferring
    /// `executor`, normally the stream's loop), which ends once the connection has waited
    /// `idleBufferReleaseDelay` for its next request; the calling task then waits for that
    /// request in a few small frames. A task keeps every slab of frames its deepest call
    /// needed until it ends, so an idle connection would otherwise hold the frames of a whole
    /// request; the extra task costs one creation per busy period, not per request.
    func run(handshake: ((Stream) async throws -> Void)?, executor: (any TaskExecutor)?) async {
        defer {
            machine.closed()
            releaseBodyBudget()
            stream.close()
        }
        do {
            guard try await serveBusyPeriodInOwnTask(handshake: handshake, executor: executor) else { return }
            while true {
                try await waitUntilReadableWhileIdle()
                guard try await serveBusyPeriodInOwnTask(handshake: nil, executor: executor) else { return }
            }
        } catch Exit.respond(let status, let reason) {
            await answerError(status, reason: reason)
        } catch {
            // Exit.close or an I/O error: the peer is gone or the stream was closed.
        }
    }

    /// Answers a request the connection cannot serve with `status` and `Connection: close`,
    /// then lingers before the close. Not inlined: `run`'s frame stays small while idle.
    @inline(never)
    nonisolated(nonsending) private func answerError(_ status: HTTPStatus, reason: String) async {
        observer.requestRejected(status: status, reason: reason)
        releaseBodyBudget()  // the body, if any, is gone with the frame that read it
        writeBuffer.clear()
        HTTPResponse.error(status).serialize(
            into: writeBuffer, version: .http1_1, keepAlive: false, includeBody: true,
            date: configuration.sendsDate ? dateCache.current() : nil)
        try? await writeResponseBuffer()
        await lingerBeforeClose()
    }

    /// Runs `serveBusyPeriod` in a new task and returns its result once that task has ended
    /// (and freed its frames).
    nonisolated(nonsending) private func serveBusyPeriodInOwnTask(
        handshake: ((Stream) async throws -> Void)?, executor: (any TaskExecutor)?
    ) async throws -> Bool {
        let serve = UncheckedSendable { try await self.serveBusyPeriod(handshake: handshake) }
        return try await Task(executorPreference: executor) { try await serve.value() }.value
    }

    /// Runs `handshake` if given, then serves requests until the connection ends (false) or
    /// waited `idleBufferReleaseDelay` for a request and freed its buffers (true).
    private func serveBusyPeriod(handshake: ((Stream) async throws -> Void)?) async throws -> Bool {
        if let handshake {
            stream.readDeadline = machine.readDeadline
            stream.writeDeadline = machine.readDeadline
            do {
                try await handshake(stream)
            } catch {
                // A drain closes connections still in their handshake; that is no TLS failure.
                if !machine.isDraining { observer.tlsHandshakeFailed(error) }
                return false
            }
            machine.handshakeCompleted()
            // A drain without grace closed the stream during the handshake; nothing to serve.
            if machine.state == .closed { return false }
        }
        return try await serveRequests()
    }

    /// Serves requests until the connection ends (false) or went idle with its buffers freed (true).
    nonisolated(nonsending) private func serveRequests() async throws -> Bool {
        while true {
            await takeTurns()
            if readBuffer.isEmpty, try await !waitForRequestIdle() { return true }
            let head = try await readHead()
            // Measured, not the loop's iteration time: the observer gets the real duration.
            let headEnd = timesRequests ? Deadline.now() : Deadline(uptimeNanoseconds: 0)
            machine.headCompleted(hasBody: head.framing != .none)
            let route = router.resolve(head)
            if case .rejection(let rejection) = route {
                if head.framing != .none {
                    // The answer does not depend on the body: never read it, answer and close
                    // (a client holding the body back for 100-continue just gets the answer).
                    try await send(rejection, for: head, keepAlive: false, since: headEnd)
                    await lingerBeforeClose()
                    return false
                }
                let keepAlive = machine.mayKeepAlive(requestKeepAlive: head.keepAlive)
                try await send(rejection, for: head, keepAlive: keepAlive, since: headEnd)
                if machine.responseSent(keepAlive: keepAlive) == .close { return false }
                continue
            }
            guard case .handler(let handler) = route else { return false }
            if head.expectsContinue, readBuffer.isEmpty {
                try await writeContinue()
            }
            let body = try await readBody(head.framing)
            machine.bodyCompleted()
            let response = await handler(HTTPRequest(head: head, body: body))
            let keepAlive = machine.mayKeepAlive(requestKeepAlive: head.keepAlive)
            try await send(response, for: head, keepAlive: keepAlive, since: headEnd)
            releaseBodyBudget()
            if machine.responseSent(keepAlive: keepAlive) == .close { return false }
        }
    }

    /// Gives way to the loop's other connections after `requestsPerTurn` requests served without
    /// the loop polling in between: a client that pipelines requests as fast as they are answered
    /// keeps its socket readable, and would otherwise hold the loop for as long as it sends.
    nonisolated(nonsending) private func takeTurns() async {
        if loop.pollCount != pollCountAtTurnStart {
            pollCountAtTurnStart = loop.pollCount
            requestsThisTurn = 0
        }
        requestsThisTurn += 1
        if requestsThisTurn > Self.requestsPerTurn { await loop.yieldToIO() }
    }

    // MARK: Reading

    /// Reads until a whole request head is buffered; throws `Exit` when the connection ends first.
    nonisolated(nonsending) private func readHead() async throws -> HTTPRequestHead {
        while true {
            if !readBuffer.isEmpty {
                machine.receivedHeadBytes()
                do throws(HTTPParseError) {
                    if let (head, consumed) = try parser.parseHead(readBuffer.readable) {
                        readBuffer.consume(consumed)
                        return head
                    }
                } catch {
                    throw Exit.respond(error.status, reason: error.reason)
                }
            }
            guard try await readMore() > 0 else { throw Exit.close }
        }
    }

    /// Reads the body delimited by `framing`, copying it once out of the read buffer.
    nonisolated(nonsending) private func readBody(_ framing: HTTPBodyFraming) async throws -> [UInt8] {
        var body: [UInt8] = []
        switch framing {
        case .none, .untilClose:
            break
        case .contentLength(let length):
            try await makeRoom(in: &body, for: min(length, configuration.bodyBudget.bytesFreePerBody), upTo: length)
            while true {
                let take = min(length - body.count, readBuffer.readableCount)
                try await makeRoom(in: &body, for: take, upTo: length)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: readBuffer.readable[0..<take]))
                readBuffer.consume(take)
                if body.count == length { break }
                guard try await readMore() > 0 else { throw Exit.close }
            }
        case .chunked:
            var decoder = ChunkedDecoder(maxBodySize: configuration.limits.maxBodySize)
            while true {
                // The chunk data in the buffer is at most all of it.
                try await makeRoom(in: &body, for: readBuffer.readableCount, upTo: configuration.limits.maxBodySize)
                do throws(HTTPParseError) {
                    let consumed = try decoder.decode(readBuffer.readable, into: &body)
                    readBuffer.consume(consumed)
                } catch {
                    throw Exit.respond(error.status, reason: error.reason)
                }
                if decoder.isComplete { break }
                guard try await readMore() > 0 else { throw Exit.close }
            }
        }
        return body
    }

    /// Gives `body` the capacity for `count` more bytes (doubling, at most `limit` in all),
    /// first reserving from the body budget what that capacity exceeds the free allowance by.
    /// While the budget has no room, the socket is not read (the client's sends stall); when
    /// none frees within the budget's wait (or the body's own deadline), answers 503.
    nonisolated(nonsending) private func makeRoom(in body: inout [UInt8], for count: Int, upTo limit: Int) async throws {
        let needed = body.count + count
        guard needed > body.capacity else { return }
        let capacity = min(limit, max(needed, 2 * body.capacity))
        let budget = configuration.bodyBudget
        let charge = max(0, capacity - budget.bytesFreePerBody) - budgetedBodyBytes
        if charge > 0 {
            let deadline = min(machine.clock.now() + budget.maximumWait, machine.readDeadline)
            guard await budget.reserve(charge, until: deadline, on: loop) else {
                throw Exit.respond(.serviceUnavailable, reason: "request bodies hold the whole body budget")
            }
            budgetedBodyBytes += charge
        }
        body.reserveCapacity(capacity)
    }

    /// Gives the current body's reservation back to the budget.
    private func releaseBodyBudget() {
        guard budgetedBodyBytes > 0 else { return }
        configuration.bodyBudget.release(budgetedBodyBytes)
        budgetedBodyBytes = 0
    }

    /// Waits for the first byte of the next request; true when it came. A request that comes
    /// within `idleBufferReleaseDelay` (a busy keep-alive client) finds the buffers in place;
    /// after that the connection frees its read, write and TLS buffers and returns false, and
    /// `run` waits holding none (`waitUntilReadableWhileIdle`), so an idle keep-alive connection
    /// costs no buffer memory and a busy one no allocation per request. The wait runs under the
    /// same deadline, with the same timeout handling, as the read it stands for; the next read
    /// allocates the buffers again.
    nonisolated(nonsending) private func waitForRequestIdle() async throws -> Bool {
        writeBuffer.clear()  // the last response, already sent
        let releaseAt = machine.clock.now() + configuration.idleBufferReleaseDelay
        while true {
            let deadline = machine.readDeadline
            let waitingToRelease = releaseAt < deadline
            stream.readDeadline = waitingToRelease ? releaseAt : deadline
            do {
                try await stream.waitUntilReadable()
                return true
            } catch let error as IOError where error.isReadTimeout {
                if waitingToRelease {
                    releaseIdleBuffers()
                    return false
                }
                try handleReadTimeout()
            }
        }
    }

    /// Waits, holding no buffer, until the next request's first byte arrives, under the
    /// state machine's deadline and timeout handling.
    nonisolated(nonsending) private func waitUntilReadableWhileIdle() async throws {
        while true {
            stream.readDeadline = machine.readDeadline
            do {
                try await stream.waitUntilReadable()
                return
            } catch let error as IOError where error.isReadTimeout {
                try handleReadTimeout()
            }
        }
    }

    /// Frees every buffer of a connection that has nothing buffered.
    private func releaseIdleBuffers() {
        readBuffer.releaseStorage()
        writeBuffer.releaseStorage()
        stream.releaseIdleBuffers()
    }

    /// Reads more bytes into the buffer under the state machine's deadline; returns 0 at end of
    /// stream. Only the read's own deadline is handled here: the timeout of a write the read
    /// made (TLS) ends the connection like any write timeout.
    nonisolated(nonsending) private func readMore() async throws -> Int {
        while true {
            stream.readDeadline = machine.readDeadline
            do {
                let count = try await stream.read(into: readBuffer.writableSpace(minimum: 2048))
                readBuffer.didWrite(count)
                return count
            } catch let error as IOError where error.isReadTimeout {
                try handleReadTimeout()
            }
        }
    }

    /// Returns when the state machine lets the read go on after its deadline passed; throws the
    /// `Exit` it decides otherwise.
    private func handleReadTimeout() throws {
        switch machine.readTimedOut() {
        case .keepReading: return
        case .close: throw Exit.close
        case .respondAndClose(let status): throw Exit.respond(status, reason: "request too slow")
        }
    }

    /// After an error answer, reads and discards what the client still sends for a short
    /// while: closing with unread bytes makes the kernel send a reset, which can destroy the
    /// answer before the client reads it. A plain socket half-closes first, so the client sees
    /// the end at once and closes its side, which ends the wait.
    nonisolated(nonsending) private func lingerBeforeClose() async {
        (stream as? Socket)?.shutdownWrite()
        stream.readDeadline = machine.clock.now() + configuration.timeouts.lingerAfterError
        while let count = try? await stream.read(into: readBuffer.writableSpace(minimum: 2048)), count > 0 {
            readBuffer.clear()
        }
    }

    // MARK: Writing

    nonisolated(nonsending) private func writeContinue() async throws {
        writeBuffer.clear()
        writeBuffer.append("HTTP/1.1 100 Continue\r\n\r\n")
        try await writeResponseBuffer()
    }

    /// Serializes `response` into the write buffer and writes it with one call.
    nonisolated(nonsending) private func send(_ response: HTTPResponse, for head: HTTPRequestHead, keepAlive: Bool, since start: Deadline) async throws {
        writeBuffer.clear()
        response.serialize(
            into: writeBuffer,
            version: head.version,
            keepAlive: keepAlive,
            includeBody: head.method != .HEAD,
            date: configuration.sendsDate ? dateCache.current() : nil
        )
        try await writeResponseBuffer()
        if timesRequests {
            observer.requestServed(
                method: head.method, path: head.path, status: response.status,
                duration: Deadline.now().duration(since: start))
        }
    }

    nonisolated(nonsending) private func writeResponseBuffer() async throws {
        stream.writeDeadline = machine.clock.now() + configuration.timeouts.write
        try await stream.write(writeBuffer.readable)
    }
}
