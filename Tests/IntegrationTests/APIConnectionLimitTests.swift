import Foundation
import TestKubernetesAPI
import Testing

/// A cold burst over many distinct ServiceAccounts: lookups wait in line for the webhook's
/// bounded connections to the Kubernetes API instead of opening one TLS connection each.
@Suite(.timeLimit(.minutes(3))) struct APIConnectionLimitTests {
    @Test func aThousandColdAccountsOpenAtMostTheBound() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let accounts = (0..<1_000).map { "burst-\($0)" }
        let api = try FakeKubernetesAPI()
        try api.setAccounts(Dictionary(uniqueKeysWithValues: accounts.map { ("default/\($0)", ["vultr.com/role-arn": Self.role(for: $0)]) }))
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let kubeconfig = try TestTools.write(api.kubeconfig, to: "kubeconfig", in: directory)
        // Get mode: in watch mode the store already holds every account and nothing is looked up;
        // the same burst for accounts the watch has not delivered is ServiceAccountInformerTests'.
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "2", "--api-timeout", "60s",
            "--serviceaccount-source", "get",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key, "--kubeconfig", kubeconfig,
        ])
        let port = try await webhook.listeningPort()
        #expect(try await webhook.waitForOutput(containing: "Kubernetes API reachable", timeout: .seconds(20)), "\(webhook.output)")
        try api.behave(delay: .milliseconds(50))  // each lookup keeps its connection busy a while

        // 200 client connections, 5 distinct cold accounts each: 200 lookups at once.
        let plan = stride(from: 0, to: accounts.count, by: 5).map { Array(accounts[$0..<$0 + 5]) }
        let answers = try await AdmissionBatch.send(port: port, caFile: tls.certificate, connections: plan, timeout: .seconds(150))
        let metrics = try await TestTools.curl("GET", port: port, path: "/metrics", caFile: tls.certificate).body
        let opened = TestTools.metric("irsa_kubernetes_api_connections_opened_total{server=\"127.0.0.1:\(api.port)\"}", in: metrics)

        let mutated = answers.filter { $0.status == 200 && $0.patch?.contains(Self.role(for: $0.account) + "\"") == true }
        #expect(mutated.count == 1_000, "e.g. \(answers.first { $0.patch == nil }.map(String.init(describing:)) ?? "-")")
        let count = Int(opened ?? -1)
        print("1,000 cold accounts over 200 connections: \(count) connections opened to the API")
        #expect(count >= 2 && count <= 16, "\(count) connections opened (-1: no metric):\n\(metrics)")
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }

    static func role(for account: String) -> String { "arn:aws:iam::111122223333:role/\(account)" }
}
