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
        (["--port", "8443", "--metrics-port", "8443"], "--metrics-port"),
        (["--cache-max-entries", "0"], "--cache-max-entries"),
        (["--handshake-timeout", "0s"], "--handshake-timeout"),
        (["--request-head-timeout", "soon"], "--request-head-timeout"),
        (["--request-body-timeout", "-1s"], "--request-body-timeout"),
        (["--idle-timeout", "0ms"], "--idle-timeout"),
        (["--write-timeout", "x"], "--write-timeout"),
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

    @Test func badEnvironmentValueExitsWithCodeTwo() async throws {
        let webhook = try WebhookProcess([], environment: ["PORT": "eighty"])
        #expect(try await webhook.waitForExit(timeout: .seconds(10)) == 2)
        #expect(webhook.output.contains("eighty"))
    }

    @Test func helpDocumentsEveryFlagAndExitsZero() async throws {
        let webhook = try WebhookProcess(["--help"], environment: [:])
        #expect(try await webhook.waitForExit(timeout: .seconds(10)) == 0)
        for flag in ["--host", "--port", "--tls-cert-file", "--tls-key-file", "--client-ca-file", "--kubeconfig",
                     "--service-accounts-file", "--annotation-prefix", "--token-audience", "--token-expiration",
                     "--token-mount-path", "--sts-endpoint", "--region", "--cache-ttl", "--negative-cache-ttl",
                     "--cache-max-entries", "--threads", "--max-connections", "--max-body-bytes", "--metrics-port",
                     "--log-level", "--log-format", "--shutdown-grace", "--dev", "--fail-closed",
                     "--handshake-timeout", "--request-head-timeout", "--request-body-timeout", "--idle-timeout",
                     "--write-timeout"] {
            #expect(webhook.output.contains(flag), "help lacks \(flag)")
        }
    }
}
