import Foundation
import TestKubernetesAPI

/// A real irsa-webhook process whose ServiceAccounts come from a `FakeKubernetesAPI` over HTTPS,
/// with accounts `warm-0`…`warm-4` and `cold-0`…`cold-19` in `default`, each annotated with its
/// own role (`role(for:)`), so an answer's patch shows which account it was built from.
final class WebhookWithFakeAPI {
    static let warmAccounts = (0..<5).map { "warm-\($0)" }
    static let coldAccounts = (0..<20).map { "cold-\($0)" }

    let api: FakeKubernetesAPI
    let webhook: WebhookProcess
    let port: Int
    /// The CA file that verifies the webhook's certificate.
    let caFile: String
    private let directory: URL

    /// Starts the fake API and the webhook (`--api-timeout`, `--cache-ttl`, `--fail-closed` and
    /// `--threads` as given) and waits until the webhook has reached the API once; with
    /// `apiDown`, stops the API before the webhook starts and waits only for the webhook.
    init(apiTimeout: Duration, cacheTTL: Duration, failClosed: Bool = false, threads: Int = 1, apiDown: Bool = false) async throws {
        directory = try TestTools.temporaryDirectory()
        api = try FakeKubernetesAPI()
        var accounts: [String: [String: String]] = [:]
        for account in Self.warmAccounts + Self.coldAccounts {
            accounts["default/\(account)"] = ["vultr.com/role-arn": Self.role(for: account)]
        }
        try api.setAccounts(accounts)
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        caFile = tls.certificate
        let kubeconfig = try TestTools.write(api.kubeconfig, to: "kubeconfig", in: directory)
        if apiDown { api.stop() }
        webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "\(threads)",
            "--api-timeout", "\(Self.milliseconds(apiTimeout))ms", "--cache-ttl", "\(Self.milliseconds(cacheTTL))ms",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key, "--kubeconfig", kubeconfig,
        ] + (failClosed ? ["--fail-closed"] : []))
        port = try await webhook.listeningPort()
        guard try await apiDown ? true : webhook.waitForOutput(containing: "Kubernetes API reachable", timeout: .seconds(20)) else {
            throw TestToolError("the webhook never reached the fake API:\n\(webhook.output)")
        }
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// The role annotated on `account`.
    static func role(for account: String) -> String { "arn:aws:iam::111122223333:role/\(account)" }

    /// Sends each connection's accounts one after the other, all connections at once.
    func admit(_ connections: [[String]]) async throws -> [AdmissionBatch.Answer] {
        try await AdmissionBatch.send(port: port, caFile: caFile, connections: connections)
    }

    /// The durations the webhook logged for admissions whose lookup failed (the ones that waited
    /// for the API), as it measured them: from the request to the answer, without the client's side.
    func failedLookupDurations() -> [Duration] {
        webhook.output.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["message"] as? String == "ServiceAccount lookup failed",
                  let seconds = object["duration"] as? Double
            else { return nil }
            return .nanoseconds(Int64(seconds * 1e9))
        }
    }

    /// The status of `GET /readyz`.
    func readiness() async throws -> Int {
        try await TestTools.curl("GET", port: port, path: "/readyz", caFile: caFile).status
    }

    /// The webhook's metrics (Prometheus text).
    func metrics() async throws -> String {
        let answer = try await TestTools.curl("GET", port: port, path: "/metrics", caFile: caFile)
        guard answer.status == 200 else { throw TestToolError("GET /metrics: \(answer.status) \(answer.body)") }
        return answer.body
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
