import Foundation
import Testing
@testable import EventLoop

@Suite(.serialized) struct RequestBodyBudgetTests {
    @Test func reservesInOrderWaitsForReleasesAndRefusesAfterItsDeadline() async throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let budget = RequestBodyBudget(capacity: 100)
        #expect(await budget.reserve(60, until: .after(.seconds(5)), on: loop))
        #expect(!(await budget.reserve(101, until: .after(.seconds(5)), on: loop)), "more than the whole budget")

        // 50 does not fit beside 60: it waits until 60 comes back.
        async let waited = budget.reserve(50, until: .after(.seconds(5)), on: loop)
        try await Task.sleep(for: .milliseconds(100))
        budget.release(60)
        #expect(await waited)
        #expect(budget.heldBytes == 50)

        // Nothing comes back: refused at the deadline, not before.
        let start = ContinuousClock.now
        #expect(!(await budget.reserve(60, until: .after(.milliseconds(300)), on: loop)))
        let waitedFor = ContinuousClock.now - start
        #expect(waitedFor >= .milliseconds(290) && waitedFor < .seconds(2))
        budget.release(50)
        #expect(budget.heldBytes == 0)
    }

    @Test func aBodyOverTheBudgetWaitsUnreadThenGets503WhileSmallBodiesAreServed() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.bodyBudget = RequestBodyBudget(capacity: 256 * 1024, bytesFreePerBody: 16 * 1024, maximumWait: .milliseconds(400))
        let budget = configuration.bodyBudget
        let server = try await TestHTTPServer(configuration: configuration)
        let length = 200 * 1024
        let head = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: \(length)\r\n\r\n"

        // Holds most of the budget: its body is one byte short.
        let holder = try server.connect()
        try holder.send(head + String(repeating: "h", count: length - 1))
        #expect(await waitUntil { budget.heldBytes >= length - 16 * 1024 })

        // Does not fit: refused after the budget's wait, and closed.
        let refused = try server.connect()
        try refused.send(head + String(repeating: "r", count: 140 * 1024))  // needs 128 KiB of capacity
        let start = ContinuousClock.now
        let answer = try refused.receiveResponse(for: .POST)
        #expect(answer.status == 503)
        #expect(answer.headers["Connection"] == "close")
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(refused.isClosedByPeer())

        // A body within the free allowance never waits.
        let small = try server.connect()
        try small.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "s", count: 1000))
        #expect(try small.receiveResponse(for: .POST).body.count == 1000)

        // The holder finishes: served, and its share comes back.
        try holder.send("h")
        #expect(try holder.receiveResponse(for: .POST).body.count == length)
        #expect(await waitUntil { budget.heldBytes == 0 })
        let after = try server.connect()
        try after.send(head + String(repeating: "a", count: length))
        #expect(try after.receiveResponse(for: .POST).status == 200)
        #expect(await waitUntil { budget.heldBytes == 0 })
        await server.stop()
    }
}
