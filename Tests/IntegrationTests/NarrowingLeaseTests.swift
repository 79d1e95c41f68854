import Foundation
import TestKubernetesAPI
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// One writer among replicas: two webhook processes against one fake API elect the narrowing
/// writer through a Lease (3 s here); only the holder writes the condition, both serve
/// admissions, and the other takes over after the holder is killed (SIGKILL: no release).
@Suite(.serialized, .timeLimit(.minutes(5))) struct NarrowingLeaseTests {
    static let lease = (namespace: "irsa-system", name: "irsa-webhook-narrowing")

    static func replica(_ api: FakeKubernetesAPI, _ identity: String) async throws -> WatchModeWebhook {
        try await WatchModeWebhook(api: api, arguments: NarrowingWebhook.arguments + ["--narrow-lease-identity", identity])
    }

    static func waitForLeaseHolder(_ api: FakeKubernetesAPI, _ identity: String, timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try api.lease(namespace: lease.namespace, name: lease.name)?.holderIdentity == identity { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    @Test func onlyTheLeaseHolderWritesAndAnotherReplicaTakesOverWhenItIsKilled() async throws {
        let api = try FakeKubernetesAPI()
        try api.setWebhookConfiguration(NarrowingWebhook.seeded)
        try api.upsert(namespace: "default", name: "first", annotations: ["vultr.com/role-arn": WatchModeWebhook.role("first")])
        let a = try await Self.replica(api, "replica-a")
        #expect(try await Self.waitForLeaseHolder(api, "replica-a", timeout: .seconds(10)))
        let b = try await Self.replica(api, "replica-b")
        let condition = { FakeKubernetesAPI.conditions(in: try api.webhookConfiguration(named: NarrowingWebhook.configuration), of: NarrowingWebhook.entry)[NarrowingWebhook.condition] }

        try api.upsert(namespace: "default", name: "second", annotations: ["vultr.com/role-arn": WatchModeWebhook.role("second")])
        var deadline = ContinuousClock.now + .seconds(10)
        while try !NarrowingWebhook.names(condition(), "second"), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try NarrowingWebhook.names(condition(), "second"))
        #expect(try await b.admittedRole("second") == WatchModeWebhook.role("second"), "the follower serves admissions as usual")
        #expect(try await a.metric("irsa_narrowing_writer_active") == 1)
        #expect(try await b.metric("irsa_narrowing_writer_active") == 0)
        #expect(try await a.metric(#"irsa_narrowing_writes_total{result="success"}"#) >= 2)
        #expect(try await b.metric(#"irsa_narrowing_writes_total{result="success"}"#) == 0, "only the holder writes")
        #expect(try api.lease(namespace: Self.lease.namespace, name: Self.lease.name)?.holderIdentity == "replica-a")
        let follower = try await TestTools.curl("GET", port: b.port, path: "/readyz", caFile: b.caFile)
        #expect(follower.status == 200 && follower.body.contains("not writing"), "\(follower.body)")

        let killedAt = ContinuousClock.now
        _ = try await a.webhook.stop(signal: SIGKILL)
        #expect(try await Self.waitForLeaseHolder(api, "replica-b", timeout: .seconds(20)))
        let takeover = ContinuousClock.now - killedAt
        try api.upsert(namespace: "default", name: "third", annotations: ["vultr.com/role-arn": WatchModeWebhook.role("third")])
        deadline = ContinuousClock.now + .seconds(10)
        while try !NarrowingWebhook.names(condition(), "third"), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try NarrowingWebhook.names(condition(), "third") && NarrowingWebhook.names(condition(), "second"))
        #expect(try await b.metric("irsa_narrowing_writer_active") == 1)
        #expect(try await b.metric(#"irsa_narrowing_writes_total{result="success"}"#) >= 1)
        print("takeover after SIGKILL of the holder: \(takeover) (Lease duration 3 s)")
        #expect(takeover < .seconds(10))
    }
}
