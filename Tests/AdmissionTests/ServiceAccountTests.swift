import Testing
@testable import Admission

@Suite struct StaticServiceAccountSourceTests {
    @Test func findsAccountsByNamespaceAndName() async throws {
        let source = StaticServiceAccountSource([
            ServiceAccount(namespace: "default", name: "app-sa", annotations: ["vultr.com/role-arn": "arn:aws:iam::1:role/app"]),
        ])
        let found = try await source.serviceAccount(ServiceAccountKey(namespace: "default", name: "app-sa"))
        #expect(found?.annotations["vultr.com/role-arn"] == "arn:aws:iam::1:role/app")
        #expect(try await source.serviceAccount(ServiceAccountKey(namespace: "other", name: "app-sa")) == nil)
    }
}
