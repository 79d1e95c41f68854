import Glibc
import Testing
@testable import EventLoop

@Suite(.timeLimit(.minutes(1)))
struct SelectorRegistrationTests {
    /// Socket deadlines are rounded up to a grid of about 34 ms, so the idle-buffer releases of
    /// 30 keep-alive connections, due within 30 ms of each other, share one or two loop wake-ups
    /// instead of waking the loop once per connection (once per request at low rates).
    @Test func nearbyDeadlinesShareALoopWakeUp() async throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let waiters = 30
        let (polls, timedOut) = await withCheckedContinuation { (continuation: CheckedContinuation<(Int, Int), Never>) in
            loop.spawn {
                let descriptors = (0..<waiters).map { _ in try! EventFd() }
                let registrations = descriptors.map { SelectorRegistration(descriptor: $0.descriptor, loop: loop) }
                for registration in registrations { try! registration.register(events: Epoll.Event.readable | Epoll.Event.edgeTriggered) }
                let start = Deadline.now() + .milliseconds(50)
                let before = loop.pollCount
                let timedOut = await withTaskGroup(of: Bool.self) { tasks in
                    for (index, registration) in registrations.enumerated() {
                        tasks.addTask(executorPreference: loop) {
                            do {
                                try await registration.wait(.read, deadline: start + .milliseconds(index))
                                return false
                            } catch {
                                return true
                            }
                        }
                    }
                    return await tasks.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                let polls = loop.pollCount - before
                for registration in registrations { registration.deregister(removeFromEpoll: true) }
                for descriptor in descriptors { descriptor.close() }
                continuation.resume(returning: (polls, timedOut))
            }
        }
        #expect(timedOut == waiters)
        #expect(polls <= 4, "\(polls) epoll_wait calls to expire \(waiters) deadlines spread over \(waiters) ms")
    }

    @Test func deadlinesRoundUpToTheGrid() {
        let grid = SelectorRegistration.timerGranularityNanoseconds
        #expect(SelectorRegistration.roundedUp(Deadline(uptimeNanoseconds: 0)).uptimeNanoseconds == 0)
        #expect(SelectorRegistration.roundedUp(Deadline(uptimeNanoseconds: 1)).uptimeNanoseconds == grid)
        #expect(SelectorRegistration.roundedUp(Deadline(uptimeNanoseconds: grid)).uptimeNanoseconds == grid)
        #expect(SelectorRegistration.roundedUp(Deadline(uptimeNanoseconds: 5 * grid + 7)).uptimeNanoseconds == 6 * grid)
        #expect(SelectorRegistration.roundedUp(.distantFuture) == .distantFuture)
    }

    /// Cancelling the task fails its suspended read with `CancellationError` at once (the
    /// informer's watch at shutdown); the socket stays usable, and the stale cancellation does
    /// not reach the next task's wait on it. Closing it afterwards leaks nothing.
    @Test func cancellingTheTaskEndsItsSocketWaitAndOnlyThatWait() async throws {
        let probes = ProbeList()
        let server = try startServer(probes: probes) { socket in
            guard (try? await readFully(socket, count: 1)) != nil else { return }
            try? await socket.loop.sleep(until: .after(.milliseconds(50)))
            try? await write(socket, "x")
            _ = try? await readFully(socket, count: 1)
        }
        let (outcome, elapsed, next) = try await withClient(of: server, probes: probes) { client, loop in
            let buffer = TestBuffer(count: 16)
            let reader = Task(executorPreference: loop) { () -> String in
                do {
                    _ = try await client.read(into: buffer.bytes)
                    return "read returned"
                } catch is CancellationError {
                    return "cancelled"
                } catch {
                    return "\(error)"
                }
            }
            try await loop.sleep(until: .after(.milliseconds(30)))
            let start = Deadline.now()
            reader.cancel()
            let outcome = await reader.value
            let elapsed = Deadline.now().duration(since: start)
            try await write(client, "g")
            let next = try await readFully(client, count: 1)
            return (outcome, elapsed, next)
        }
        #expect(outcome == "cancelled")
        #expect(elapsed < .seconds(1), "\(elapsed)")
        #expect(next == Array("x".utf8), "the next wait (after a 50 ms pause) got the byte, not the old cancellation")
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }

    /// A task cancelled before it waits fails at once instead of suspending.
    @Test func aCancelledTaskDoesNotSuspendInASocketWait() async throws {
        let probes = ProbeList()
        let server = try startServer(probes: probes) { socket in
            _ = try? await readFully(socket, count: 1)
        }
        let outcome = try await withClient(of: server, probes: probes) { client, loop in
            let buffer = TestBuffer(count: 16)
            return await Task(executorPreference: loop) { () -> String in
                withUnsafeCurrentTask { $0?.cancel() }
                do {
                    _ = try await client.read(into: buffer.bytes)
                    return "read returned"
                } catch {
                    return error is CancellationError ? "cancelled" : "\(error)"
                }
            }.value
        }
        #expect(outcome == "cancelled")
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }
}
