import Foundation

extension FakeKubernetesAPI {
    /// One PATCH of a MutatingWebhookConfiguration the fake answered.
    public struct WebhookConfigurationPatch: @unchecked Sendable {
        /// When it was answered (after the commit for a change): CLOCK_REALTIME seconds, comparable
        /// with `Date().timeIntervalSince1970` and `eventWriteTimes()`.
        public var at: Double
        /// The HTTP status answered.
        public var status: Int
        /// Whether it changed the object (an apply of what is already there changes nothing).
        public var changed: Bool
        /// The object after it (with managedFields), when asked for and answered 200.
        public var object: [String: Any]?

        /// The `matchConditions` of entry `webhook` in `object`, by condition name.
        public func conditions(of webhook: String) -> [String: String] {
            FakeKubernetesAPI.conditions(in: object, of: webhook)
        }
    }

    /// Stores `object` (a MutatingWebhookConfiguration without server-set metadata) as written by
    /// `manager` with an update (as `kubectl apply` without --server-side does): that manager owns
    /// every field. Returns its resourceVersion.
    @discardableResult
    public func setWebhookConfiguration(_ object: [String: Any], manager: String = "kubectl-client-side-apply") throws -> String {
        let answer = try command(["op": "setWebhookConfiguration", "object": object, "manager": manager])
        return answer["resourceVersion"] as? String ?? ""
    }

    /// The configuration as a GET returns it (with managedFields), nil when there is none.
    public func webhookConfiguration(named name: String) throws -> [String: Any]? {
        try command(["op": "webhookConfiguration", "name": name])["object"] as? [String: Any]
    }

    /// Every PATCH answered so far from number `from` on, with the objects unless `objects` is false.
    public func webhookConfigurationPatches(from: Int = 0, objects: Bool = true) throws -> [WebhookConfigurationPatch] {
        let answer = try command(["op": "webhookConfigurationPatches", "from": from, "objects": objects])
        return (answer["patches"] as? [[String: Any]] ?? []).map { patch in
            WebhookConfigurationPatch(
                at: patch["at"] as? Double ?? 0, status: patch["status"] as? Int ?? 0, changed: patch["changed"] as? Bool ?? false,
                object: patch["object"] as? [String: Any])
        }
    }

    /// Makes the next `times` (nil: all) GET and PATCH requests of MutatingWebhookConfigurations
    /// answer `status` (403 and 409 with kube-apiserver's messages) after `delay`;
    /// `behaveWebhookConfigurations()` restores normal service.
    public func behaveWebhookConfigurations(status: Int? = nil, times: Int? = nil, delay: Duration = .zero) throws {
        var control: [String: Any] = ["delay": Self.seconds(delay)]
        control["status"] = status
        control["times"] = times
        _ = try command(["op": "behaveWebhookConfigurations", "control": control])
    }

    /// A configuration shaped like deploy/webhook.yaml: entries `webhooks` (each with a service
    /// client, a pod CREATE rule and the required fields) and `conditions` on each (name to expression).
    public static func webhookConfiguration(
        name: String = "irsa-webhook", webhooks: [String] = ["irsa-webhook.vultr.com"], conditions: [String: String] = [:]
    ) -> [String: Any] {
        let entries: [[String: Any]] = webhooks.map { webhook in
            var entry: [String: Any] = [
                "name": webhook, "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Ignore",
                "timeoutSeconds": 10, "reinvocationPolicy": "IfNeeded", "matchPolicy": "Equivalent",
                "clientConfig": ["service": ["name": "irsa-webhook", "namespace": "irsa-system", "path": "/mutate", "port": 443], "caBundle": ""],
                "rules": [["operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced"]],
                "namespaceSelector": ["matchExpressions": [["key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["irsa-system", "kube-system"]]]],
            ]
            if !conditions.isEmpty {
                entry["matchConditions"] = conditions.sorted { $0.key < $1.key }.map { ["name": $0.key, "expression": $0.value] }
            }
            return entry
        }
        return ["apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration", "metadata": ["name": name], "webhooks": entries]
    }

    /// The `matchConditions` of entry `webhook` in a configuration object, by condition name.
    public static func conditions(in object: [String: Any]?, of webhook: String) -> [String: String] {
        let entries = object?["webhooks"] as? [[String: Any]] ?? []
        guard let entry = entries.first(where: { $0["name"] as? String == webhook }) else { return [:] }
        var conditions: [String: String] = [:]
        for condition in entry["matchConditions"] as? [[String: Any]] ?? [] {
            if let name = condition["name"] as? String { conditions[name] = condition["expression"] as? String ?? "" }
        }
        return conditions
    }
}
