import Foundation
import TestKubernetesAPI
import Testing

/// The fake API's MutatingWebhookConfigurations answer as kube-apiserver's server-side apply
/// does: list-maps merged by name, field managers, conflicts without `force`, removal of what a
/// manager stops applying, and kube-apiserver's errors (what the narrowing tests rely on).
@Suite struct FakeKubernetesAPIWebhookConfigurationTests {
    static let path = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/irsa-webhook"

    static func apply(_ conditions: [String: String], entry: String = "a.example") throws -> String {
        let object: [String: Any] = [
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration", "metadata": ["name": "irsa-webhook"],
            "webhooks": [["name": entry, "matchConditions": conditions.sorted { $0.key < $1.key }.map { ["name": $0.key, "expression": $0.value] }]],
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    func patch(_ api: FakeKubernetesAPI, _ query: String, _ body: String, contentType: String = "application/apply-patch+yaml") async throws
        -> KubernetesAPIRequest
    {
        try await KubernetesAPIRequest.send("PATCH", Self.path + query, body: body, contentType: contentType, port: api.port,
                                            caFile: api.certificateAuthorityFile, token: api.token)
    }

    static func conditions(_ response: KubernetesAPIRequest, _ entry: String = "a.example") -> [String: String] {
        FakeKubernetesAPI.conditions(in: response.json, of: entry)
    }

    @Test func applyMergesByNameConflictsWithoutForceAndRemovesWhatItNoLongerApplies() async throws {
        let api = try FakeKubernetesAPI()
        let seeded = FakeKubernetesAPI.webhookConfiguration(webhooks: ["a.example", "b.example"], conditions: ["user": "true"])
        let version = try api.setWebhookConfiguration(seeded)

        let ours = try await patch(api, "?fieldManager=irsa-webhook&force=true", try Self.apply(["ours": "1 == 1"]))
        #expect(ours.status == 200)
        #expect(Self.conditions(ours) == ["user": "true", "ours": "1 == 1"], "merged by name")
        #expect(Self.conditions(ours, "b.example") == ["user": "true"])
        let metadata = ours.json?["metadata"] as? [String: Any] ?? [:]
        #expect(Int(metadata["resourceVersion"] as? String ?? "") ?? 0 > Int(version) ?? 0)
        #expect(metadata["generation"] as? Int == 2)
        let managers = (metadata["managedFields"] as? [[String: Any]] ?? []).map { "\($0["manager"]!)/\($0["operation"]!)" }
        #expect(managers == ["kubectl-client-side-apply/Update", "irsa-webhook/Apply"])

        let same = try await patch(api, "?fieldManager=irsa-webhook&force=true", try Self.apply(["ours": "1 == 1"]))
        #expect((same.json?["metadata"] as? [String: Any])?["resourceVersion"] as? String == metadata["resourceVersion"] as? String,
                "an apply that changes nothing changes nothing")

        let conflict = try await patch(api, "?fieldManager=someone", try Self.apply(["user": "false"]))
        #expect(conflict.status == 409 && conflict.json?["reason"] as? String == "Conflict")
        #expect((conflict.json?["message"] as? String)?.hasPrefix(#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply""#) == true)
        let forced = try await patch(api, "?fieldManager=someone&force=true", try Self.apply(["user": "false"]))
        #expect(Self.conditions(forced)["user"] == "false", "force takes the field over")

        let removed = try await patch(api, "?fieldManager=irsa-webhook&force=true", try Self.apply([:]))
        #expect(Self.conditions(removed) == ["user": "false"], "what the manager no longer applies is removed")
        #expect(try api.webhookConfigurationPatches(objects: false).map(\.status) == [200, 200, 409, 200, 200])
    }

    @Test func refusesWhatKubeAPIServerRefuses() async throws {
        let api = try FakeKubernetesAPI()
        try api.setWebhookConfiguration(FakeKubernetesAPI.webhookConfiguration(webhooks: ["a.example"]))
        let noManager = try await patch(api, "?force=true", try Self.apply(["ours": "true"]))
        #expect(noManager.status == 422 && (noManager.json?["message"] as? String)?.contains("fieldManager: Required value") == true)
        let missingEntry = try await patch(api, "?fieldManager=m", try Self.apply(["ours": "true"], entry: "missing.example"))
        #expect(missingEntry.status == 422 && (missingEntry.json?["message"] as? String)?.contains("webhooks[1].clientConfig: Required value") == true)
        let mergePatch = try await patch(api, "", "{}", contentType: "application/merge-patch+json")
        #expect(mergePatch.status == 415)
        let tooLong = try await patch(api, "?fieldManager=m", try Self.apply(["ours": String(repeating: "x", count: 100_001)]))
        #expect(tooLong.status == 422 && (tooLong.json?["message"] as? String)?.contains("Too long") == true)
        let notFound = try await KubernetesAPIRequest.get(Self.path + "-missing", port: api.port, caFile: api.certificateAuthorityFile, token: api.token)
        #expect(notFound.status == 404 && (notFound.json?["message"] as? String) == #"mutatingwebhookconfigurations.admissionregistration.k8s.io "irsa-webhook-missing" not found"#)
        try api.behaveWebhookConfigurations(status: 403, times: 1)
        let forbidden = try await patch(api, "?fieldManager=m", try Self.apply(["ours": "true"]))
        #expect(forbidden.status == 403 && (forbidden.json?["message"] as? String)?.contains(#"cannot patch resource "mutatingwebhookconfigurations""#) == true)
        #expect(try await patch(api, "?fieldManager=m", try Self.apply(["ours": "true"])).status == 200, "the fault was for one request")
    }
}
