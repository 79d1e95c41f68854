import Testing
@testable import EventLoop

@Suite(.timeLimit(.minutes(1)))
struct LockedValueTests {
    private struct Refused: Error, Equatable {}

    @Test func incrementsFromTwoLoopThreadsAreNeverLost() async {
        let group = EventLoopGroup(threads: 2)
        defer { group.shutdown() }
        let counter = LockedValue(0)
        let perLoop = 20_000
        // Both loops increment at once, so the lock is contended (the case that ThreadSanitizer
        // could not follow through Synchronization.Mutex).
        await withTaskGroup(of: Void.self) { tasks in
            for loop in group.loops {
                tasks.addTask {
                    await onLoop(loop) {
                        for _ in 0..<perLoop { counter.withLock { $0 += 1 } }
                    }
                }
            }
        }
        #expect(counter.withLock { $0 } == perLoop * group.loops.count)
    }

    @Test func aThrowingBodyKeepsItsChangesAndReleasesTheLock() {
        let value = LockedValue([1])
        #expect(throws: Refused.self) {
            try value.withLock { (numbers: inout [Int]) throws(Refused) in
                numbers.append(2)
                throw Refused()
            }
        }
        // Taking the lock again on this thread returns: the throw released it.
        #expect(value.withLock { $0 } == [1, 2])
    }
}
