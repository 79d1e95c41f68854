import EventLoop
import Testing
@testable import loadgen

/// loadgen end to end: real TLS connections from the reactor to a Python HTTPS webhook.
@Suite(.serialized, .timeLimit(.minutes(2))) struct LoadRunTests {
    private static func corpus() -> Corpus {
        var options = CorpusOptions()
        options.reviews = 24
        options.outlierRate = 0
        options.namespaces = 4
        return Corpus(options: options)
    }

    private func run(mode: String, verify: VerifyMode, requests: Int = 120, rate: Double? = nil,
                     requestsPerConnection: Int? = nil, untilServerStops: Bool = false) async throws -> RunStatistics {
        let corpus = Self.corpus()
        let server = try FakeWebhook(mode: mode, corpus: corpus)
        let target = try #require(Target(url: server.url))
        let group = EventLoopGroup(threads: 2)
        defer { group.shutdown() }
        let dialer = try TLSDialer(target: target, caFile: server.certificatePath, timeout: .seconds(10), loops: group.loops)
        let plan = LoadPlan(target: target, corpus: corpus, verifier: ResponseVerifier(mode: verify), connections: 4, threads: 2,
                            requestLimit: requests, duration: .seconds(30), warmup: .zero, rate: rate, timeout: .seconds(10), seed: 1,
                            requestsPerConnection: requestsPerConnection, untilServerStops: untilServerStops)
        return await LoadRun(plan: plan, loops: group.loops, dialer: dialer).run().statistics
    }

    @Test func closedLoopVerifiesEveryAnswerInFull() async throws {
        let statistics = try await run(mode: "good", verify: .full)
        #expect(statistics.failures.isEmpty, "\(statistics.failures)")
        #expect(statistics.succeeded == 120)
        #expect(statistics.latency.totalCount == 120)
        #expect(statistics.bytesSent > 120 * 2048)
        #expect(statistics.bytesReceived > 120 * 100)
    }

    @Test func connectionsAreReplacedAfterTheirRequests() async throws {
        let statistics = try await run(mode: "good", verify: .envelope, requestsPerConnection: 10)
        let events = statistics.connectionEvents
        #expect(statistics.failures.isEmpty, "\(statistics.failures)")
        #expect(statistics.succeeded == 120)
        // 4 connections share 120 requests: every full 10 closes one; a worker's last may be partial.
        #expect(events.recycled >= 8 && events.recycled <= 12, "\(events)")
        #expect(events.opened >= events.recycled && events.opened <= events.recycled + 4, "\(events)")
        #expect(events.closeAnswers == 0 && events.refusedAfterServerStopped == 0)
    }

    /// The server closes each connection after its answer; at 5 requests/s over 4 connections each
    /// waits 0.8 s before its next request, so the close has arrived when it is reused.
    @Test func untilServerStopsReopensConnectionsClosedBetweenRequests() async throws {
        let statistics = try await run(mode: "close-idle", verify: .envelope, requests: 8, rate: 5, untilServerStops: true)
        let events = statistics.connectionEvents
        #expect(statistics.failures.isEmpty, "\(statistics.failures)")
        #expect(statistics.succeeded == 8)
        #expect(events.closedBetweenRequests == 4, "\(events)")
        #expect(events.opened == 8 && events.closeAnswers == 0, "\(events)")
    }

    @Test func openLoopKeepsTheRate() async throws {
        let start = Deadline.now()
        let statistics = try await run(mode: "good", verify: .envelope, requests: 60, rate: 100)
        let elapsed = Deadline.now().duration(since: start)
        #expect(statistics.failures.isEmpty, "\(statistics.failures)")
        #expect(statistics.succeeded == 60)
        #expect(elapsed >= .milliseconds(550))  // 60 requests at 100/s take 0.6 s
    }

    @Test(arguments: [
        ("fixed-uid", VerifyMode.envelope, FailureKind.uidMismatch),
        ("always-patch", .envelope, .unexpectedPatch),
        ("bad-patch", .full, .patchDoesNotApply),
    ])
    func wrongAnswersAreCountedByKind(mode: String, verify: VerifyMode, expected: FailureKind) async throws {
        let statistics = try await run(mode: mode, verify: verify)
        #expect(statistics.failures[expected, default: 0] > 0, "\(statistics.failures)")
        #expect(statistics.failed + statistics.succeeded == 120)
    }

    @Test func unreachableServerCountsConnectFailures() async throws {
        let target = try #require(Target(url: "https://127.0.0.1:1/mutate"))
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let dialer = try TLSDialer(target: target, caFile: nil, timeout: .seconds(2), loops: group.loops)
        let plan = LoadPlan(target: target, corpus: Self.corpus(), verifier: ResponseVerifier(mode: .envelope), connections: 2, threads: 1,
                            requestLimit: 6, duration: .seconds(5), warmup: .zero, rate: nil, timeout: .seconds(2), seed: 1)
        let statistics = await LoadRun(plan: plan, loops: group.loops, dialer: dialer).run().statistics
        #expect(statistics.failures[.connect] == 6)
        #expect(statistics.succeeded == 0)
    }

    @Test func idleConnectionsAreOpenedAndHeld() async throws {
        let server = try FakeWebhook(mode: "good", corpus: Self.corpus())
        let target = try #require(Target(url: server.url))
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let dialer = try TLSDialer(target: target, caFile: server.certificatePath, timeout: .seconds(10), loops: group.loops)
        let (opened, failures) = await IdleConnections(count: 40, hold: .milliseconds(200), loops: group.loops, dialer: dialer).run()
        #expect(opened == 40)
        #expect(failures.isEmpty)
    }
}
