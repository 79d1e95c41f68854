import Foundation
import Testing
import TestKubernetesAPI

/// The fake Kubernetes API's Leases answer as kube-apiserver's do, checked with curl over real
/// TLS: real Status bodies, the global resourceVersion, optimistic concurrency on PUT.
@Suite struct FakeKubernetesAPILeaseTests {
    private static let path = "/apis/coordination.k8s.io/v1/namespaces/irsa/leases"

    private func send(_ api: FakeKubernetesAPI, _ method: String, _ path: String, _ body: [String: Any]? = nil) async throws
        -> KubernetesAPIRequest
    {
        let text = try body.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        return try await KubernetesAPIRequest.send(method, path, body: text, port: api.port, caFile: api.certificateAuthorityFile, token: api.token)
    }

    private static func lease(_ name: String, resourceVersion: String? = nil, spec: [String: Any]) -> [String: Any] {
        var metadata: [String: Any] = ["name": name]
        metadata["resourceVersion"] = resourceVersion
        return ["apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata, "spec": spec]
    }

    private static var spec: [String: Any] { [
        "holderIdentity": "a", "leaseDurationSeconds": 15, "acquireTime": "2026-12-07T10:00:00.000000Z",
        "renewTime": "2026-12-07T10:00:00.000000Z", "leaseTransitions": 0,
    ] }

    private static func metadata(_ response: KubernetesAPIRequest) -> [String: Any] {
        response.json?["metadata"] as? [String: Any] ?? [:]
    }

    private func expectStatus(
        _ response: KubernetesAPIRequest, _ code: Int, _ reason: String, _ message: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let body = response.json ?? [:]
        #expect(response.status == code && body["kind"] as? String == "Status" && body["status"] as? String == "Failure",
                "\(response.status) \(response.body)", sourceLocation: sourceLocation)
        #expect(body["code"] as? Int == code && body["reason"] as? String == reason, sourceLocation: sourceLocation)
        #expect(body["message"] as? String == message, sourceLocation: sourceLocation)
    }

