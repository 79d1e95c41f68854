import Glibc
import Testing
@testable import EventLoop

/// Starts a server running `handler` per connection; returns it with the probes of every
/// server-side descriptor.
func startServer(configuration: TCPServer.Configuration = .init(), probes: ProbeList,
                 _ handler: @escaping @Sendable (Socket) async -> Void) throws -> TCPServer {
    let server = try TCPServer.bind(group: sharedGroup, address: loopback, configuration: configuration) { socket in
        probes.add(socket.descriptor)
        await handler(socket)
    }
    server.start()
    return server
}

/// Runs `body` with a client connected to `server`, on one loop; closes the client afterwards.
func withClient<Result: Sendable>(of server: TCPServer, probes: ProbeList,
                                  _ body: @escaping @Sendable (Socket, EventLoop) async throws -> Result) async throws -> Result {
    let loop = sharedGroup.next()
    return try await withTaskExecutorPreference(loop) {
        let client = try await Socket.connect(to: server.localAddress, on: loop, deadline: .after(.seconds(5)))
        probes.add(client.descriptor)
        client.readDeadline = .after(.seconds(10))
        client.writeDeadline = .after(.seconds(10))
        defer { client.close() }
        return try await body(client, loop)
    }
}

@Suite(.timeLimit(.minutes(1)))
struct SocketTests {
    @Test func connectsReadsWritesAndSeesEndOfStream() async throws {
        let probes = ProbeList()
        let server = try startServer(probes: probes) { socket in
            _ = try? await readFully(socket, count: 4)
            try? await write(socket, "pong")
            socket.shutdownWrite()
            _ = try? await readFully(socket, count: 1)  // until the client closes
        }
        let (reply, endOfStream, onLoop, remote) = try await withClient(of: server, probes: probes) { client, loop in
            try await write(client, "ping")
            let reply = try await readFully(client, count: 4)
            let buffer = TestBuffer(count: 16)
            let endOfStream = try await client.read(into: buffer.bytes)
            return (String(decoding: reply, as: UTF8.self), endOfStream, loop.inEventLoop, client.remoteAddress)
        }
        #expect(reply == "pong")
        #expect(endOfStream == 0)
        #expect(onLoop, "code after an await on a socket must run on its loop thread")
        #expect(remote == server.localAddress)
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }

    /// 8 MB in one call: far more than the send buffer, so `send` returns partial counts and
    /// the writer suspends until the (deliberately slow) reader drains.
    @Test(arguments: [false, true])
    func largeWritesCompleteAcrossPartialWrites(vectored: Bool) async throws {
        let size = 8 << 20
        let payload = TestBuffer(count: size)
        for index in 0..<251 { payload.bytes[index] = UInt8(index) }  // a pattern that does not align with buffer sizes
        var filled = 251
        while filled < size {
            let step = min(filled, size - filled)
            (payload.bytes.baseAddress! + filled).copyMemory(from: payload.bytes.baseAddress!, byteCount: step)
            filled += step
        }
        let probes = ProbeList()
        let server = try startServer(probes: probes) { socket in
            let buffer = TestBuffer(count: 65536)
            var total = 0
            var intact = true
            do {
                while true {
                    let count = try await socket.read(into: buffer.bytes)
                    if count == 0 { break }
                    intact = intact && total + count <= size
                        && memcmp(buffer.bytes.baseAddress!, payload.bytes.baseAddress! + total, count) == 0
                    total += count
                    if total < 1_000_000 { try await socket.loop.sleep(until: .after(.milliseconds(1))) }
                }
                try await write(socket, "\(total) \(intact)")
            } catch {}
        }
        let reply = try await withClient(of: server, probes: probes) { client, _ in
            if vectored {
                let parts = [payload.prefix(0), UnsafeRawBufferPointer(rebasing: payload.bytes[0..<1_000_001]),
                             UnsafeRawBufferPointer(rebasing: payload.bytes[1_000_001..<size])]
                try await client.writev(parts)
            } else {
                try await client.write(payload.prefix(size))
            }
            client.shutdownWrite()
            return String(decoding: try await readFully(client, count: 64), as: UTF8.self)
        }
        #expect(reply == "\(size) true")
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }

    @Test func readDeadlineFailsASuspendedReadWithTimedOut() async throws {
        let probes = ProbeList()
        let server = try startServer(probes: probes) { socket in
            _ = try? await readFully(socket, count: 1)
        }
        let start = Deadline.now()
        let error = try await withClient(of: server, probes: probes) { client, loop in
            client.readDeadline = .after(.milliseconds(50))
            let buffer = TestBuffer(count: 16)
            do {
                _ = try await client.read(into: buffer.bytes)
                return IOError.Code.closed.description
            } catch let error as IOError {
                #expect(loop.inEventLoop)
                return error.code.description
            }
        }
        #expect(error == IOError.Code.timedOut.description)
        let elapsed = Deadline.now().duration(since: start)
        #expect(elapsed >= .milliseconds(50) && elapsed < .seconds(3))
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }

