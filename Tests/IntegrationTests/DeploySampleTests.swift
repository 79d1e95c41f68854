import Foundation
import Testing
import Yams

/// The samples in deploy/: the OIDC check Pod (its script run for real on a made-up token) and
/// the dev-mode ServiceAccounts and AdmissionReview.
@Suite("deploy/ samples")
struct DeploySampleTests {
    @Test("the test pod prints its token's claims, and fails loudly without a token")
    func oidcTestPod() async throws {
        let account = try Deploy.object("test-oidc-issuer.yaml", kind: "ServiceAccount")
        #expect(account["metadata"]?["annotations"]?.stringMap["vultr.com/role-arn"]?.hasPrefix("arn:") == true)
        let pod = try Deploy.object("test-oidc-issuer.yaml", kind: "Pod")
        #expect(pod["spec"]?["serviceAccountName"]?.string == account["metadata"]?["name"]?.string)
        let container = try #require(pod["spec"]?["containers"]?[0])
        let script = try #require(container["args"]?[0]?.string)
        let envNames = Set((container["env"]?.sequence ?? []).compactMap { $0["name"]?.string })
        for match in script.matches(of: /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/) {
            #expect(!envNames.contains(String(match.1)), "the kubelet would expand $(\(match.1)) in the script")
        }

        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let shell = Deploy.which("busybox").map { [$0, "sh"] } ?? ["sh"]
        // Subjects of growing length put the base64url payload through every padding case.
        var payloads: [String] = []
        for suffix in ["", "x", "xy", "xyz"] {
            let subject = "system:serviceaccount:default:irsa-oidc-check\(suffix)"
            let claims = #"{"aud":["vultr"],"exp":1764300000,"iat":1764213600,"iss":"https://oidc.vke.example/v1/abc?~~","#
                + #""kubernetes.io":{"namespace":"default"},"sub":"\#(subject)"}"#
            let token = directory.appendingPathComponent("token\(suffix.count)")
            payloads.append(Self.base64url(claims))
            try (Self.base64url(#"{"alg":"RS256"}"#) + "." + payloads.last! + ".c2ln")
                .write(to: token, atomically: true, encoding: .utf8)
            let result = try await TestTools.run(shell + ["-c", script], environment: [
                "PATH": "/usr/bin:/bin", "HOLD_SECONDS": "0",
                "AWS_ROLE_ARN": "arn:aws:iam::111122223333:role/irsa-oidc-check",
                "AWS_WEB_IDENTITY_TOKEN_FILE": token.path,
            ], timeout: .seconds(20))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains(#"iss: "https://oidc.vke.example/v1/abc?~~""#))
            #expect(result.stdout.contains(#"aud: ["vultr"]"#))
            #expect(result.stdout.contains(#"sub: "\#(subject)""#))
            #expect(result.stdout.contains("exp: 1764300000"))
            #expect(result.stdout.contains("lifetime: 86400 s"))
            #expect(result.stdout.contains("AWS_ROLE_ARN=arn:aws:iam::111122223333:role/irsa-oidc-check"))
            #expect(!result.stdout.contains(".c2ln"), "the log must not show the token")
        }
        #expect(Set(payloads.map { $0.count % 4 }) == [0, 2, 3], "padding cases covered")
        #expect(payloads.contains { $0.contains("-") || $0.contains("_") }, "base64url alphabet covered")

        let unmutated = try await TestTools.run(shell + ["-c", script], environment: [
            "PATH": "/usr/bin:/bin", "HOLD_SECONDS": "0",
            "AWS_WEB_IDENTITY_TOKEN_FILE": directory.appendingPathComponent("absent").path,
        ], timeout: .seconds(20))
        #expect(unmutated.status == 1)
        #expect(unmutated.stderr.contains("no token"))
        #expect(unmutated.stdout.contains("AWS_ROLE_ARN=<unset>"))
    }

    @Test("dev samples: one account per annotation case, and a review of a Pod of app-sa")
    func devSamples() throws {
        let accounts = try Deploy.documents("dev/serviceaccounts.yaml")
        var byKey: [String: [String: String]] = [:]
        for account in accounts {
            #expect(account["kind"]?.string == "ServiceAccount")
            let key = "\(account["metadata"]?["namespace"]?.string ?? "")/\(account["metadata"]?["name"]?.string ?? "")"
            byKey[key] = account["metadata"]?["annotations"]?.stringMap ?? [:]
        }
        #expect(byKey["default/app-sa"]?["vultr.com/role-arn"]?.hasPrefix("arn:") == true)
        #expect(byKey.values.contains { $0["api.vultr.com/role"] != nil && $0["vultr.com/role-arn"] == nil })
        #expect(byKey.values.contains {
            $0["vultr.com/role-arn"] != nil && $0["vultr.com/audience"] != nil
                && $0["vultr.com/token-expiration"].flatMap { Int($0) } != nil
        })
        #expect(byKey.values.contains { $0.isEmpty })

        let review = try JSONSerialization.jsonObject(with: Data(contentsOf: Deploy.url("dev/review.json"))) as? [String: Any]
        #expect(review?["apiVersion"] as? String == "admission.k8s.io/v1")
        #expect(review?["kind"] as? String == "AdmissionReview")
        let request = try #require(review?["request"] as? [String: Any])
        #expect((request["uid"] as? String)?.isEmpty == false)
        #expect(request["operation"] as? String == "CREATE")
        #expect((request["kind"] as? [String: Any])?["kind"] as? String == "Pod")
        let namespace = try #require(request["namespace"] as? String)
        let spec = (request["object"] as? [String: Any])?["spec"] as? [String: Any]
        let accountName = try #require(spec?["serviceAccountName"] as? String)
        #expect("\(namespace)/\(accountName)" == "default/app-sa")
        #expect(byKey["\(namespace)/\(accountName)"] != nil, "review.json's account is in serviceaccounts.yaml")
    }

    static func base64url(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
