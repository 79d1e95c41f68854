import Foundation
import Testing

/// deploy/systemd: the unit files parse cleanly with systemd's own tools, carry the settings the
/// webhook relies on (notify, watchdog, socket activation, credentials), and rate 2.0 or better
/// on systemd-analyze's exposure scale.
@Suite("deploy/systemd units")
struct DeploySystemdTests {
    static let hasAnalyze = Deploy.which("systemd-analyze") != nil
    static let service = "systemd/irsa-webhook.service"
    static let socket = "systemd/irsa-webhook.socket"

    /// Each `Key=value` line of a unit file as (section, key, value), continuation lines joined.
    static func settings(_ relative: String) throws -> [(section: String, key: String, value: String)] {
        var result: [(String, String, String)] = []
        var section = ""
        var pending = ""
        for rawLine in try Deploy.text(relative).split(separator: "\n", omittingEmptySubsequences: false) {
            var line = pending + rawLine.trimmingCharacters(in: .whitespaces)
            pending = ""
            if line.hasSuffix("\\") {
                line.removeLast()
                pending = line + " "
                continue
            }
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") { section = line; continue }
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            result.append((section, String(parts[0]), parts.count > 1 ? String(parts[1]) : ""))
        }
        return result
    }

    static func values(_ relative: String, _ key: String) throws -> [String] {
        try settings(relative).filter { $0.key == key }.map(\.value)
    }

    @Test("systemd-analyze security rates the service 2.0 or lower",
          .enabled(if: hasAnalyze, "systemd-analyze is not installed (Debian package systemd; `make deps` installs it)"))
    func exposure() async throws {
        let result = try await TestTools.run(
            ["systemd-analyze", "security", "--offline=true", "--no-pager", Deploy.url(Self.service).path],
            timeout: .seconds(60))
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(result.stdout.firstMatch(of: /Overall exposure level for irsa-webhook\.service: (\d+\.\d+)/),
                                "no overall exposure line in: \(result.stdout.suffix(300))")
        let exposure = try #require(Double(String(line.1)))
        #expect(exposure <= 2.0, "exposure \(exposure)")
    }

    @Test("systemd-analyze verify finds nothing to warn about",
          .enabled(if: hasAnalyze, "systemd-analyze is not installed (Debian package systemd; `make deps` installs it)"))
    func verify() async throws {
        // verify checks that ExecStart= exists; the binary is not installed here, so point the
        // copy at /bin/true. verify needs no running systemd (checked on systemd 252).
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let serviceText = try Deploy.text(Self.service)
        #expect(serviceText.contains("ExecStart=/usr/local/bin/irsa-webhook"))
        try serviceText.replacingOccurrences(of: "/usr/local/bin/irsa-webhook", with: "/bin/true")
            .write(to: directory.appendingPathComponent("irsa-webhook.service"), atomically: true, encoding: .utf8)
        try Deploy.text(Self.socket)
            .write(to: directory.appendingPathComponent("irsa-webhook.socket"), atomically: true, encoding: .utf8)
        let result = try await TestTools.run(
            ["systemd-analyze", "verify", "irsa-webhook.service", "irsa-webhook.socket"],
            in: directory, timeout: .seconds(60))
        #expect(result.status == 0)
        // Unknown keys and unparsable values are only warnings: any output is a failure here.
        #expect(result.stdout.isEmpty && result.stderr.isEmpty, "\(result.stdout)\(result.stderr)")
    }

    @Test("the service is Type=notify with a watchdog, restarts on failure, and reads settings from /etc")
    func lifecycle() throws {
        let expected: [(String, String)] = [
            ("Type", "notify"), ("NotifyAccess", "main"), ("WatchdogSec", "30"), ("Restart", "on-failure"),
            ("EnvironmentFile", "-/etc/irsa-webhook/env"), ("Requires", "irsa-webhook.socket"),
        ]
        for (key, value) in expected {
            #expect(try Self.values(Self.service, key) == [value], "\(key)=")
        }
        // Stopping waits out the webhook's 25 s shutdown grace.
        let stop = try #require(try Self.values(Self.service, "TimeoutStopSec").first)
        #expect((Int(stop.prefix { $0.isNumber }) ?? 0) > 25)
    }