    @Test func changingTheReadDeadlineWhileSuspendedTakesEffect() async throws {
        let probes = ProbeList()
        let server = try startServer(probes: probes) { socket in
            _ = try? await readFully(socket, count: 1)
        }
        let start = Deadline.now()
        let error = try await withClient(of: server, probes: probes) { client, loop in
            client.readDeadline = .distantFuture
            loop.spawn {
                try? await loop.sleep(until: .after(.milliseconds(30)))
                client.readDeadline = .now()  // what graceful shutdown does to an idle connection
            }
            let buffer = TestBuffer(count: 16)
            do {
                _ = try await client.read(into: buffer.bytes)
                return "read returned"
            } catch let error as IOError {
                return error.code.description
            }
        }
        #expect(error == IOError.Code.timedOut.description)
        #expect(Deadline.now().duration(since: start) < .seconds(3))
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }

    /// The wait consumes nothing: each read after it gets exactly the bytes that woke it, both
    /// before any read and after a read that emptied the receive queue; it also wakes at the end of stream.
    @Test func waitUntilReadableWakesForDataAndEndOfStreamWithoutConsuming() async throws {
        let probes = ProbeList()
        let server = try startServer(probes: probes) { socket in
            try? await socket.loop.sleep(until: .after(.milliseconds(30)))
            try? await write(socket, "one")
            try? await socket.loop.sleep(until: .after(.milliseconds(30)))
            try? await write(socket, "two")
            try? await socket.loop.sleep(until: .after(.milliseconds(30)))
            socket.shutdownWrite()
            _ = try? await readFully(socket, count: 1)  // until the client closes
        }
        let replies = try await withClient(of: server, probes: probes) { client, loop in
            let buffer = TestBuffer(count: 16)
            var replies: [String] = []
            for _ in 0..<3 {
                try await client.waitUntilReadable()
                #expect(loop.inEventLoop)
                let count = try await client.read(into: buffer.bytes)
                replies.append(String(decoding: buffer.bytes[0..<count], as: UTF8.self))
            }
            return replies
        }
        #expect(replies == ["one", "two", ""])
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }

    /// What draining does to an idle connection: moving the read deadline ends the wait with
    /// `.timedOut`, whether the wait peeks first or (after a read emptied the queue) not.
    @Test(arguments: [false, true])
    func waitUntilReadableFailsWithTimedOutWhenTheDeadlineMoves(afterARead: Bool) async throws {
        let probes = ProbeList()
        let server = try startServer(probes: probes) { socket in
            if afterARead { try? await write(socket, "x") }
            _ = try? await readFully(socket, count: 1)
        }
        let start = Deadline.now()
        let error = try await withClient(of: server, probes: probes) { client, loop in
            let buffer = TestBuffer(count: 16)
            if afterARead {
                // The loop sees the byte arrive before the read takes it: the readiness it
                // recorded then is used up by that read (a stale one made the wait return at once).
                try await loop.sleep(until: .after(.milliseconds(50)))
                _ = try await client.read(into: buffer.bytes)
            }
            client.readDeadline = .distantFuture
            loop.spawn {
                try? await loop.sleep(until: .after(.milliseconds(30)))
                client.readDeadline = .now()
            }
            do {
                try await client.waitUntilReadable()
                return "wait returned"
            } catch let error as IOError {
                return error.code.description
            }
        }
        #expect(error == IOError.Code.timedOut.description)
        #expect(Deadline.now().duration(since: start) < .seconds(3))
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }

    @Test func closeResumesASuspendedReadWithClosed() async throws {
        let probes = ProbeList()
        let server = try startServer(probes: probes) { socket in
            _ = try? await readFully(socket, count: 1)
        }
        let error = try await withClient(of: server, probes: probes) { client, loop in
            loop.spawn {
                try? await loop.sleep(until: .after(.milliseconds(20)))
                client.close()
                client.close()
            }
            let buffer = TestBuffer(count: 16)
            do {
                _ = try await client.read(into: buffer.bytes)
                return "read returned"
            } catch let error as IOError {
                return error.code.description
            }
        }
        #expect(error == IOError.Code.closed.description)
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }

    @Test func connectingToAClosedPortIsRefused() async throws {
        let listener = try ListeningSocket.bind(loopback, reusePort: false)
        let address = listener.localAddress
        listener.close()
        let loop = sharedGroup.next()
        let errorNumber = await withTaskExecutorPreference(loop) { () async -> Int32 in
            do {
                let socket = try await Socket.connect(to: address, on: loop, deadline: .after(.seconds(5)))
                socket.close()
                return 0
            } catch let error as IOError {
                return error.errorNumber
            } catch {
                return -1
            }
        }
        #expect(errorNumber == ECONNREFUSED)
    }

