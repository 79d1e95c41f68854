import Testing
@testable import EventLoop

@Suite struct TimerQueueTests {
    private func drain(_ queue: inout TimerQueue, now: Deadline) -> Int {
        var count = 0
        while let due = queue.popExpired(now: now) {
            if case .work(let work) = due { work() }
            count += 1
        }
        return count
    }

    @Test func firesDueEntriesInDeadlineThenSchedulingOrder() {
        var queue = TimerQueue()
        let log = Shared<[Int]>([])
        for (index, deadline) in [5, 1, 3, 1, 9].enumerated() {
            _ = queue.schedule(at: Deadline(uptimeNanoseconds: UInt64(deadline))) { log.withValue { $0.append(index) } }
        }
        #expect(drain(&queue, now: Deadline(uptimeNanoseconds: 5)) == 4)
        #expect(log.current == [1, 3, 2, 0])
        #expect(!queue.isEmpty)
    }

    @Test func cancelledEntriesAreSkippedAndCompacted() {
        var queue = TimerQueue()
        var handles: [TimerHandle] = []
        for index in 0..<5000 {
            handles.append(queue.schedule(at: Deadline(uptimeNanoseconds: UInt64(index))) {})
        }
        for handle in handles.dropLast() { queue.cancel(handle) }
        queue.cancel(handles[0])  // twice: harmless
        #expect(drain(&queue, now: .distantFuture) == 1)
        #expect(queue.isEmpty)
    }

    @Test(arguments: [(0, 0), (1, 1), (999_999, 1), (1_000_000, 1), (1_000_001, 2)])
    func timeoutRoundsUpToWholeMilliseconds(nanoseconds: UInt64, expected: Int32) {
        var queue = TimerQueue()
        _ = queue.schedule(at: Deadline(uptimeNanoseconds: 1_000 + nanoseconds)) {}
        #expect(queue.timeoutMilliseconds(now: Deadline(uptimeNanoseconds: 1_000)) == expected)
        #expect(TimerQueue().timeoutMilliseconds(now: .now()) == -1)
    }
}
