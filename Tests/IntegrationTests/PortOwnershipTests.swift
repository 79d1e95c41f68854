import Foundation
import Testing

/// One port, one process. A second irsa-webhook on an address the first listens on is refused
/// at start (one line, exit code 2) for the TLS port and for the metrics port, and the first
/// keeps serving alone. With `--reuse-port` the second starts beside the first: the documented
/// zero-downtime handover (start the new process, then SIGTERM the old one) loses no request
/// under continuous load that keeps opening new TLS connections.
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
        #expect(try await first.stop(timeout: .seconds(15)) == 0)
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
            "--duration", "8s", "--json", "https://127.0.0.1:\(port)/mutate",
        ])
        #expect(try await loadgen.waitForError(containing: "t=2s", timeout: .seconds(20)), "no load: \(loadgen.standardError)")

        let new = try Self.webhook(port: port, metricsPort: metricsPort, tls: tls, extra: ["--reuse-port"])
        #expect(try await new.listeningPort() == port, "\(new.output)")
        #expect(try await old.stop(timeout: .seconds(20)) == 0, "\(old.output.suffix(2000))")

        let loadgenStatus = try await loadgen.waitForExit(timeout: .seconds(60))
        let report = try loadgen.report()
        let connections = report["connections"] as? [String: Any] ?? [:]
        // After the old process left, every scrape reaches the new one: it served part of the load.
        let metrics = try await TestTools.curl("GET", port: metricsPort, path: "/metrics", caFile: nil)
        let servedByNew = TestTools.metric(#"irsa_admissions_total{result="mutated"}"#, in: metrics.body) ?? 0
        print("PortOwnershipTests handover: loadgen \(report["requests"] ?? "?") requests, \(report["failed"] ?? "?") failed,",
              "connections \(connections); the new process served \(Int(servedByNew))")
        #expect(report["failed"] as? Int == 0, "lost requests: \(report)\n\(loadgen.standardError.suffix(2000))")
        #expect(loadgenStatus == 0)
        #expect(servedByNew >= 100, "the new process served \(servedByNew)")
        #expect((report["requests"] as? Int ?? 0) > Int(servedByNew), "the old process served part of the load too")
        #expect(try await new.stop(timeout: .seconds(15)) == 0)
    }
}
