import Foundation
import Testing

/// `--service-accounts-file` is reloaded when it changes (as a ConfigMap volume update or an
/// editor's rewrite), and a file that no longer parses keeps the previous accounts.
@Suite(.timeLimit(.minutes(2))) struct ServiceAccountFileReloadTests {
    static func file(role: String) -> String {
        """
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: app, namespace: default, annotations: {vultr.com/role-arn: "\(role)"}}
        """
    }

    @Test func aChangedFileReachesTheNextAdmissionAndABadOneKeepsThePreviousAccounts() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let accounts = try TestTools.write(Self.file(role: WatchModeWebhook.role("file-v1")), to: "accounts.yaml", in: directory)
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "1",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key, "--service-accounts-file", accounts,
        ])
        let port = try await webhook.listeningPort()
        func role() async throws -> String? {
            let answers = try await AdmissionBatch.send(port: port, caFile: tls.certificate, connections: [["app"]])
            return WatchModeWebhook.role(in: answers.first?.patch)
        }
        #expect(try await role() == WatchModeWebhook.role("file-v1"))

        _ = try TestTools.write(Self.file(role: WatchModeWebhook.role("file-v2")), to: "accounts.yaml", in: directory)
        #expect(try await webhook.waitForOutput(containing: "ServiceAccounts file reloaded", timeout: .seconds(5)), "\(webhook.output)")
        #expect(try await role() == WatchModeWebhook.role("file-v2"))

        _ = try TestTools.write("kind: ServiceAccount\nmetadata: [\n", to: "accounts.yaml", in: directory)
        #expect(try await webhook.waitForOutput(containing: "ServiceAccounts file reload failed", timeout: .seconds(5)), "\(webhook.output)")
        #expect(try await role() == WatchModeWebhook.role("file-v2"))
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }

    /// Only the file's own events count: another file written in the same directory reloads
    /// nothing. The file's contents are changed through a hard link in another directory (no
    /// event in the watched one), so a reload, if one ran, would log "reloaded".
    @Test func anotherFileInTheDirectoryDoesNotReload() async throws {
        let directory = try TestTools.temporaryDirectory()
        let elsewhere = try TestTools.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: directory)
            try? FileManager.default.removeItem(at: elsewhere)
        }
        let tls = try await TestTools.makeCertificate(in: elsewhere, name: "tls")
        let accounts = try TestTools.write(Self.file(role: WatchModeWebhook.role("file-v1")), to: "accounts.yaml", in: directory)
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "1",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key, "--service-accounts-file", accounts,
        ])
        _ = try await webhook.listeningPort()
        let alias = elsewhere.appendingPathComponent("alias.yaml").path
        try FileManager.default.linkItem(atPath: accounts, toPath: alias)
        try Self.file(role: WatchModeWebhook.role("file-v2")).write(toFile: alias, atomically: false, encoding: .utf8)

        for round in 0..<5 {
            _ = try TestTools.write("round \(round)\n", to: "unrelated.log", in: directory)
            try await Task.sleep(for: .milliseconds(150))
        }
        #expect(!(try await webhook.waitForOutput(containing: "ServiceAccounts file reloaded", timeout: .seconds(1))),
                "a write to another file reloaded the ServiceAccounts file: \(webhook.output)")

        try Self.file(role: WatchModeWebhook.role("file-v2")).write(toFile: accounts, atomically: false, encoding: .utf8)
        #expect(try await webhook.waitForOutput(containing: "ServiceAccounts file reloaded", timeout: .seconds(5)), "\(webhook.output)")
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }
}
