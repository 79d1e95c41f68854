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
}