    @Test func createGetAndConditionalUpdate() async throws {
        let api = try FakeKubernetesAPI()
        let missing = try await send(api, "GET", Self.path + "/irsa-webhook")
        expectStatus(missing, 404, "NotFound", #"leases.coordination.k8s.io "irsa-webhook" not found"#)
        #expect((missing.json?["details"] as? [String: String]) == ["name": "irsa-webhook", "group": "coordination.k8s.io", "kind": "leases"])

        let before = try #require(Int(try api.resourceVersion()))
        let created = try await send(api, "POST", Self.path, Self.lease("irsa-webhook", spec: Self.spec))
        #expect(created.status == 201 && created.json?["kind"] as? String == "Lease")
        let version = try #require(Self.metadata(created)["resourceVersion"] as? String)
        #expect(Int(version) == before + 1, "the global counter")
        #expect(Self.metadata(created)["namespace"] as? String == "irsa" && (Self.metadata(created)["uid"] as? String)?.count == 36)
        #expect((created.json?["spec"] as? [String: Any])?["holderIdentity"] as? String == "a")

        let again = try await send(api, "POST", Self.path, Self.lease("irsa-webhook", spec: Self.spec))
        expectStatus(again, 409, "AlreadyExists", #"leases.coordination.k8s.io "irsa-webhook" already exists"#)

        let fetched = try await send(api, "GET", Self.path + "/irsa-webhook")
        #expect(fetched.status == 200 && Self.metadata(fetched)["resourceVersion"] as? String == version)

        try api.upsert(namespace: "default", name: "app")
        var renewed = Self.spec
        renewed["renewTime"] = "2026-12-07T10:00:02.000000Z"
        let updated = try await send(api, "PUT", Self.path + "/irsa-webhook", Self.lease("irsa-webhook", resourceVersion: version, spec: renewed))
        #expect(updated.status == 200)
        let newVersion = try #require(Self.metadata(updated)["resourceVersion"] as? String)
        #expect(Int(newVersion) == before + 3, "after the ServiceAccount's change")
        #expect(Self.metadata(updated)["uid"] as? String == Self.metadata(created)["uid"] as? String)

        let stale = try await send(api, "PUT", Self.path + "/irsa-webhook", Self.lease("irsa-webhook", resourceVersion: version, spec: Self.spec))
        expectStatus(stale, 409, "Conflict", #"Operation cannot be fulfilled on leases.coordination.k8s.io "irsa-webhook": "#
            + "the object has been modified; please apply your changes to the latest version and try again")

        let writes = try api.leaseWrites()
        #expect(writes.map(\.verb) == ["create", "update"] && writes.map(\.lease.resourceVersion) == [version, newVersion])
        #expect(writes.last?.lease.renewTime == "2026-12-07T10:00:02.000000Z" && writes.last?.namespace == "irsa")
        #expect(try api.lease(namespace: "irsa", name: "irsa-webhook")?.resourceVersion == newVersion)
    }

    @Test func refusesLeasesTheAPIServerRefuses() async throws {
        let api = try FakeKubernetesAPI()
        var spec = Self.spec
        spec["leaseDurationSeconds"] = 0
        expectStatus(
            try await send(api, "POST", Self.path, Self.lease("l", spec: spec)), 422, "Invalid",
            #"Lease.coordination.k8s.io "l" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"#)
        spec = Self.spec
        spec["renewTime"] = "2026-12-07T10:00:02.123Z"
        let milliseconds = try await send(api, "POST", Self.path, Self.lease("l", spec: spec))
        #expect(milliseconds.status == 400 && milliseconds.json?["reason"] as? String == "BadRequest", "MicroTime has six digits")
        let nameless = try await send(api, "POST", Self.path, ["metadata": [:], "spec": Self.spec])
        #expect(nameless.status == 422 && nameless.json?["reason"] as? String == "Invalid")
        let otherNamespace = try await send(api, "POST", Self.path, ["metadata": ["name": "l", "namespace": "other"], "spec": Self.spec])
        #expect(otherNamespace.status == 400)
        _ = try await send(api, "POST", Self.path, Self.lease("l", spec: Self.spec))
        let renamed = try await send(api, "PUT", Self.path + "/l", Self.lease("m", spec: Self.spec))
        #expect(renamed.status == 400)
        let missing = try await send(api, "PUT", Self.path + "/m", Self.lease("m", resourceVersion: "1", spec: Self.spec))
        #expect(missing.status == 404)
        let unconditional = try await send(api, "PUT", Self.path + "/l", Self.lease("l", spec: Self.spec))
        #expect(unconditional.status == 200, "Leases allow updates without a resourceVersion")
        #expect(try api.leaseWrites().count == 2)
    }

    @Test func injectedFaultsAndOtherWriters() async throws {
        let api = try FakeKubernetesAPI()
        try api.failLeaseRequests(status: 403, times: 1)
        let forbidden = try await send(api, "PUT", Self.path + "/l", Self.lease("l", spec: Self.spec))
        expectStatus(forbidden, 403, "Forbidden", #"leases.coordination.k8s.io "l" is forbidden: User "system:serviceaccount:irsa:irsa-webhook" "#
            + #"cannot update resource "leases" in API group "coordination.k8s.io" in the namespace "irsa""#)
        #expect(try await send(api, "GET", Self.path + "/l").status == 404, "one time only")

        let written = try api.putLease(namespace: "irsa", name: "l", spec: ["holderIdentity": "ghost", "leaseDurationSeconds": 3])
        #expect(written.holderIdentity == "ghost" && written.leaseDurationSeconds == 3 && written.leaseTransitions == nil)
        let fetched = try await send(api, "GET", Self.path + "/l")
        #expect(Self.metadata(fetched)["resourceVersion"] as? String == written.resourceVersion)
        #expect(try api.leaseWrites().map(\.verb) == ["test"])

        let unauthorized = try await KubernetesAPIRequest.send("GET", Self.path + "/l", port: api.port, caFile: api.certificateAuthorityFile, token: "wrong")
        #expect(unauthorized.status == 401)
        #expect(api.requests.filter { $0.hasPrefix(Self.path) }.count == 4)
    }
}
