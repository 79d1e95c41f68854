import Foundation
import Testing

/// Clients that each hold a body of the largest accepted size, one byte short, on both ports of
/// the real binary, while a `GoodClient` keeps posting admissions. The metrics port must refuse
/// bodies at once, the TLS port must hold no more than the body budget (the rest wait, then
/// get 503), resident memory must stay bounded, and the good client must be served throughout.
@Suite(.serialized) struct BodyMemoryBudgetTests {
    static let maxBodyBytes = 4 << 20
    static let connectionsPerPort = 25
    /// Half the default, so that bodies wait for it within the test's hold even when the loaded
    /// machine slows the clients down.
    static let budget = 32 << 20
    /// What the process may add: the budget, then buffers, TLS and allocator slack. 50 bodies of
    /// 4 MiB would add over 200 MiB (before the budget, 124 MiB within the hold).
    static let rssGrowthBound = 64 << 20
    static let holdSeconds = 8

    @Test func bodiesOnBothPortsStayWithinTheBudgetAndTheGoodClientIsServed() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pair = try await TestTools.makeCertificate(in: directory, name: "tls")
        let certificates = try CertificateDirectory(at: directory.appendingPathComponent("certs"), layout: "rename", certificate: pair.certificate, key: pair.key)
        let metricsPort = try TestTools.freePort()
        let webhook = try certificates.webhook(threads: 2, extraArguments: [
            "--max-body-bytes", "\(Self.maxBodyBytes)", "--metrics-port", "\(metricsPort)",
            "--max-buffered-body-bytes", "\(Self.budget)",
        ])
        let port = try await webhook.listeningPort()

        let good = GoodClient(port: port, caFile: pair.certificate)
        try await Task.sleep(for: .milliseconds(500))
        let script = try String(contentsOf: TestTools.root.appendingPathComponent("Benchmarks/body-flood.py"), encoding: .utf8)
        let arguments = [port, metricsPort, Int(webhook.process.processIdentifier), Self.maxBodyBytes, Self.connectionsPerPort, Self.holdSeconds]
        let report = try await TestTools.python(script, arguments.map(String.init), timeout: .seconds(60))
        let served = try await good.stop()
        let before = try #require(report["rss_before"] as? Int)
        let peak = try #require(report["rss_peak"] as? Int)
        print("body flood: RSS \(before >> 20) -> \(peak >> 20) MiB; metrics 413: \(report["metrics_413"] ?? 0), TLS 503: \(report["tls_503"] ?? 0); good client: \(served)")

        #expect(report["metrics_413"] as? Int == Self.connectionsPerPort, "\(report["statuses"] ?? "")")
        #expect((report["tls_503"] as? Int ?? 0) > 0, "no body waited for the budget: \(report["statuses"] ?? "")")
        if !Sanitizers.address {
            #expect(peak - before < Self.rssGrowthBound, "RSS grew by \((peak - before) >> 20) MiB")
        }
        #expect(served.failures.isEmpty)
        #expect(served.requests > 20)
        #expect(served.p99Milliseconds < 1000)
        #expect(try await webhook.stop() == 0)
    }
}
