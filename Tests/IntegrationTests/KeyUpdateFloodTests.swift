import Foundation
import Testing

/// A TLS 1.3 client that sends one request, then floods KeyUpdate(update_requested) records
/// and never reads (`Tests/Tools/keyupdate-flood`), against the real binary on one loop: every
/// KeyUpdate makes the server write a reply the client never takes. The server must close the
/// connection within the write timeout and stay nearly idle meanwhile. Before the fix it took
/// every record (97,000 in the 6 s watch, 1.1 s of CPU on the loaded test machine), kept the
/// connection open, and once its send buffer filled, spun on the stale write deadline until
/// the idle timeout.
@Suite(.serialized) struct KeyUpdateFloodTests {
    static let writeTimeout = 2.0
    /// How long the test watches: the write timeout plus slack for a loaded machine.
    static let watchSeconds = writeTimeout + 4

    /// The flood helper, built next to the test bundle.
    static var floodPath: String {
        URL(fileURLWithPath: WebhookProcess.binaryPath).deletingLastPathComponent().appendingPathComponent("keyupdate-flood").path
    }

    @Test func aClientThatFloodsKeyUpdatesAndNeverReadsIsClosedWithoutSpinning() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pair = try await TestTools.makeCertificate(in: directory, name: "tls")
        let certificates = try CertificateDirectory(at: directory.appendingPathComponent("certs"), layout: "rename", certificate: pair.certificate, key: pair.key)
        let webhook = try certificates.webhook(threads: 1, extraArguments: ["--write-timeout", "\(Int(Self.writeTimeout))s"])
        let port = try await webhook.listeningPort()
        let pid = webhook.process.processIdentifier

        let cpuBefore = try #require(ProcessFigures.cpuSeconds(pid))
        let result = try await TestTools.run([Self.floodPath, "\(port)", "200000", "\(Self.watchSeconds)"], timeout: .seconds(Int(Self.watchSeconds) + 20))
        let cpuDuring = try #require(ProcessFigures.cpuSeconds(pid)) - cpuBefore
        #expect(result.status == 0, "keyupdate-flood failed: \(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
        let closedAfter = try #require(report["closed_after_seconds"] as? Double)
        print("keyupdate flood: \(report), server CPU \(String(format: "%.2f", cpuDuring)) s over the flood")

        #expect(closedAfter >= 0, "the connection was still open \(Self.watchSeconds) s after the flood began")
        #expect(closedAfter <= Self.writeTimeout + 1, "closed after \(closedAfter) s, write timeout \(Self.writeTimeout) s")
        // Serving the flood (or spinning on it) takes whatever CPU the loop gets for the whole
        // watch; answering a capped number of KeyUpdates and closing, a few hundredths of a second.
        #expect(cpuDuring < 0.1 * Self.watchSeconds, "the server used \(cpuDuring) s of CPU in \(Self.watchSeconds) s")

        // Still serving.
        let health = try await TestTools.curl("GET", port: port, path: "/healthz", caFile: pair.certificate)
        #expect(health.status == 200)
        #expect(try await webhook.stop() == 0)
    }
}
