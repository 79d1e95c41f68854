import Foundation
import Testing

/// The executable's command line: every bad value is one line on stderr and exit code 2.
@Suite struct CommandLineTests {
    static let badArguments: [([String], String)] = [
        (["--port", "99999"], "--port"),
        (["--port", "abc"], "--port"),
        (["--metrics-port", "-1"], "--metrics-port"),
        (["--bogus"], "--bogus"),
        (["--cache-ttl", "0s"], "--cache-ttl"),
        (["--negative-cache-ttl", "soon"], "--negative-cache-ttl"),
        (["--shutdown-grace", "-5s"], "--shutdown-grace"),
        (["--threads", "0"], "--threads"),
        (["--max-connections", "0"], "--max-connections"),
        (["--max-body-bytes", "10"], "--max-body-bytes"),
        (["--log-level", "loud"], "--log-level"),
        (["--log-format", "xml"], "--log-format"),
        (["--token-expiration", "60"], "--token-expiration"),
        (["--token-mount-path", "relative/path"], "--token-mount-path"),
        (["--annotation-prefix", "Not_A_Domain"], "--annotation-prefix"),
        (["--sts-endpoint", "ftp://example"], "--sts-endpoint"),
        (["--region", "US-EAST-1"], "--region"),
        (["--token-expiration", "31536001"], "--token-expiration"),
        (["--port", "8443", "--metrics-port", "8443"], "--metrics-port"),
        (["--cache-max-entries", "0"], "--cache-max-entries"),
        (["--handshake-timeout", "0s"], "--handshake-timeout"),
        (["--request-head-timeout", "soon"], "--request-head-timeout"),
        (["--request-body-timeout", "-1s"], "--request-body-timeout"),
        (["--idle-timeout", "0ms"], "--idle-timeout"),
        (["--write-timeout", "x"], "--write-timeout"),
        (["--api-timeout", "-5s"], "--api-timeout must not be negative; got '-5s'"),
        (["--shutdown-grace", "-1"], "--shutdown-grace must not be negative"),
        (["--token-expiration", "-24h"], "--token-expiration must not be negative"),
        (["--token-expiration", "5m"], "--token-expiration must be whole seconds from 600 (10m) to 31536000 (365 days), got '5m'"),
        (["--token-expiration", "366d"], "--token-expiration"),
        (["--service-accounts-file", "a.yaml", "--kubeconfig", "b.yaml"],
         "--service-accounts-file and --kubeconfig both name the ServiceAccount source"),
        (["--narrow-webhook-configuration", "Bad_Name"], "--narrow-webhook-configuration 'Bad_Name' is not a Kubernetes name"),
        (["--narrow-webhook-configuration", "irsa-webhook", "--service-accounts-file", "a.yaml"],
         "--narrow-webhook-configuration needs the Kubernetes API"),
        (["--narrow-webhook-configuration", "irsa-webhook", "--serviceaccount-source", "get"], "needs --serviceaccount-source=watch"),
        (["--narrow-webhook-configuration", "irsa-webhook"], "--narrow-lease-namespace is required outside a cluster"),
        (["--narrow-webhook-configuration", "irsa-webhook", "--narrow-lease-namespace", "irsa-system", "--narrow-lease-duration", "2s"],
         "--narrow-lease-duration"),
        (["--narrow-webhook-configuration", "irsa-webhook", "--narrow-lease-namespace", "irsa-system", "--narrow-lease-duration", "4500ms"],
         "--narrow-lease-duration must be whole seconds"),
    ]

    @Test(arguments: badArguments)
    func badValueExitsWithCodeTwoAndOneLine(arguments: [String], flag: String) async throws {
        let webhook = try WebhookProcess(arguments, environment: [:])
        let status = try await webhook.waitForExit(timeout: .seconds(10))
        #expect(status == 2)
        let lines = webhook.output.split(separator: "\n")
        #expect(lines.count == 1, "expected one line, got: \(webhook.output)")
        #expect(lines.first?.hasPrefix("irsa-webhook: error: ") == true)
        #expect(webhook.output.contains(flag))
    }

