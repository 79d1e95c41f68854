import Foundation
import Testing

/// One port, one process. A second irsa-webhook on an address the first listens on is refused
/// at start (one line, exit code 2) for the TLS port and for the metrics port, and the first
/// keeps serving alone. With `--reuse-port` the second starts beside the first: the documented
/// zero-downtime handover (start the new process, then SIGTERM the old one) loses no request
/// under continuous load that keeps opening new TLS connections, and the process that took over
/// is handed over again the same way; beside one started with `--reuse-port`, a process without
/// it is refused as well.
@Suite(.serialized) struct PortOwnershipTests {
    static let accounts = TestTools.root.appendingPathComponent("deploy/dev/serviceaccounts.yaml").path
    static let review = TestTools.root.appendingPathComponent("deploy/dev/review.json").path

    static func webhook(port: Int, metricsPort: Int, tls: (certificate: String, key: String), extra: [String] = []) throws -> WebhookProcess {
        try WebhookProcess([
            "--host", "127.0.0.1", "--port", "\(port)", "--metrics-port", "\(metricsPort)", "--threads", "2",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key, "--service-accounts-file", accounts,
            "--shutdown-grace", "10s",
        ] + extra)
    }

    @Test func aSecondProcessOnTheSameAddressIsRefused() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let port = try TestTools.freePort()
        let metricsPort = try TestTools.freePort()
        let first = try Self.webhook(port: port, metricsPort: metricsPort, tls: tls)
        _ = try await first.listeningPort()

        let otherMetricsPort = try TestTools.freePort()
        for (secondPort, secondMetricsPort, flag, taken) in [
            (port, otherMetricsPort, "--port", port), (try TestTools.freePort(), metricsPort, "--metrics-port", metricsPort),
        ] {
            let second = try Self.webhook(port: secondPort, metricsPort: secondMetricsPort, tls: tls)
            let status = try await second.waitForExit(timeout: .seconds(20))
            #expect(status == 2, "\(flag): \(second.output)")
            let lines = second.output.split(separator: "\n")
            #expect(lines.count == 1, "one line: \(second.output)")
            #expect(second.output.hasPrefix("irsa-webhook: error: another process already listens on 127.0.0.1:\(taken) (\(flag))"),
                    "\(second.output)")
            #expect(second.output.contains("--reuse-port"), "\(second.output)")
        }

        // The first still answers every request, on both ports.
        for _ in 0..<20 {
            let answer = try await TestTools.curl("POST", port: port, path: "/mutate", caFile: tls.certificate,
                                                  contentType: "application/json", bodyFile: Self.review)
            #expect(answer.status == 200)
        }
        let metrics = try await TestTools.curl("GET", port: metricsPort, path: "/metrics", caFile: nil)
        #expect(TestTools.metric(#"irsa_admissions_total{result="mutated"}"#, in: metrics.body) == 20, "\(metrics.body)")

        // The other way round: beside a process started with --reuse-port, one without is refused too.
        let sharing = try Self.webhook(port: port, metricsPort: metricsPort, tls: tls, extra: ["--reuse-port"])
        #expect(try await sharing.listeningPort() == port, "\(sharing.output)")
        #expect(try await first.stop(timeout: .seconds(15)) == 0)
        let late = try Self.webhook(port: port, metricsPort: otherMetricsPort, tls: tls)
        #expect(try await late.waitForExit(timeout: .seconds(20)) == 2, "\(late.output)")
        #expect(late.output.hasPrefix("irsa-webhook: error: another process already listens on 127.0.0.1:\(port) (--port)"), "\(late.output)")
        #expect(try await sharing.stop(timeout: .seconds(15)) == 0)
    }

    @Test func reusePortHandsOverUnderLoadWithoutLosingARequest() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let port = try TestTools.freePort()
        let metricsPort = try TestTools.freePort()
        let old = try Self.webhook(port: port, metricsPort: metricsPort, tls: tls)
        _ = try await old.listeningPort()

        // 16 connections, each replaced after 10 requests: new handshakes all through the handover.
        let loadgen = try LoadgenProcess([
            "run", "--ca-file", tls.certificate, "--review", Self.review, "--expect", "patch", "--verify", "full",
            "--connections", "16", "--requests-per-connection", "10", "--threads", "1", "--warmup", "0s",
            "--duration", "12s", "--json", "https://127.0.0.1:\(port)/mutate",
        ])
        #expect(try await loadgen.waitForError(containing: "t=2s", timeout: .seconds(20)), "no load: \(loadgen.standardError)")

        let new = try Self.webhook(port: port, metricsPort: metricsPort, tls: tls, extra: ["--reuse-port"])
        #expect(try await new.listeningPort() == port, "\(new.output)")
        #expect(try await old.stop(timeout: .seconds(20)) == 0, "\(old.output.suffix(2000))")
        // And back: the process that came in by a handover is itself replaced the same way. Until
        // then every scrape reaches the new process alone: what it served is its own.
        #expect(try await loadgen.waitForError(containing: "t=6s", timeout: .seconds(30)), "\(loadgen.standardError.suffix(2000))")
        let servedByNew = try await Self.mutated(metricsPort: metricsPort)
        let next = try Self.webhook(port: port, metricsPort: metricsPort, tls: tls, extra: ["--reuse-port"])
        #expect(try await next.listeningPort() == port, "\(next.output)")
        #expect(try await new.stop(timeout: .seconds(20)) == 0, "\(new.output.suffix(2000))")

        let loadgenStatus = try await loadgen.waitForExit(timeout: .seconds(60))
        let report = try loadgen.report()
        let connections = report["connections"] as? [String: Any] ?? [:]
        let servedByNext = try await Self.mutated(metricsPort: metricsPort)
        print("PortOwnershipTests handover: loadgen \(report["requests"] ?? "?") requests, \(report["failed"] ?? "?") failed,",
              "connections \(connections); the new process served \(servedByNew) by its handover, the next \(servedByNext)")
        #expect(report["failed"] as? Int == 0, "lost requests: \(report)\n\(loadgen.standardError.suffix(2000))")
        #expect(loadgenStatus == 0)
        #expect(servedByNew >= 100 && servedByNext >= 100, "the new process served \(servedByNew), the next \(servedByNext)")
        #expect((report["requests"] as? Int ?? 0) > servedByNew + servedByNext, "the old process served part of the load too")
        #expect(try await next.stop(timeout: .seconds(15)) == 0)
    }

    /// `irsa_admissions_total{result="mutated"}` of the process the metrics port reaches.
    static func mutated(metricsPort: Int) async throws -> Int {
        let metrics = try await TestTools.curl("GET", port: metricsPort, path: "/metrics", caFile: nil)
        return Int(TestTools.metric(#"irsa_admissions_total{result="mutated"}"#, in: metrics.body) ?? 0)
    }
}