    @Test func writeDeadlineFailsAWriteThePeerNeverDrains() async throws {
        let probes = ProbeList()
        let release = Shared(false)
        let server = try startServer(probes: probes) { socket in
            // Never reads until the client gave up.
            _ = await eventually(within: .seconds(10)) { release.current }
        }
        let size = 64 << 20
        let payload = TestBuffer(count: size)
        let start = Deadline.now()
        let error = try await withClient(of: server, probes: probes) { client, _ in
            client.writeDeadline = .after(.milliseconds(100))
            do {
                try await client.write(payload.prefix(size))
                return "write completed"
            } catch let error as IOError {
                return error.code.description
            }
        }
        release.withValue { $0 = true }
        #expect(error == IOError.Code.timedOut.description)
        #expect(Deadline.now().duration(since: start) < .seconds(5))
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }

    /// A peer that keeps the receive queue full must not hold the loop: with 48 KiB queued and
    /// read 1 KiB at a time (every read fills its buffer, none waits), a task queued on the same
    /// loop runs after at most `readsBeforeYield` reads, not after all 48.
    @Test func readsThatNeverWaitYieldToTheLoopsOtherTasks() async throws {
        let probes = ProbeList()
        let size = 48 * 1024
        let readsBeforeOtherTaskRan = Shared<Int?>(nil)
        let server = try startServer(probes: probes) { socket in
            try? await socket.waitUntilReadable()
            // Let all of the client's bytes arrive: a loop timer, so the queue is full when reading starts.
            try? await socket.loop.sleep(until: .after(.milliseconds(200)))
            let otherTaskRan = Shared(false)
            Task(executorPreference: socket.loop) { otherTaskRan.withValue { $0 = true } }
            let buffer = TestBuffer(count: 1024)
            var total = 0, reads = 0
            while total < size, let count = try? await socket.read(into: buffer.bytes), count > 0 {
                total += count
                reads += 1
                if otherTaskRan.current, readsBeforeOtherTaskRan.current == nil {
                    readsBeforeOtherTaskRan.withValue { $0 = reads }
                }
            }
            try? await write(socket, "done")
        }
        let payload = TestBuffer(count: size)
        let reply = try await withClient(of: server, probes: probes) { client, _ in
            try await client.write(payload.prefix(size))
            return String(decoding: try await readFully(client, count: 4), as: UTF8.self)
        }
        #expect(reply == "done")
        let reads = try #require(readsBeforeOtherTaskRan.current, "the other task never ran while reading")
        #expect(reads <= Socket.readsBeforeYield + 1, "the other task ran only after \(reads) reads")
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }

    /// A keep-alive exchange waits between requests, and each wait starts the count again, so
    /// ordinary request-response traffic never pays for a yield.
    @Test func waitingBetweenRequestsRestartsTheCountOfReadsWithoutWaiting() async throws {
        let probes = ProbeList()
        let mostReadsWithoutWaiting = Shared(0)
        let server = try startServer(probes: probes) { socket in
            for _ in 0..<10 {
                guard (try? await socket.waitUntilReadable()) != nil,
                      (try? await readFully(socket, count: 4)) != nil else { return }
                mostReadsWithoutWaiting.withValue { $0 = max($0, socket.readsWithoutWaiting) }
                try? await write(socket, "pong")
            }
        }
        let replies = try await withClient(of: server, probes: probes) { client, _ in
            var replies = 0
            for _ in 0..<10 {
                try await write(client, "ping")
                if try await readFully(client, count: 4) == Array("pong".utf8) { replies += 1 }
            }
            return replies
        }
        #expect(replies == 10)
        #expect(mostReadsWithoutWaiting.current == 1)
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }

    /// A listener that never accepts, with its backlog full: the kernel drops further SYNs.
    @Test func connectFailsWithTimedOutAtItsDeadline() async throws {
        let listener = try ListeningSocket.bind(loopback, backlog: 0, reusePort: false)
        defer { listener.close() }
        let loop = sharedGroup.next()
        let start = Deadline.now()
        let outcome = await withTaskExecutorPreference(loop) { () async -> String in
            var held: [Socket] = []
            defer { for socket in held { socket.close() } }
            for _ in 0..<16 {
                do {
                    held.append(try await Socket.connect(to: listener.localAddress, on: loop, deadline: .after(.milliseconds(200))))
                } catch let error as IOError {
                    return error.code == .timedOut && error.call == "connect" ? "timed out" : "\(error)"
                } catch {
                    return "\(error)"
                }
            }
            return "every connect succeeded"
        }
        #expect(outcome == "timed out")
        #expect(Deadline.now().duration(since: start) < .seconds(10))
    }
}
