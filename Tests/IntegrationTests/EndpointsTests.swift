import Foundation
import Testing

/// /healthz, /readyz and /metrics on the TLS port and on the plain-HTTP metrics port, with
/// counters that move when admissions and failed handshakes happen, and `irsa_build_info`
/// naming the version `--version` prints.
@Suite struct EndpointsTests {
    @Test func healthReadinessAndMetricsOnBothPorts() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let metricsPort = try TestTools.freePort()
        let accounts = TestTools.root.appendingPathComponent("deploy/dev/serviceaccounts.yaml").path
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "\(metricsPort)", "--threads", "1",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key, "--service-accounts-file", accounts,
        ])
        let port = try await webhook.listeningPort()

        for (port, ca) in [(port, Optional(tls.certificate)), (metricsPort, nil)] {
            let health = try await TestTools.curl("GET", port: port, path: "/healthz", caFile: ca)
            #expect(health.status == 200 && health.body == "ok\n", "\(port): \(health)")
            let ready = try await TestTools.curl("GET", port: port, path: "/readyz", caFile: ca)
            #expect(ready.status == 200, "\(port): \(ready)")
        }
        // The metrics port never serves /mutate, and takes no request body at all (413 at the head).
        #expect(try await TestTools.curl("POST", port: metricsPort, path: "/mutate", caFile: nil).status == 404)
        #expect(try await TestTools.curl("POST", port: metricsPort, path: "/mutate", caFile: nil, contentType: "application/json",
                                         bodyFile: TestTools.root.appendingPathComponent("deploy/dev/review.json").path).status == 413)

        // irsa_build_info carries what `irsa-webhook --version` prints: one constant.
        let printed = try WebhookProcess(["--version"], environment: [:])
        #expect(try await printed.waitForExit(timeout: .seconds(10)) == 0)
        let version = printed.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(version.split(separator: ".").count == 3, "\(printed.output)")

        let before = try await TestTools.curl("GET", port: metricsPort, path: "/metrics", caFile: nil)
        #expect(before.status == 200)
        let mutatedBefore = TestTools.metric(#"irsa_admissions_total{result="mutated"}"#, in: before.body) ?? 0
        let handshakeFailuresBefore = try #require(TestTools.metric(#"irsa_tls_handshake_failures_total{reason="not_tls"}"#, in: before.body))

        let review = try await TestTools.curl("POST", port: port, path: "/mutate", caFile: tls.certificate, contentType: "application/json",
                                              bodyFile: TestTools.root.appendingPathComponent("deploy/dev/review.json").path)
        #expect(review.status == 200)
        let reviewJSON = try #require(review.json, "\(review.body)")
        #expect(try TestTools.patch(of: reviewJSON) != nil)
        // Plain HTTP to the TLS port: the handshake fails (curl gets an empty reply or a reset).
        let plain = try await TestTools.run(["curl", "-sS", "--max-time", "5", "http://127.0.0.1:\(port)/healthz"], timeout: .seconds(10))
        #expect(plain.status != 0, "plain HTTP on the TLS port was answered: \(plain.stdout)")

        for (port, ca) in [(port, Optional(tls.certificate)), (metricsPort, nil)] {
            let after = try await TestTools.curl("GET", port: port, path: "/metrics", caFile: ca)
            #expect(after.status == 200)
            #expect(TestTools.metric(#"irsa_admissions_total{result="mutated"}"#, in: after.body) == mutatedBefore + 1, "\(after.body)")
            #expect(TestTools.metric(#"irsa_tls_handshake_failures_total{reason="not_tls"}"#, in: after.body) == handshakeFailuresBefore + 1)
            #expect(TestTools.metric("irsa_admission_duration_seconds_count", in: after.body) ?? 0 >= 1)
            #expect(TestTools.metric(#"irsa_admission_duration_seconds_bucket{le="+Inf"}"#, in: after.body) ?? 0 >= 1)
            #expect(TestTools.metric(#"irsa_build_info{version="\#(version)"}"#, in: after.body) == 1, "\(version): \(after.body)")
            // The scrape over TLS is itself an open connection; over plain HTTP, none may be open.
            let open = try #require(TestTools.metric("irsa_open_connections", in: after.body), "\(after.body)")
            #expect(open >= 0 && open <= 1)
        }
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }

    /// Every metric has `# HELP` text, and the process metrics agree with what /proc says about
    /// the process from outside.
    @Test func everyMetricHasHelpAndProcessMetricsMatchProc() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let metricsPort = try TestTools.freePort()
        let started = Date().timeIntervalSince1970
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "\(metricsPort)", "--threads", "1",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key,
            "--service-accounts-file", TestTools.root.appendingPathComponent("deploy/dev/serviceaccounts.yaml").path,
        ])
        _ = try await webhook.listeningPort()
        let scrape = try await TestTools.curl("GET", port: metricsPort, path: "/metrics", caFile: nil)
        let lines = scrape.body.split(separator: "\n").map(String.init)
        let typed = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        let helped = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
        #expect(typed.count >= 17, "\(scrape.body)")
        #expect(typed.filter { !helped.contains($0) }.isEmpty, "metrics without # HELP: \(typed.filter { !helped.contains($0) })")

        let pid = webhook.process.processIdentifier
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let rssKiB = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first
            .flatMap { Double($0) })
        let resident = try #require(TestTools.metric("process_resident_memory_bytes", in: scrape.body))
        #expect(abs(resident - rssKiB * 1024) < rssKiB * 1024 * 0.25, "\(resident) vs VmRSS \(rssKiB) KiB")
        let descriptors = Double(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count)
        let open = try #require(TestTools.metric("process_open_fds", in: scrape.body))
        #expect(abs(open - descriptors) <= 4, "\(open) vs \(descriptors) in /proc/\(pid)/fd")
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        let softLimit = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }?
            .split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first.flatMap { Double($0) })
        #expect(TestTools.metric("process_max_fds", in: scrape.body) == softLimit)
        let start = try #require(TestTools.metric("process_start_time_seconds", in: scrape.body))
        #expect(abs(start - started) < 5, "started at \(started), metric says \(start)")
        let cpu = try #require(TestTools.metric("process_cpu_seconds_total", in: scrape.body))
        #expect(cpu > 0 && cpu < 60)
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }

    /// The metrics of watch mode, narrowing and the Kubernetes API client have `# HELP` too
    /// (the test above runs from a file, where they do not appear).
    @Test func watchModeAndNarrowingMetricsHaveHelp() async throws {
        let narrowing = try await NarrowingWebhook { api in
            try api.upsert(namespace: "default", name: "app", annotations: ["vultr.com/role-arn": WatchModeWebhook.role("app")])
        }
        #expect(try await narrowing.waitForCondition { $0 != nil })
        // A watch event, and a GET for an account the watch has not delivered.
        try narrowing.api.upsert(namespace: "default", name: "second", annotations: ["vultr.com/role-arn": WatchModeWebhook.role("second")])
        #expect(try await narrowing.waitForCondition { NarrowingWebhook.names($0, "second") })
        _ = try await narrowing.setup.admittedRole("unknown")
        let scrape = try await TestTools.curl("GET", port: narrowing.setup.port, path: "/metrics", caFile: narrowing.setup.caFile)
        let lines = scrape.body.split(separator: "\n").map(String.init)
        let typed = lines.filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) }
        let helped = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { String($0.split(separator: " ")[2]) })
        for family in ["irsa_narrowing_writes_total", "irsa_narrowing_mode", "irsa_serviceaccount_watch_events_total",
                       "irsa_serviceaccount_store_entries", "irsa_serviceaccount_lookups_total", "irsa_kubernetes_api_requests_total",
                       "irsa_kubernetes_api_connections_opened_total"] {
            #expect(typed.contains(family), "\(family) not exported: \(typed)")
        }
        #expect(typed.filter { !helped.contains($0) }.isEmpty, "metrics without # HELP: \(typed.filter { !helped.contains($0) })")

        // irsa_kubernetes_api_requests_total counts the ServiceAccount GETs, as its HELP says, not the LIST and WATCH.
        let gets = narrowing.api.requests.filter { request in
            let parts = request.split(separator: " ")[0].split(separator: "?")[0].split(separator: "/")
            return parts.count == 6 && parts[4] == "serviceaccounts"
        }
        let counted = lines.filter { $0.hasPrefix("irsa_kubernetes_api_requests_total{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
        #expect(!gets.isEmpty && counted == Double(gets.count), "\(counted) counted, GETs \(gets), all requests \(narrowing.api.requests)")
    }
}
