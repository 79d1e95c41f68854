import Foundation
import Glibc
import Synchronization
import Testing
@testable import EventLoop

/// One loop, two connections: a client pipelining thousands of requests, all sent at once and
/// their answers read as they come, keeps its socket readable the whole time. The other
/// connection's request must still be answered within a few turns, not after the whole flood.
@Suite(.timeLimit(.minutes(1)))
struct HTTPServerFairnessTests {
    static let pipelined = 20_000

    /// The flood's requests served so far (counted by the server's handler), and the count when
    /// the other connection's request was served.
    final class Counts: Sendable {
        let flood = Atomic<Int>(0)
        let floodReceived = Atomic<Int>(0)
    }

    @Test func aPipeliningClientDoesNotHoldTheLoop() async throws {
        let counts = Counts()
        var router = Router()
        router.add(.GET, "/flood") { _ in
            counts.flood.add(1, ordering: .relaxed)
            return .text(.ok, "f")
        }
        router.add(.GET, "/other") { _ in .text(.ok, "\(counts.flood.load(ordering: .relaxed))") }
        let server = try await TestHTTPServer(threads: 1, router: router)
        let flood = try server.connect()
        try flood.send("GET /flood HTTP/1.1\r\nHost: a\r\n\r\n")
        let answerSize = try flood.receiveOnce().count
        let other = try server.connect()

        let floodFD = flood.fd
        let reader = Thread {
            var received = 0
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while received < answerSize * Self.pipelined {
                let count = buffer.withUnsafeMutableBytes { recv(floodFD, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { break }
                received += count
            }
            counts.floodReceived.store(received / answerSize, ordering: .releasing)
        }
        reader.start()
        let batch = Array(String(repeating: "GET /flood HTTP/1.1\r\nHost: a\r\n\r\n", count: Self.pipelined).utf8)
        Thread { _ = batch.withUnsafeBytes { send(floodFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }.start()
        #expect(await waitUntil(timeout: .seconds(10)) { counts.flood.load(ordering: .relaxed) > 1 }, "the flood is not served")

        try other.send("GET /other HTTP/1.1\r\nHost: a\r\n\r\n")
        let servedBefore = Int(try other.receiveResponse().body) ?? -1
        #expect(await waitUntil(timeout: .seconds(30)) { counts.floodReceived.load(ordering: .acquiring) == Self.pipelined })
        print("HTTPServerFairnessTests: the other connection was served after \(servedBefore) of \(Self.pipelined) pipelined requests")
        // Served in turns of 16 requests, the other request waits a turn or two behind the data
        // already read; held, it waits for the whole flood.
        #expect(servedBefore >= 0 && servedBefore < Self.pipelined / 2, "served after \(servedBefore) of the flood's \(Self.pipelined)")
        await server.stop()
    }
}
