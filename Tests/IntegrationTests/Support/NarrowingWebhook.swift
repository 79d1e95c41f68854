import Foundation
import TestKubernetesAPI

/// A real irsa-webhook in watch mode with `--narrow-webhook-configuration irsa-webhook` against a
/// `FakeKubernetesAPI` holding that configuration: our entry `irsa-webhook.vultr.com` (with a
/// condition of the user's own, `user-condition`) and a second entry `other.example.com` (with
/// its own), both written by `kubectl-client-side-apply`, as `kubectl apply -f` would.
final class NarrowingWebhook {
    static let configuration = "irsa-webhook"
    static let entry = "irsa-webhook.vultr.com"
    static let otherEntry = "other.example.com"
    /// The name of the condition the webhook owns (WebhookConfigurationAPI.conditionName).
    static let condition = "irsa-webhook-serviceaccounts-with-role"
    static var seeded: [String: Any] {
        FakeKubernetesAPI.webhookConfiguration(
            name: configuration, webhooks: [entry, otherEntry], conditions: ["user-condition": "request.namespace != 'sandbox'"])
    }

    /// Narrowing on, its Lease in irsa-system with a 3 s duration (renewed within 2 s).
    static let arguments = [
        "--narrow-webhook-configuration", configuration, "--narrow-lease-namespace", "irsa-system", "--narrow-lease-duration", "3s",
    ]

    let api: FakeKubernetesAPI
    let setup: WatchModeWebhook

    /// Seeds the configuration (unless `seed` is false), runs `prepare` on the API, starts the webhook.
    init(
        seed: Bool = true, arguments: [String] = [], waitForSync: Bool = true, prepare: (FakeKubernetesAPI) throws -> Void = { _ in }
    ) async throws {
        let api = try FakeKubernetesAPI()
        if seed { try api.setWebhookConfiguration(Self.seeded) }
        try prepare(api)
        self.api = api
        setup = try await WatchModeWebhook(api: api, arguments: Self.arguments + arguments, waitForSync: waitForSync)
    }

    /// The PATCHes answered so far (from number `from`).
    func patches(from: Int = 0, objects: Bool = true) throws -> [FakeKubernetesAPI.WebhookConfigurationPatch] {
        try api.webhookConfigurationPatches(from: from, objects: objects)
    }

    /// Our condition in the stored configuration, nil when there is none.
    func condition() throws -> String? {
        FakeKubernetesAPI.conditions(in: try api.webhookConfiguration(named: Self.configuration), of: Self.entry)[Self.condition]
    }

    /// Waits until our stored condition satisfies `predicate`, for at most `timeout`; returns whether it did.
    func waitForCondition(timeout: Duration = .seconds(10), _ predicate: (String?) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if predicate(try condition()) { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return predicate(try condition())
    }

    /// The first PATCH from number `from` on that changed the object and left our condition satisfying `predicate`.
    func firstWrite(from: Int = 0, where predicate: (String?) -> Bool) throws -> FakeKubernetesAPI.WebhookConfigurationPatch? {
        try patches(from: from).first { $0.status == 200 && $0.changed && predicate($0.conditions(of: Self.entry)[Self.condition]) }
    }

    /// Whether `condition` names account `name` in the exact form (`'name'` inside the literal).
    static func names(_ condition: String?, _ name: String) -> Bool {
        condition?.contains("'\(name)'") == true && condition?.contains(".exists(m, ") == true
    }

    /// `GET /readyz`: status and body.
    func readyz() async throws -> TestTools.HTTPAnswer {
        try await TestTools.curl("GET", port: setup.port, path: "/readyz", caFile: setup.caFile)
    }
}