    /// Configuration files that cannot be used: the flag, the file and the problem on one line,
    /// exit code 2, before anything listens.
    static let badFiles: [(flag: String, contents: String, problem: String)] = [
        ("--kubeconfig", "kind: Config\nusers: [{name: u, user: {token: tok-do-not-print, [\n", "bad YAML: line "),
        ("--kubeconfig", "kind: Config\nclusters: " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "\n",
         "nested deeper than 64 levels"),
        ("--kubeconfig", "kind: Pod\n", "kind is \"Pod\", expected Config"),
        ("--service-accounts-file", "kind: ServiceAccount\nmetadata: {name: a, annotations: [tok-do-not-print\n", "bad YAML: line "),
        ("--service-accounts-file", "kind: ServiceAccount\nmetadata: {namespace: a}\n", "metadata.name is missing"),
        ("--service-accounts-file", String(repeating: "#", count: 17 << 20), "more than the limit of 16777216"),
    ]

    @Test(arguments: badFiles)
    func badConfigurationFileExitsWithCodeTwoAndOneLine(flag: String, contents: String, problem: String) async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try TestTools.write(contents, to: "config.yaml", in: directory)
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key, flag, file,
        ], environment: [:])
        #expect(try await webhook.waitForExit(timeout: .seconds(10)) == 2)
        let lines = webhook.output.split(separator: "\n")
        #expect(lines.count == 1, "expected one line, got: \(webhook.output)")
        #expect(lines.first?.hasPrefix("irsa-webhook: error: \(flag): ") == true, "\(webhook.output)")
        #expect(webhook.output.contains(file) && webhook.output.contains(problem), "\(webhook.output)")
        #expect(!webhook.output.contains("tok-do-not-print"), "\(webhook.output)")
    }

    /// kubectl merges a KUBECONFIG list; irsa-webhook reads one file and says so, naming the
    /// variable (not the flag) and how to merge.
    @Test func kubeconfigListInTheEnvironmentIsRefusedNamingTheVariable() async throws {
        let webhook = try WebhookProcess([], environment: ["KUBECONFIG": "/etc/a.yaml:/etc/b.yaml"])
        #expect(try await webhook.waitForExit(timeout: .seconds(10)) == 2)
        #expect(webhook.output.hasPrefix("irsa-webhook: error: KUBECONFIG lists 2 files; irsa-webhook reads one kubeconfig"),
                "\(webhook.output)")
        #expect(webhook.output.contains("kubectl config view --flatten"))
    }

    /// KUBECONFIG set in the shell does not conflict with --service-accounts-file (only the flag does),
    /// and --token-expiration takes a duration with a unit: 1h gives 3600-second tokens.
    @Test func tokenExpirationTakesUnitsAndAnAmbientKubeconfigIsNoConflict() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--token-expiration", "1h",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key,
            "--service-accounts-file", TestTools.root.appendingPathComponent("deploy/dev/serviceaccounts.yaml").path,
        ], environment: ["KUBECONFIG": "/nonexistent/a:/nonexistent/b"])
        let port = try await webhook.listeningPort()
        let answer = try await TestTools.curl("POST", port: port, path: "/mutate", caFile: tls.certificate, contentType: "application/json",
                                              bodyFile: TestTools.root.appendingPathComponent("deploy/dev/review.json").path)
        let review = try #require(answer.json)
        let operations = try #require(try TestTools.patch(of: review))
        let volume = try #require(operations.first { $0["path"] as? String == "/spec/volumes/-" }?["value"] as? [String: Any])
        let projected = try #require((volume["projected"] as? [String: Any])?["sources"] as? [[String: Any]])
        #expect((projected.first?["serviceAccountToken"] as? [String: Any])?["expirationSeconds"] as? Int == 3600, "\(volume)")
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }

    @Test func badEnvironmentValueExitsWithCodeTwo() async throws {
        let webhook = try WebhookProcess([], environment: ["PORT": "eighty"])
        #expect(try await webhook.waitForExit(timeout: .seconds(10)) == 2)
        #expect(webhook.output.contains("eighty"))
    }

    @Test(arguments: [["--help"], ["serve", "--help"], ["help", "serve"]])
    func helpDocumentsEveryFlagAndExitsZero(arguments: [String]) async throws {
        let webhook = try WebhookProcess(arguments, environment: [:])
        #expect(try await webhook.waitForExit(timeout: .seconds(10)) == 0)
        for flag in ["--host", "--port", "--tls-cert-file", "--tls-key-file", "--client-ca-file", "--kubeconfig",
                     "--service-accounts-file", "--annotation-prefix", "--token-audience", "--token-expiration",
                     "--token-mount-path", "--sts-endpoint", "--region", "--cache-ttl", "--negative-cache-ttl",
                     "--cache-max-entries", "--threads", "--max-connections", "--max-body-bytes", "--metrics-port",
                     "--log-level", "--log-format", "--shutdown-grace", "--dev", "--fail-closed",
                     "--handshake-timeout", "--request-head-timeout", "--request-body-timeout", "--idle-timeout",
                     "--write-timeout", "--reuse-port"] {
            #expect(webhook.output.contains(flag), "help lacks \(flag)")
        }
    }

    /// README's Configuration table and `serve --help` list the same flags, and the README names
    /// every other option `--help` shows (`--version`).
    @Test func readmeDocumentsTheFlagsHelpShows() async throws {
        let webhook = try WebhookProcess(["serve", "--help"], environment: [:])
        #expect(try await webhook.waitForExit(timeout: .seconds(10)) == 0)
        let flag = #/^\s+(--[a-z0-9-]+)/#
        let helped = Set(webhook.output.split(separator: "\n").compactMap { try? flag.firstMatch(in: String($0))?.output.1 }.map(String.init))
        let readme = try String(contentsOf: TestTools.root.appendingPathComponent("README.md"), encoding: .utf8)
        let configuration = readme.components(separatedBy: "\n## Configuration\n").last?.components(separatedBy: "\n### ").first ?? ""
        let row = #/^\| `(--[a-z0-9-]+)`/#
        let tabled = Set(configuration.split(separator: "\n").compactMap { try? row.firstMatch(in: String($0))?.output.1 }.map(String.init))
        #expect(helped.count >= 40, "\(helped)")
        #expect(tabled.subtracting(helped).isEmpty, "in README's table, not in --help: \(tabled.subtracting(helped))")
        let untabled = helped.subtracting(tabled).subtracting(["--help"])
        #expect(untabled.filter { !readme.contains("irsa-webhook \($0)") }.isEmpty, "in --help, not in README: \(untabled)")
    }

    @Test func mutateHelpDocumentsItsFlagsAndTheSharedOnes() async throws {
        let webhook = try WebhookProcess(["mutate", "--help"], environment: [:])
        #expect(try await webhook.waitForExit(timeout: .seconds(10)) == 0)
        for flag in ["--annotation-prefix", "--token-audience", "--token-expiration", "--token-mount-path", "--sts-endpoint",
                     "--region", "--service-accounts-file", "--kubeconfig", "--namespace", "--output", "--patch", "--strict",
                     "--explain"] {
            #expect(webhook.output.contains(flag), "mutate help lacks \(flag)")
        }
        #expect(!webhook.output.contains("--cache-ttl"), "serve's own flags are not mutate's")
    }

    @Test func versionPrintsTheVersionAndExitsZero() async throws {
        let webhook = try WebhookProcess(["--version"], environment: [:])
        #expect(try await webhook.waitForExit(timeout: .seconds(10)) == 0)
        #expect(webhook.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3, "\(webhook.output)")
    }

    /// `serve` named explicitly parses the same flags and environment as the default.
    @Test func explicitServeSubcommandReadsTheEnvironmentToo() async throws {
        let webhook = try WebhookProcess(["serve"], environment: ["PORT": "eighty"])
        #expect(try await webhook.waitForExit(timeout: .seconds(10)) == 2)
        #expect(webhook.output.contains("eighty"))
    }
}
