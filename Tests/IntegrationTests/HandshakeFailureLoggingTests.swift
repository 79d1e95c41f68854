import Foundation
import Testing

/// Failures that leave pods without their role are visible: a client that rejects the webhook's
/// certificate (what a wrong `caBundle` makes the API server do) and a client speaking plain
/// HTTP are each counted by reason and logged in plain words, one line per reason per minute;
/// the served certificate's expiry is a gauge, updated on reload, with a warning when it is near.
@Suite struct HandshakeFailureLoggingTests {
    @Test func rejectedCertificatesAreCountedByReasonAndLoggedOncePerMinute() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let served = try await TestTools.makeCertificate(in: directory, name: "served")
        let otherCA = try await TestTools.makeCertificate(in: directory, name: "other", commonName: "some other CA")
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "2",
            "--tls-cert-file", served.certificate, "--tls-key-file", served.key,
            "--service-accounts-file", TestTools.root.appendingPathComponent("deploy/dev/serviceaccounts.yaml").path,
        ])
        let port = try await webhook.listeningPort()

        // Three curl and three openssl s_client handshakes trusting another CA: each client
        // aborts with an unknown-CA alert, as the API server does with a wrong caBundle.
        for _ in 0..<3 {
            let curl = try await TestTools.run([
                "curl", "-sS", "--max-time", "5", "--cacert", otherCA.certificate, "https://127.0.0.1:\(port)/healthz",
            ], timeout: .seconds(10))
            #expect(curl.status != 0, "curl trusted a certificate its CA did not sign")
            let openssl = try await TestTools.run([
                "openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", otherCA.certificate,
                "-verify_return_error", "-brief",
            ], stdin: "", timeout: .seconds(10))
            #expect(openssl.status != 0, "openssl s_client trusted a certificate its CA did not sign")
        }
        for _ in 0..<2 {
            _ = try await TestTools.run(["curl", "-sS", "--max-time", "5", "http://127.0.0.1:\(port)/healthz"], timeout: .seconds(10))
        }
        let good = try await TestTools.curl("GET", port: port, path: "/metrics", caFile: served.certificate)
        #expect(good.status == 200)
        #expect(TestTools.metric(#"irsa_tls_handshake_failures_total{reason="certificate_rejected"}"#, in: good.body) == 6, "\(good.body)")
        #expect(TestTools.metric(#"irsa_tls_handshake_failures_total{reason="not_tls"}"#, in: good.body) == 2, "\(good.body)")
        #expect(TestTools.metric(#"irsa_tls_handshake_failures_total{reason="timeout"}"#, in: good.body) == 0, "\(good.body)")

        let lines = try await Self.logLines(of: webhook, containing: "TLS handshake failed", atLeast: 2)
        let rejected = lines.filter { $0["reason"] as? String == "certificate_rejected" }
        let plain = lines.filter { $0["reason"] as? String == "not_tls" }
        #expect(rejected.count == 1 && plain.count == 1, "one line per reason per minute: \(lines)")
        let message = rejected.first?["message"] as? String ?? ""
        #expect(message.contains("the peer rejected our certificate (unknown CA): check the webhook configuration's caBundle"), "\(message)")
        let plainMessage = plain.first?["message"] as? String ?? ""
        #expect(plainMessage.contains("plain HTTP"), "\(plain)")
        let openSSLText = rejected.first?["error"] as? String ?? ""
        #expect(openSSLText.contains("alert unknown ca"), "OpenSSL's own text is kept beside the plain words: \(rejected)")
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }

    @Test func certificateExpiryIsAGaugeUpdatedOnReloadWithAWarningWithin30Days() async throws {
        let scratch = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let expiring = try await TestTools.makeCertificate(in: scratch, name: "expiring", days: 5)
        let renewed = try await TestTools.makeCertificate(in: scratch, name: "renewed", days: 90)
        let certificates = try CertificateDirectory(
            at: scratch.appendingPathComponent("certs"), layout: "rename", certificate: expiring.certificate, key: expiring.key)
        let webhook = try certificates.webhook()
        let port = try await webhook.listeningPort()

        let warnings = try await Self.logLines(of: webhook, containing: "the serving certificate expires in", atLeast: 1)
        #expect(warnings.count == 1, "\(webhook.output)")
        #expect(warnings.first?["level"] as? String == "warning")
        // 5 days from the openssl run, less the seconds since: 4 or 5 whole days left.
        let daysLeft = try #require(warnings.first?["daysLeft"] as? Int, "a JSON number: \(warnings)")
        #expect(daysLeft == 4 || daysLeft == 5, "\(warnings)")
        let message = warnings.first?["message"] as? String ?? ""
        #expect(message.contains("expires in \(daysLeft) days"), "\(warnings)")
        let expiringNotAfter = try await Self.notAfter(of: expiring.certificate)
        #expect(try await Self.expiryGauge(port: port, ca: expiring.certificate) == expiringNotAfter)

        // Renewal: the gauge follows the reloaded certificate, and no new warning appears.
        for (source, name) in [(renewed.certificate, "tls.crt"), (renewed.key, "tls.key")] {
            let temporary = certificates.directory.appendingPathComponent(".\(name).tmp").path
            try FileManager.default.copyItem(atPath: source, toPath: temporary)
            _ = rename(temporary, certificates.directory.appendingPathComponent(name).path)
        }
        #expect(try await webhook.waitForOutput(containing: "certificate reloaded"), "\(webhook.output)")
        let renewedNotAfter = try await Self.notAfter(of: renewed.certificate)
        #expect(renewedNotAfter - expiringNotAfter > 80 * 86_400)
        #expect(try await Self.expiryGauge(port: port, ca: renewed.certificate) == renewedNotAfter)
        #expect(webhook.output.components(separatedBy: "the serving certificate expires in").count == 2, "\(webhook.output)")
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }

    /// The JSON log lines whose message contains `text`, once at least `count` are there.
    static func logLines(of webhook: WebhookProcess, containing text: String, atLeast count: Int) async throws -> [[String: Any]] {
        var lines: [[String: Any]] = []
        let deadline = ContinuousClock.now + .seconds(10)
        repeat {
            lines = webhook.output.split(separator: "\n").compactMap { line in
                guard line.contains(text) else { return nil }
                return try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            }
            if lines.count >= count { break }
            try await Task.sleep(for: .milliseconds(50))
        } while ContinuousClock.now < deadline
        return lines
    }

    /// The certificate's notAfter in seconds since the epoch, as Python's ssl module reads it.
    static func notAfter(of certificate: String) async throws -> Double {
        let result = try await TestTools.python(
            "import json, ssl, sys; print(json.dumps({'t': ssl.cert_time_to_seconds(ssl._ssl._test_decode_cert(sys.argv[1])['notAfter'])}))",
            [certificate])
        return try #require(result["t"] as? Double)
    }

    /// `irsa_certificate_expiry_timestamp_seconds` as scraped over TLS.
    static func expiryGauge(port: Int, ca: String) async throws -> Double? {
        let metrics = try await TestTools.curl("GET", port: port, path: "/metrics", caFile: ca)
        return TestTools.metric("irsa_certificate_expiry_timestamp_seconds", in: metrics.body)
    }
}