    @Test("socket activation on 8443; TLS files and kubeconfig arrive as credentials")
    func socketAndCredentials() throws {
        #expect(try Self.values(Self.socket, "ListenStream") == ["8443"])
        #expect(try Self.values(Self.socket, "Service") == ["irsa-webhook.service"])

        let credentials = try Self.values(Self.service, "LoadCredential")
        let names = Set(credentials.compactMap { $0.split(separator: ":").first.map(String.init) })
        #expect(names == ["tls.crt", "tls.key", "kubeconfig"])
        let execStart = try #require(try Self.values(Self.service, "ExecStart").first)
        #expect(execStart.contains("--tls-cert-file=%d/tls.crt"))
        #expect(execStart.contains("--tls-key-file=%d/tls.key"))
        #expect(!execStart.contains("--port"), "the port comes from the socket unit")
        #expect(try Self.values(Self.service, "Environment").contains("KUBECONFIG=%d/kubeconfig"))
    }

    @Test("hardening settings", arguments: [
        ("DynamicUser", "yes"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"), ("ProtectKernelModules", "yes"), ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"), ("ProtectClock", "yes"), ("ProtectHostname", "yes"),
        ("ProtectProc", "invisible"), ("ProcSubset", "pid"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"), ("RestrictNamespaces", "yes"),
        ("RestrictRealtime", "yes"), ("RestrictSUIDSGID", "yes"), ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"), ("SystemCallArchitectures", "native"),
        ("CapabilityBoundingSet", ""), ("AmbientCapabilities", ""), ("UMask", "0077"),
    ])
    func hardening(key: String, value: String) throws {
        #expect(try Self.values(Self.service, key) == [value])
    }

    @Test("system calls: @system-service minus @privileged and @resources; network left open")
    func systemCallsAndNetwork() throws {
        #expect(try Self.values(Self.service, "SystemCallFilter") == ["@system-service", "~@privileged @resources"])
        for key in ["PrivateNetwork", "IPAddressDeny", "User"] {
            #expect(try Self.values(Self.service, key).isEmpty, "\(key)= must not be set")
        }
    }

    @Test("webhook-url.yaml is webhook.yaml calling the socket's port by URL")
    func webhookByURL() throws {
        let byURL = try Deploy.object("systemd/webhook-url.yaml", kind: "MutatingWebhookConfiguration", name: "irsa-webhook")
        let byService = try Deploy.object("webhook.yaml", kind: "MutatingWebhookConfiguration", name: "irsa-webhook")
        let hook = try #require(byURL["webhooks"]?[0])
        let url = try #require(URLComponents(string: hook["clientConfig"]?["url"]?.string ?? ""))
        #expect(url.scheme == "https" && url.path == "/mutate")
        let listen = try Self.values(Self.socket, "ListenStream")
        #expect(listen.map { $0.split(separator: ":").last.map(String.init) } == [url.port.map(String.init)],
                "the URL's port is the socket's")
        #expect(hook["clientConfig"]?["caBundle"]?.string == "")
        #expect(hook["clientConfig"]?["service"] == nil)

        var urlHook = try #require(hook.mapping)
        var serviceHook = try #require(byService["webhooks"]?[0]?.mapping)
        urlHook["clientConfig"] = nil
        serviceHook["clientConfig"] = nil
        #expect(try Deploy.json(.mapping(urlHook)) == (try Deploy.json(.mapping(serviceHook))), "everything but clientConfig is webhook.yaml's")
        #expect(try Deploy.json(byURL["metadata"]) == (try Deploy.json(byService["metadata"])))
    }
}
