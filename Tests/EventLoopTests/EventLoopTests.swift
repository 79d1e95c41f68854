import Glibc
import Testing
@testable import EventLoop

/// An actor whose jobs run on a loop thread.
actor LoopPinnedCounter {
    let loop: EventLoop
    private(set) var value = 0

    init(loop: EventLoop) { self.loop = loop }

    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    func increment() -> Bool {
        value += 1
        return loop.inEventLoop
    }
}

@Suite(.timeLimit(.minutes(1)))
struct EventLoopTests {
    @Test func runsJobsInSubmissionOrderFromAnyThread() async {
        let loop = sharedGroup.next()
        let order = Shared<[Int]>([])
        for index in 0..<1000 {
            loop.execute { order.withValue { $0.append(index) } }
        }
        // Jobs enqueued on the loop thread itself run after those already queued.
        await onLoop(loop) {
            loop.execute { order.withValue { $0.append(1001) } }
            order.withValue { $0.append(1000) }
        }
        #expect(await eventually { order.current.count == 1002 })
        #expect(order.current == Array(0...1001))
    }

    @Test func executeFromAnotherThreadWakesAnIdleLoop() async throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        for _ in 0..<3 {
            // Let the loop block in epoll_wait with no timeout: only the eventfd can wake it.
            try await Task.sleep(for: .milliseconds(20))
            let ranOnLoop = await onLoop(loop) { loop.inEventLoop }
            #expect(ranOnLoop)
        }
        #expect(!loop.inEventLoop)
    }

    @Test func timersFireInDeadlineOrderAndCancelledOnesDoNot() async {
        let loop = sharedGroup.next()
        let fired = Shared<[Int]>([])
        let start = Deadline.now()
        await onLoop(loop) {
            let now = Deadline.now()
            for (index, delay) in [40, 10, 30, 20, 10].enumerated() {
                let handle = loop.scheduleTimer(at: now + .milliseconds(delay)) { fired.withValue { $0.append(index) } }
                if index == 2 { loop.cancelTimer(handle) }
            }
        }
        #expect(await eventually { fired.current.count == 4 })
        // Equal deadlines fire in scheduling order; index 2 was cancelled.
        #expect(fired.current == [1, 4, 3, 0])
        #expect(Deadline.now().duration(since: start) >= .milliseconds(40))
        try? await Task.sleep(for: .milliseconds(30))
        #expect(fired.current.count == 4)
    }

    @Test func sleepWaitsUntilItsDeadlineOnTheLoop() async throws {
        let loop = sharedGroup.next()
        let start = Deadline.now()
        let onLoopAfterSleep = try await withTaskExecutorPreference(loop) {
            try await loop.sleep(until: .after(.milliseconds(30)))
            return loop.inEventLoop
        }
        #expect(onLoopAfterSleep)
        #expect(Deadline.now().duration(since: start) >= .milliseconds(30))
    }

    @Test func cancellingASleepingTaskEndsTheSleep() async throws {
        let loop = sharedGroup.next()
        let start = Deadline.now()
        let task = Task(executorPreference: loop) {
            try await loop.sleep(until: .after(.seconds(30)))
        }
        try await Task.sleep(for: .milliseconds(10))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(Deadline.now().duration(since: start) < .seconds(5))
    }

    @Test func spawnedTasksAndPinnedActorsRunOnTheLoopThread() async {
        let loop = sharedGroup.next()
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<[Bool], Never>) in
            loop.spawn {
                var observations = [loop.inEventLoop]
                await Task.yield()
                observations.append(loop.inEventLoop)
                let counter = LoopPinnedCounter(loop: loop)
                observations.append(await counter.increment())
                observations.append(loop.inEventLoop)
                continuation.resume(returning: observations)
            }
        }
        #expect(result == [true, true, true, true])
    }

    /// A call from a loop task into an actor pinned to the same loop enqueues a job on the loop,
    /// and its return another: both run in the iteration that enqueued them. They used to wait
    /// for the next one, an `epoll_wait` per hop (100,003 for 100,000 calls).
    @Test func actorCallsFromALoopTaskRunInTheSameIteration() async {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let calls = 1000
        let polls = await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            loop.spawn {
                let counter = LoopPinnedCounter(loop: loop)
                let before = loop.pollCount
                for _ in 0..<calls { _ = await counter.increment() }
                continuation.resume(returning: loop.pollCount - before)
            }
        }
        #expect(polls <= 2, "\(polls) epoll_wait calls for \(calls) actor calls")
    }

    /// Jobs that keep enqueuing jobs do not starve I/O: the loop polls after `jobsPerIteration`.
    @Test func aLoopPollsAgainAfterItsJobBudget() async {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let hops = 3 * EventLoop.jobsPerIteration
        let polls = await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            loop.execute { JobChain(loop: loop, length: hops, done: continuation).next() }
        }
        #expect(polls >= 2 && polls <= 4, "\(polls) epoll_wait calls for \(hops) chained jobs")
    }

    @Test func groupHandsOutLoopsRoundRobinAndShutsDownOnce() {
        let group = EventLoopGroup(threads: 3)
        let picks = (0..<6).map { _ in ObjectIdentifier(group.next()) }
        let loops = group.loops.map(ObjectIdentifier.init)
        #expect(picks == loops + loops)
        #expect(Set(loops).count == 3)
        group.shutdown()
        group.shutdown()
    }

    /// A timer still pending at shutdown refers back to its loop (so do socket deadlines, whose
    /// heap entries stay until due); it must not keep the stopped loop, with its epoll instance
    /// and eventfd, alive.
    @Test func aShutDownGroupFreesItsLoops() async {
        weak var weakLoop: EventLoop?
        do {
            let group = EventLoopGroup(threads: 1)
            let loop = group.loops[0]
            weakLoop = loop
            await onLoop(loop) {
                _ = loop.scheduleTimer(at: .after(.seconds(60))) { _ = loop.inEventLoop }
            }
            group.shutdown()
        }
        #expect(weakLoop == nil)
    }
}

/// Jobs that each enqueue the next on their loop, then report how many `epoll_wait` calls the
/// chain took. Confined to its loop.
private final class JobChain: @unchecked Sendable {
    private let loop: EventLoop
    private var remaining: Int
    private let startPolls: Int
    private let done: CheckedContinuation<Int, Never>

    init(loop: EventLoop, length: Int, done: CheckedContinuation<Int, Never>) {
        self.loop = loop
        remaining = length
        startPolls = loop.pollCount
        self.done = done
    }

    func next() {
        remaining -= 1
        if remaining == 0 {
            done.resume(returning: loop.pollCount - startPolls)
        } else {
            loop.execute { self.next() }
        }
    }
}
