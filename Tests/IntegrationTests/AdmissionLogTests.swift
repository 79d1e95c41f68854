import Foundation
import Testing

/// The log lines are made for queries: an admission's `result` is the plain word of
/// `irsa_admissions_total` with a separate `reason` when the pod was not mutated, durations are
/// JSON numbers in seconds (as are the other lines' numbers), and the warnings sent back for
/// ignored annotation values are logged too, once per ServiceAccount per minute.
@Suite struct AdmissionLogTests {
    static let accounts = """
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: app-sa
          namespace: default
          annotations:
            vultr.com/role-arn: arn:aws:iam::111122223333:role/app
            vultr.com/token-expiration: "soon"
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: plain-sa
          namespace: default
        """

    @Test func resultsReasonsDurationsAndWarningsAreLoggedAsQueryableFields() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let accountsFile = try TestTools.write(Self.accounts, to: "accounts.yaml", in: directory)
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "1", "--log-level", "debug",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key, "--service-accounts-file", accountsFile,
        ])
        let port = try await webhook.listeningPort()
        for account in ["app-sa", "app-sa", "app-sa", "plain-sa", "missing-sa"] {
            let review = try Self.review(serviceAccount: account, in: directory)
            let answer = try await TestTools.curl("POST", port: port, path: "/mutate", caFile: tls.certificate,
                                                  contentType: "application/json", bodyFile: review)
            #expect(answer.status == 200)
        }
        let admissions = try await HandshakeFailureLoggingTests.logLines(of: webhook, containing: #""message":"admission""#, atLeast: 5)
        #expect(admissions.count == 5, "\(webhook.output)")
        for line in admissions {
            let duration = line["duration"] as? Double ?? -1
            #expect(duration > 0 && duration < 5, "duration is a number of seconds: \(line)")
        }
        let byAccount = Dictionary(grouping: admissions) { $0["serviceAccount"] as? String ?? "" }
        #expect(byAccount["app-sa"]?.allSatisfy { $0["result"] as? String == "mutated" && $0["reason"] == nil } == true, "\(admissions)")
        #expect(byAccount["app-sa"]?.allSatisfy { ($0["operations"] as? Int ?? 0) > 0 } == true, "\(admissions)")
        #expect(byAccount["plain-sa"]?.first?["result"] as? String == "skipped")
        #expect(byAccount["plain-sa"]?.first?["reason"] as? String == "no-role")
        #expect(byAccount["missing-sa"]?.first?["result"] as? String == "skipped")
        #expect(byAccount["missing-sa"]?.first?["reason"] as? String == "not-found")

        let warnings = try await HandshakeFailureLoggingTests.logLines(of: webhook, containing: "admission warnings", atLeast: 1)
        #expect(warnings.count == 1, "once per ServiceAccount per minute: \(warnings)")
        #expect(warnings.first?["serviceAccount"] as? String == "app-sa")
        #expect(warnings.first?["level"] as? String == "warning")
        let texts = warnings.first?["warnings"] as? [String] ?? []
        #expect(texts.contains { $0.contains("token-expiration") }, "\(warnings)")
        let listening = try #require(try await HandshakeFailureLoggingTests.logLines(of: webhook, containing: #""message":"listening""#,
                                                                                      atLeast: 1).first)
        #expect(listening["threads"] as? Int == 1, "\(listening)")
        #expect(listening["serviceAccounts"] as? String == "file \(accountsFile)", "\(listening)")
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
        let stopping = try await HandshakeFailureLoggingTests.logLines(of: webhook, containing: #""message":"shutting down""#, atLeast: 1)
        #expect(stopping.first?["graceSeconds"] as? Double == 25, "\(stopping)")
    }

    /// The sample review with its pod moved to `serviceAccount` in namespace default.
    static func review(serviceAccount: String, in directory: URL) throws -> String {
        let sample = TestTools.root.appendingPathComponent("deploy/dev/review.json")
        var review = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: sample)) as? [String: Any])
        var request = try #require(review["request"] as? [String: Any])
        var object = try #require(request["object"] as? [String: Any])
        var spec = try #require(object["spec"] as? [String: Any])
        spec["serviceAccountName"] = serviceAccount
        object["spec"] = spec
        request["object"] = object
        review["request"] = request
        let file = directory.appendingPathComponent("\(serviceAccount).review.json")
        try JSONSerialization.data(withJSONObject: review).write(to: file)
        return file.path
    }
}
