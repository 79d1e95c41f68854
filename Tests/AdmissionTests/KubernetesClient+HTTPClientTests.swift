import EventLoop
import Foundation
import TestKubernetesAPI
import Testing
@testable import Admission

private let appKey = ServiceAccountKey(namespace: "shop", name: "app")
private let app = ServiceAccount(namespace: "shop", name: "app", annotations: ["vultr.com/role-arn": "arn:aws:iam::123:role/app"])

/// KubernetesClient over our HTTPClient and TLS against a real HTTPS fake API server.
@Suite(.serialized) final class KubernetesClientHTTPSTests {
    let group = EventLoopGroup(threads: 2)
    let server: FakeKubernetesAPI

    init() throws {
        server = try FakeKubernetesAPI(accounts: [app])
    }

    deinit {
        server.stop()
        group.shutdown()
    }

    func client(_ api: KubernetesAPIConfiguration? = nil, timeout: Duration = .seconds(10)) throws -> KubernetesClient {
        let retries = KubernetesClient.RetryPolicy(maximumAttempts: 4, initialBackoff: .milliseconds(10), maximumBackoff: .milliseconds(40))
        return try KubernetesClient(
            api: api ?? server.configuration, loop: group.loops[0],
            configuration: .init(requestTimeout: timeout, retryPolicy: retries, annotationFilter: .init(prefixes: ["vultr.com/"])))
    }

    @Test func getsAServiceAccountOverVerifiedTLSWithTheToken() async throws {
        #expect(try await client().serviceAccount(appKey)?.ignoringVersion == app)
        #expect(try await client().serviceAccount(ServiceAccountKey(namespace: "shop", name: "missing")) == nil)
        #expect(server.requests == [
            "/api/v1/namespaces/shop/serviceaccounts/app Bearer fake-token",
            "/api/v1/namespaces/shop/serviceaccounts/missing Bearer fake-token",
        ])
    }

    @Test func reusesOneConnectionForSequentialLookups() async throws {
        let loop = group.loops[1]
        let tls = try TLSContext(configuration: .client(trustRoots: .pem(server.certificateAuthorityPEM)))
        let http = HTTPClient(loop: loop, tlsContext: tls)
        let client = KubernetesClient(api: server.configuration, transport: try HTTPClientKubernetesTransport(client: http, api: server.configuration))
        for _ in 0..<5 { #expect(try await client.serviceAccount(appKey)?.ignoringVersion == app) }
        #expect(await withTaskExecutorPreference(loop) { http.connectionsOpened } == 1)
        #expect(server.requests.count == 5)
    }

    @Test func wrongTokenAndForbiddenFailAtOnce() async throws {
        var api = server.configuration
        api.token = .fixed("stolen")
        let unauthorized = await #expect(throws: KubernetesClientError.self) { try await self.client(api).serviceAccount(appKey) }
        #expect(unauthorized?.code == .unauthorized && unauthorized?.attempts == 1)
        try server.behave(status: 403)
        let forbidden = await #expect(throws: KubernetesClientError.self) { try await self.client().serviceAccount(appKey) }
        #expect(forbidden?.code == .forbidden && forbidden?.detail == "injected status 403")
        #expect(server.requests.count == 2)
    }

    @Test func retriesServerErrorsAndOverloadThenSucceeds() async throws {
        try server.behave(status: 500, times: 2)
        #expect(try await client().serviceAccount(appKey)?.ignoringVersion == app)
        #expect(server.requests.count == 3)
        try server.behave(status: 429, times: 1, retryAfter: "1")
        let start = ContinuousClock.now
        #expect(try await client().serviceAccount(appKey)?.ignoringVersion == app)
        #expect(ContinuousClock.now - start >= .seconds(1))
        #expect(server.requests.count == 5)
    }

    @Test func retriesDroppedConnections() async throws {
        try server.behave(times: 2, drop: true)
        #expect(try await client().serviceAccount(appKey)?.ignoringVersion == app)
        #expect(server.requests.count == 3)
        try server.behave(drop: true)
        let error = await #expect(throws: KubernetesClientError.self) { try await self.client().serviceAccount(appKey) }
        #expect(error?.code == .unavailable && error?.attempts == 4)
    }

    @Test func aSlowServerTimesOutWithinTheRequestTimeout() async throws {
        try server.behave(delay: .seconds(2))
        let start = ContinuousClock.now
        let error = await #expect(throws: KubernetesClientError.self) {
            try await self.client(timeout: .milliseconds(300)).serviceAccount(appKey)
        }
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .timedOut)
        #expect(elapsed >= .milliseconds(300) && elapsed < .milliseconds(1500), "\(elapsed)")
    }

    @Test func refusesAServerItCannotVerify() async throws {
        let stranger = try FakeKubernetesAPI(accounts: [app])
        var api = server.configuration
        api.certificateAuthorityPEM = stranger.certificateAuthorityPEM
        let error = await #expect(throws: KubernetesClientError.self) { try await self.client(api).serviceAccount(appKey) }
        #expect(error?.code == .unavailable)
        #expect(server.requests.isEmpty)
    }

    @Test func fiveHundredConcurrentMissesOverTwoLoopsMakeOneGET() async throws {
        try server.behave(delay: .milliseconds(300))
        let coalescer = ServiceAccountFetchCoalescer(upstream: try client())
        let caches = group.loops.map { ServiceAccountCache(upstream: coalescer, executor: $0) }
        try await withThrowingTaskGroup(of: ServiceAccount?.self) { tasks in
            for index in 0..<500 {
                let (loop, cache) = (group.loops[index % 2], caches[index % 2])
                tasks.addTask(executorPreference: loop) { try await cache.serviceAccount(appKey) }
            }
            for try await found in tasks { #expect(found?.ignoringVersion == app) }
        }
        #expect(server.requests.count == 1)
        #expect(coalescer.statistics.upstreamRequests == 1 && coalescer.statistics.coalescedWaiters == 499)
    }
}

/// Mutual TLS: a server that requires a client certificate.
@Suite struct KubernetesClientMutualTLSTests {
    @Test func presentsTheClientCertificate() async throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let server = try FakeKubernetesAPI(accounts: [app], token: nil, requireClientCertificate: true)
        var api = server.configuration
        let anonymous = try KubernetesClient(api: api, loop: group.loops[0], configuration: .init(requestTimeout: .seconds(1)))
        await #expect(throws: KubernetesClientError.self) { try await anonymous.serviceAccount(appKey) }
        api.clientCertificatePEM = server.clientCertificatePEM
        api.clientKeyPEM = server.clientKeyPEM
        let client = try KubernetesClient(api: api, loop: group.loops[0])
        #expect(try await client.serviceAccount(appKey)?.ignoringVersion == app)
        #expect(server.requests.last == "/api/v1/namespaces/shop/serviceaccounts/app -")
    }

    @Test func refusesATLSServerNameTheHTTPClientCannotVerify() throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let api = KubernetesAPIConfiguration(host: "10.0.0.1", port: 443, serverName: "kubernetes.default")
        #expect(throws: KubernetesConfigurationError.self) { try KubernetesClient(api: api, loop: group.loops[0]) }
    }
}

extension ServiceAccount {
    /// The account without its resourceVersion (the fake API's changes with every write).
    var ignoringVersion: ServiceAccount {
        var account = self
        account.resourceVersion = nil
        return account
    }
}
