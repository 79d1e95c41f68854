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

    /// The lines of the informer (a LIST, a watch cut off), of narrowing (a write, a failed one),
    /// of the Lease and of a ServiceAccounts file reload carry their counts and durations as JSON
    /// numbers, durations in seconds: no `"12"`, no `"0.5 seconds"`.
    @Test func informerNarrowingLeaseAndReloadLinesCarryNumbersAsNumbers() async throws {
        let narrowing = try await NarrowingWebhook { api in
            try api.upsert(namespace: "default", name: "app", annotations: ["vultr.com/role-arn": WatchModeWebhook.role("app")])
        }
        let webhook = narrowing.setup.webhook
        let written = try await HandshakeFailureLoggingTests.logLines(of: webhook, containing: "webhook configuration written", atLeast: 1)
        #expect(written.first?["accounts"] as? Int == 1, "\(written)")
        #expect((written.first?["codePoints"] as? Int ?? 0) > 0, "\(written)")
        #expect(written.first?["seconds"] is Double, "\(written)")
        let listed = try await HandshakeFailureLoggingTests.logLines(of: webhook, containing: "ServiceAccounts listed", atLeast: 1)
        #expect(listed.first?["accounts"] as? Int == 1 && listed.first?["pages"] as? Int == 1, "\(listed)")
        #expect(listed.first?["seconds"] is Double, "\(listed)")

        // A failed narrowing write, and a watch stream cut off without its last chunk: both retry.
        try narrowing.api.behaveWebhookConfigurations(status: 403, times: 1)
        try narrowing.api.upsert(namespace: "default", name: "second", annotations: ["vultr.com/role-arn": WatchModeWebhook.role("second")])
        let failedWrite = try await HandshakeFailureLoggingTests.logLines(of: webhook, containing: "cannot write the webhook configuration", atLeast: 1)
        #expect((failedWrite.first?["retryIn"] as? Double ?? 0) > 0, "\(failedWrite)")
        try narrowing.api.behaveWatch(.init(closeAfter: .milliseconds(300), closeAbruptly: true))
        let interrupted = try await HandshakeFailureLoggingTests.logLines(of: webhook, containing: "watch interrupted", atLeast: 1)
        #expect((interrupted.first?["retryIn"] as? Double ?? 0) > 0, "\(interrupted)")
        try narrowing.api.behaveWatch()
        #expect(Self.fieldsThatLookLikeNumbers(in: webhook.output).isEmpty, "\(Self.fieldsThatLookLikeNumbers(in: webhook.output))")

        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let accountsFile = try TestTools.write(Self.accounts, to: "accounts.yaml", in: directory)
        let fileWebhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "1",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key, "--service-accounts-file", accountsFile,
        ])
        _ = try await fileWebhook.listeningPort()
        _ = try TestTools.write(Self.accounts + "\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: third, namespace: default}\n",
                                to: "accounts.yaml", in: directory)
        let reloaded = try await HandshakeFailureLoggingTests.logLines(of: fileWebhook, containing: "ServiceAccounts file reloaded", atLeast: 1)
        #expect(reloaded.first?["accounts"] as? Int == 3, "\(reloaded)")
        #expect(try await fileWebhook.stop(timeout: .seconds(10)) == 0)
        #expect(Self.fieldsThatLookLikeNumbers(in: fileWebhook.output).isEmpty, "\(Self.fieldsThatLookLikeNumbers(in: fileWebhook.output))")
    }

    /// "message: key=value" for every string field of the JSON log lines in `output` that holds a
    /// number or a Swift `Duration`'s description; resourceVersions are opaque strings in Kubernetes.
    static func fieldsThatLookLikeNumbers(in output: String) -> [String] {
        let number = #/-?[0-9]+(\.[0-9]+)?(e-?[0-9]+)?( seconds)?/#
        return output.split(separator: "\n").flatMap { line -> [String] in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return [] }
            return object.compactMap { key, value in
                guard key != "resourceVersion", let text = value as? String, text.wholeMatch(of: number) != nil else { return nil }
                return "\(object["message"] ?? "?"): \(key)=\(text)"
            }
        }
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
