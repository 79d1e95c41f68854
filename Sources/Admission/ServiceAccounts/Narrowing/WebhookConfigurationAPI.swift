import EventLoop
import Foundation

/// The narrowing writer's requests: GET of its MutatingWebhookConfiguration (does the entry
/// exist?) and a server-side apply of the one `matchConditions` item it owns in that entry.
///
/// The apply (`PATCH … ?fieldManager=…&force=true`, `application/apply-patch+yaml`, a JSON body)
/// names only the configuration, the entry and the condition. The API server merges `webhooks`
/// and `matchConditions` by `name` (both are list-maps), so every other field, entry and
/// condition keeps its value and its owner; our field manager owns just this condition, and an
/// apply without it (no condition) removes it. `force` takes the condition over from whoever set
/// it last (the flag says the webhook owns it). Confined to the client's event loop.
struct WebhookConfigurationAPI: Sendable {
    /// The name of the condition the writer owns.
    static let conditionName = "irsa-webhook-serviceaccounts-with-role"

    let client: HTTPClient
    let api: KubernetesAPIConfiguration
    let userAgent: String
    /// The MutatingWebhookConfiguration's name.
    let configuration: String
    /// The webhook entry's name within it.
    let webhook: String
    /// The server-side apply field manager.
    let fieldManager: String

    typealias Failure = KubernetesAPIFailure

    /// Checks that the configuration exists and holds the entry (an apply would otherwise try to
    /// create them, which the API refuses for want of every other field).
    func checkEntry(deadline: Deadline) async throws {
        let response = try await client.execute(request(.GET), deadline: deadline)
        guard response.head.status.code == 200 else { throw failure("GET", response) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw Failure(status: 200, description: "GET mutatingwebhookconfigurations/\(configuration): the body is not a JSON object")
        }
        let names = (object["webhooks"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        guard names.contains(webhook) else {
            throw Failure(status: 200, description: "MutatingWebhookConfiguration \(configuration) has no webhook named \(webhook) (it has: \(names.joined(separator: ", ")))")
        }
    }

    /// Applies `condition` as the entry's condition of ours (none for `everyPod`).
    func apply(_ condition: NarrowingCondition, deadline: Deadline) async throws {
        let response = try await client.execute(request(.PATCH, body: Self.applyBody(condition, configuration: configuration, webhook: webhook)), deadline: deadline)
        guard response.head.status.code == 200 else { throw failure("PATCH (apply)", response) }
    }

    /// The apply body: the configuration, the entry, and our condition if any.
    static func applyBody(_ condition: NarrowingCondition, configuration: String, webhook: String) -> [UInt8] {
        var json = JSONWriter(capacity: condition.size + 512)
        json.raw(#"{"apiVersion":"admissionregistration.k8s.io/v1","kind":"MutatingWebhookConfiguration","metadata":{"name":"#)
        json.string(configuration)
        json.raw(#"},"webhooks":[{"name":"#)
        json.string(webhook)
        if let expression = condition.expression {
            json.raw(#","matchConditions":[{"name":"#)
            json.string(conditionName)
            json.raw(#","expression":"#)
            json.string(expression)
            json.raw("}]")
        }
        json.raw("}]}")
        return json.finish()
    }

    private func request(_ method: HTTPMethod, body: [UInt8] = []) throws -> HTTPClientRequest {
        var path = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/" + KubernetesClient.escapePathSegment(configuration)
        if method == .PATCH { path += "?fieldManager=" + KubernetesClient.escapePathSegment(fieldManager) + "&force=true" }
        return try api.request(method, path: path, userAgent: userAgent, body: body, contentType: "application/apply-patch+yaml")
    }

    private func failure(_ what: String, _ response: HTTPClientResponse) -> Failure {
        Failure("\(what) mutatingwebhookconfigurations/\(configuration)", status: Int(response.head.status.code), body: response.body,
                rbacHint: "the webhook needs RBAC get and patch on mutatingwebhookconfigurations, resourceNames [\(configuration)]")
    }
}
