import Testing
@testable import EventLoop

@Suite struct DeadlineTests {
    @Test func addingSaturates() {
        let base = Deadline(uptimeNanoseconds: 10)
        #expect((base + .seconds(1)).uptimeNanoseconds == 1_000_000_010)
        #expect((base + .nanoseconds(-20)).uptimeNanoseconds == 0)
        #expect(Deadline.distantFuture + .seconds(1) == .distantFuture)
        #expect(Deadline(uptimeNanoseconds: 5) < Deadline(uptimeNanoseconds: 6))
    }

    @Test func nowIsMonotonic() {
        let first = Deadline.now()
        let second = Deadline.now()
        #expect(first <= second)
        #expect(second.duration(since: first) >= .zero)
    }
}
