import Foundation
import Testing

/// `--dev` end to end: the self-signed certificate, deploy/dev/serviceaccounts.yaml, and real
/// AdmissionReviews posted with curl. Serialized, because every dev-mode process rewrites the
/// same certificate in /tmp/irsa-webhook-dev.
@Suite(.serialized) struct DevModeTests {
    static let caFile = "/tmp/irsa-webhook-dev/tls.crt"

    @Test func devModeMutatesTheSampleReviewAndRejectsBadRequests() async throws {
        let webhook = try WebhookProcess(["--dev", "--port", "0", "--metrics-port", "0"], currentDirectory: TestTools.root.path)
        let port = try await webhook.listeningPort()
        #expect(try await webhook.waitForOutput(containing: "dev mode: https://127.0.0.1:\(port)/mutate"))
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }

        // The sample review: a Pod of default/app-sa with two containers and an init container.
        let reviewFile = TestTools.root.appendingPathComponent("deploy/dev/review.json").path
        let review = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: reviewFile))) as? [String: Any])
        let request = try #require(review["request"] as? [String: Any])
        let answer = try await TestTools.curl("POST", port: port, path: "/mutate", caFile: Self.caFile,
                                              contentType: "application/json", bodyFile: reviewFile)
        #expect(answer.status == 200)
        let json = try #require(answer.json, "not JSON: \(answer.body)")
        #expect(json["kind"] as? String == "AdmissionReview")
        #expect(json["apiVersion"] as? String == "admission.k8s.io/v1")
        let response = try #require(json["response"] as? [String: Any])
        #expect(response["uid"] as? String == request["uid"] as? String)
        #expect(response["allowed"] as? Bool == true)
        #expect(response["patchType"] as? String == "JSONPatch")
        let operations = try #require(try TestTools.patch(of: json))
        try Self.checkInjection(operations, role: "arn:aws:iam::111122223333:role/app-sa-role",
                                  containers: ["initContainers/0", "containers/0", "containers/1"])

        // The real kube-apiserver sample: e2e/sa1 is not in the dev file, so it is left alone.
        let sampleFile = TestTools.root.appendingPathComponent("Tests/AdmissionTests/Fixtures/apiserver-sample.review.json").path
        let sample = try await TestTools.curl("POST", port: port, path: "/mutate", caFile: Self.caFile,
                                              contentType: "application/json", bodyFile: sampleFile)
        #expect(sample.status == 200)
        let sampleJSON = try #require(sample.json, "not JSON: \(sample.body)")
        let sampleResponse = try #require(sampleJSON["response"] as? [String: Any])
        #expect(sampleResponse["uid"] as? String == "90350c71-70ba-4eb4-873b-4f22e7a8145d")
        #expect(sampleResponse["allowed"] as? Bool == true)
        #expect(try TestTools.patch(of: sampleJSON) == nil)

        // The sample Pod moved to default/plain-sa, an account without annotations: no patch.
        var plain = review
        var plainRequest = request
        var object = try #require(request["object"] as? [String: Any])
        var spec = try #require(object["spec"] as? [String: Any])
        spec["serviceAccountName"] = "plain-sa"
        object["spec"] = spec
        plainRequest["object"] = object
        plainRequest["uid"] = "plain-sa-uid"
        plain["request"] = plainRequest
        let plainFile = directory.appendingPathComponent("plain.json")
        try JSONSerialization.data(withJSONObject: plain).write(to: plainFile)
        let unannotated = try await TestTools.curl("POST", port: port, path: "/mutate", caFile: Self.caFile,
                                                   contentType: "application/json", bodyFile: plainFile.path)
        #expect(unannotated.status == 200)
        let unannotatedJSON = try #require(unannotated.json)
        #expect((unannotatedJSON["response"] as? [String: Any])?["uid"] as? String == "plain-sa-uid")
        #expect((unannotatedJSON["response"] as? [String: Any])?["allowed"] as? Bool == true)
        #expect(try TestTools.patch(of: unannotatedJSON) == nil)

        // Bad requests.
        let wrongType = try await TestTools.curl("POST", port: port, path: "/mutate", caFile: Self.caFile,
                                                 contentType: "text/plain", bodyFile: reviewFile)
        #expect(wrongType.status == 415)
        let malformedFile = try TestTools.write(#"{"kind":"AdmissionReview","request":{"uid":"#, to: "malformed.json", in: directory)
        let malformed = try await TestTools.curl("POST", port: port, path: "/mutate", caFile: Self.caFile,
                                                 contentType: "application/json", bodyFile: malformedFile)
        #expect(malformed.status == 400)
        #expect(malformed.body.contains("JSON"), "400 without a message: \(malformed.body)")
        #expect(try await TestTools.curl("GET", port: port, path: "/mutate", caFile: Self.caFile).status == 405)
        #expect(try await TestTools.curl("GET", port: port, path: "/nowhere", caFile: Self.caFile).status == 404)

        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }

    /// An installed binary run outside a checkout: dev mode serves its built-in sample
    /// ServiceAccounts, and the command it prints, run from yet another directory, shows the
    /// resulting pod's environment, mount and volume. (Checked out, the repository's files are
    /// used, by absolute path.)
    @Test func devModeWorksOutsideTheRepositoryAndThePrintedCommandShowsThePod() async throws {
        let elsewhere = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let installed = elsewhere.appendingPathComponent("irsa-webhook").path
        try FileManager.default.copyItem(atPath: WebhookProcess.binaryPath, toPath: installed)
        let webhook = try WebhookProcess(["--dev", "--port", "0", "--metrics-port", "0"], currentDirectory: elsewhere.path,
                                         executable: installed)
        let port = try await webhook.listeningPort()
        #expect(try await webhook.waitForOutput(containing: "show-pod.py"), "\(webhook.output)")
        #expect(webhook.output.contains("/tmp/irsa-webhook-dev/serviceaccounts.yaml"), "built-in accounts: \(webhook.output)")
        let lines = webhook.output.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.hasPrefix("curl ") }, "\(webhook.output)")
        let command = lines[start...(start + 2)].joined(separator: "\n")
        #expect(command.contains("https://127.0.0.1:\(port)/mutate") && !command.contains(" @deploy/"), "absolute paths: \(command)")

        let shown = try await TestTools.run(["bash", "-c", command], in: URL(fileURLWithPath: "/"), timeout: .seconds(20))
        #expect(shown.status == 0, "\(shown.stderr)")
        let pod = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any], "\(shown.stdout)")
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        let environment = (container["env"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(environment == ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_ENDPOINT_URL_STS"])
        let mounts = container["volumeMounts"] as? [[String: Any]] ?? []
        #expect(mounts.first?["mountPath"] as? String == "/var/run/secrets/vultr.com/serviceaccount")
        let volumes = pod["volumes"] as? [[String: Any]] ?? []
        #expect(volumes.first?["name"] as? String == "vultr-irsa-token", "\(pod)")
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }

    /// Checks the operations inject the role's environment and a read-only token mount into each
    /// of `containers` (paths under /spec), and add the projected token volume.
    static func checkInjection(_ operations: [[String: Any]], role: String, containers: [String]) throws {
        /// The added values at `path` or `path/-` (a whole array or one element each).
        func added(_ path: String) -> [[String: Any]] {
            operations.filter { $0["op"] as? String == "add" && ($0["path"] as? String == path || $0["path"] as? String == path + "/-") }
                .flatMap { ($0["value"] as? [[String: Any]]) ?? [$0["value"] as? [String: Any]].compactMap { $0 } }
        }
        for container in containers {
            let environment = Dictionary(added("/spec/\(container)/env").compactMap { entry in
                (entry["name"] as? String).map { ($0, entry["value"] as? String) }
            }, uniquingKeysWith: { first, _ in first })
            #expect(environment["AWS_ROLE_ARN"] == role, "\(container): \(environment)")
            #expect(environment["AWS_WEB_IDENTITY_TOKEN_FILE"] == "/var/run/secrets/vultr.com/serviceaccount/token")
            #expect(environment["AWS_STS_REGIONAL_ENDPOINTS"] == "regional")
            #expect(environment["AWS_ENDPOINT_URL_STS"] == "https://api.vultr.com/v2/assumed-roles/compatibility/aws/sts")
            let mounts = added("/spec/\(container)/volumeMounts").filter { $0["name"] as? String == "vultr-irsa-token" }
            #expect(mounts.count == 1, "\(container): \(mounts)")
            #expect(mounts.first?["readOnly"] as? Bool == true)
            #expect(mounts.first?["mountPath"] as? String == "/var/run/secrets/vultr.com/serviceaccount")
        }
        let volume = try #require(added("/spec/volumes").first { $0["name"] as? String == "vultr-irsa-token" }, "\(operations)")
        let sources = try #require((volume["projected"] as? [String: Any])?["sources"] as? [[String: Any]])
        let token = try #require(sources.first?["serviceAccountToken"] as? [String: Any])
        #expect(token["audience"] as? String == "vultr")
        #expect(token["path"] as? String == "token")
        #expect(token["expirationSeconds"] as? Int == 86400)
    }
}
