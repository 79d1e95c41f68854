import EventLoop
import Foundation
import Testing
@testable import Admission

private let appKey = ServiceAccountKey(namespace: "shop", name: "app")

private func serviceAccountJSON(namespace: String = "shop", name: String = "app", annotations: String = #"{"vultr.com/role-arn": "arn:aws:iam::1:role/app", "other": "x"}"#) -> [UInt8] {
    Array(#"{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"\#(name)","namespace":"\#(namespace)","uid":"1","annotations":\#(annotations)},"secrets":[{"name":"t"}]}"#.utf8)
}

private func statusJSON(_ message: String) -> [UInt8] {
    Array(#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"\#(message)","code":403}"#.utf8)
}

/// Answers GETs from a script, recording each request: the pure retry logic's stand-in until the
/// real HTTPS path is tested in `KubernetesClientHTTPSTests`.
final class ScriptedKubernetesTransport: KubernetesTransport {
    enum Step { case respond(KubernetesTransportResponse), fail(any Error) }
    struct Request { var path: String; var headers: [String: String]; var deadline: Deadline }

    private let state: LockedValue<(steps: [Step], requests: [Request])>

    init(_ steps: [Step]) { state = LockedValue((steps, [])) }

    var requests: [Request] { state.withLock { $0.requests } }

    func get(_ path: String, headers: [(name: String, value: String)], deadline: Deadline) async throws -> KubernetesTransportResponse {
        let step = state.withLock { state in
            state.requests.append(Request(path: path, headers: Dictionary(headers.map { ($0.name, $0.value) }) { $1 }, deadline: deadline))
            return state.steps.isEmpty ? Step.fail(IOError.closed("script exhausted")) : state.steps.removeFirst()
        }
        switch step {
        case .respond(let response): return response
        case .fail(let error): throw error
        }
    }
}

/// The pauses the client asked for.
final class PauseLog: Sendable {
    private let pauses = LockedValue<[Duration]>([])
    var all: [Duration] { pauses.withLock { $0 } }
    func append(_ pause: Duration) { pauses.withLock { $0.append(pause) } }
}

@Suite struct KubernetesClientTests {
    let clock = ManualClock()
    let pauses = PauseLog()

    func client(_ transport: ScriptedKubernetesTransport, token: KubernetesTokenProvider? = .fixed("tok"), prefix: String = "",
                filter: ServiceAccountAnnotationFilter = .all) -> KubernetesClient {
        let api = KubernetesAPIConfiguration(host: "10.96.0.1", port: 443, pathPrefix: prefix, token: token)
        return KubernetesClient(
            api: api, transport: transport, configuration: .init(annotationFilter: filter),
            now: clock.function,
            sleep: { [clock, pauses] pause in pauses.append(pause); clock.advance(by: pause) },
            random: { 0.5 })
    }

    @Test func getsTheServiceAccountWithTheTokenAndKeepsFilteredAnnotations() async throws {
        let transport = ScriptedKubernetesTransport([.respond(.init(status: 200, body: serviceAccountJSON()))])
        let found = try await client(transport, prefix: "/k8s/clusters/c-1", filter: .init(prefixes: ["vultr.com/"])).serviceAccount(appKey)
        #expect(found == ServiceAccount(namespace: "shop", name: "app", annotations: ["vultr.com/role-arn": "arn:aws:iam::1:role/app"]))
        let request = try #require(transport.requests.first)
        #expect(request.path == "/k8s/clusters/c-1/api/v1/namespaces/shop/serviceaccounts/app")
        #expect(request.headers["Authorization"] == "Bearer tok" && request.headers["Accept"] == "application/json")
        #expect(request.deadline == clock.now + .seconds(2))
    }

    @Test func notFoundIsNil() async throws {
        let transport = ScriptedKubernetesTransport([.respond(.init(status: 404, body: statusJSON("serviceaccounts \\\"app\\\" not found")))])
        #expect(try await client(transport, token: nil).serviceAccount(appKey) == nil)
        #expect(transport.requests.first?.headers["Authorization"] == nil)
    }

    @Test func impossibleNamesAreNotFoundWithoutARequest() async throws {
        let transport = ScriptedKubernetesTransport([])
        for key in [ServiceAccountKey(namespace: "shop", name: ""), .init(namespace: "..", name: "a"), .init(namespace: "a", name: ".")] {
            #expect(try await client(transport).serviceAccount(key) == nil)
        }
        #expect(transport.requests.isEmpty)
    }

    @Test(arguments: [
        (401, KubernetesClientError.Code.unauthorized),
        (403, .forbidden),
        (400, .unexpectedStatus),
        (410, .unexpectedStatus),
    ])
    func failsAtOnceOnStatusesRetryingCannotFix(status: Int, code: KubernetesClientError.Code) async throws {
        let message = "serviceaccounts \\\"app\\\" is forbidden: User \\\"system:serviceaccount:irsa:webhook\\\" cannot get resource"
        let transport = ScriptedKubernetesTransport([.respond(.init(status: status, body: statusJSON(message)))])
        let error = await #expect(throws: KubernetesClientError.self) { try await client(transport).serviceAccount(appKey) }
        #expect(error?.code == code && error?.status == status && error?.attempts == 1)
        #expect(error?.detail.contains("cannot get resource") == true)
        #expect(transport.requests.count == 1)
    }

    @Test(arguments: [
        (#"{"kind":"Pod","metadata":{"name":"app","namespace":"shop"}}"#, "kind is Pod, not ServiceAccount"),
        (#"{"kind":"ServiceAccount","metadata":{"name":"other","namespace":"shop"}}"#, "metadata names shop/other, not shop/app"),
        (#"{"kind":"ServiceAccount","metadata":{"name":"app","namespace":"shop","annotations":{"a":1}}}"#, "annotation a is not a string"),
        (#"{"kind":"ServiceAccount"}"#, "metadata is missing"),
        ("[1]", "body is not a JSON object"),
        ("<html>", "body is not JSON"),
    ])
    func rejectsBodiesThatAreNotTheServiceAccount(body: String, detail: String) async throws {
        let transport = ScriptedKubernetesTransport([.respond(.init(status: 200, body: Array(body.utf8)))])
        let error = await #expect(throws: KubernetesClientError.self) { try await client(transport).serviceAccount(appKey) }
        #expect(error?.code == .invalidResponse && error?.detail == detail)
    }

    @Test func retriesOverloadAndServerErrorsWithGrowingJitteredPauses() async throws {
        let transport = ScriptedKubernetesTransport([
            .respond(.init(status: 503)), .respond(.init(status: 500)), .fail(IOError.closed("read head")),
            .respond(.init(status: 200, body: serviceAccountJSON())),
        ])
        #expect(try await client(transport).serviceAccount(appKey)?.name == "app")
        #expect(transport.requests.count == 4)
        // Equal jitter with random 0.5: 3/4 of the ceilings 50, 100, 200 ms.
        #expect(pauses.all == [.microseconds(37_500), .milliseconds(75), .milliseconds(150)])
    }

    @Test func honoursRetryAfterAndGivesUpWhenItWouldPassTheDeadline() async throws {
        let transport = ScriptedKubernetesTransport([
            .respond(.init(status: 429, retryAfter: "1")),
            .respond(.init(status: 429, retryAfter: "1", body: statusJSON("too many requests"))),
        ])
        let error = await #expect(throws: KubernetesClientError.self) { try await client(transport).serviceAccount(appKey) }
        #expect(pauses.all == [.seconds(1)])
        #expect(error?.code == .unavailable && error?.status == 429 && error?.attempts == 2 && error?.detail == "too many requests")
        #expect(error?.description == "GET ServiceAccount shop/app: API server unavailable (last status 429) after 2 attempts: too many requests")
    }

    @Test func stopsAfterTheMaximumAttempts() async throws {
        let transport = ScriptedKubernetesTransport(Array(repeating: .respond(.init(status: 502)), count: 10))
        let error = await #expect(throws: KubernetesClientError.self) { try await client(transport).serviceAccount(appKey) }
        #expect(transport.requests.count == 4 && error?.attempts == 4)
    }

    @Test func aTimeoutEndsTheLookup() async throws {
        let transport = ScriptedKubernetesTransport([.fail(IOError.timedOut("read head")), .respond(.init(status: 200, body: serviceAccountJSON()))])
        let error = await #expect(throws: KubernetesClientError.self) { try await client(transport).serviceAccount(appKey) }
        #expect(error?.code == .timedOut && transport.requests.count == 1)
    }

    @Test func aTimeoutAfterServerErrorsReportsTheServerErrors() async throws {
        let transport = ScriptedKubernetesTransport([
            .respond(.init(status: 500, body: statusJSON("etcd is down"))), .fail(IOError.timedOut("read head")),
        ])
        let error = await #expect(throws: KubernetesClientError.self) { try await client(transport).serviceAccount(appKey) }
        #expect(error?.code == .unavailable && error?.status == 500 && error?.attempts == 2)
        #expect(error?.description
            == "GET ServiceAccount shop/app: API server unavailable (last status 500) after 2 attempts: etcd is down; then no answer within 2.0 seconds")
    }

    @Test func escapesPathSegments() {
        #expect(KubernetesClient.escapePathSegment("a-b.c_d~9") == "a-b.c_d~9")
        #expect(KubernetesClient.escapePathSegment("a/b?c#d e%") == "a%2Fb%3Fc%23d%20e%25")
        #expect(KubernetesClient.escapePathSegment("é") == "%C3%A9")
    }

    @Test func pausesAreCappedAndRetryAfterParsed() {
        let policy = KubernetesClient.RetryPolicy(maximumAttempts: 10, initialBackoff: .milliseconds(100), maximumBackoff: .milliseconds(400))
        #expect(policy.pause(beforeRetry: 1, retryAfter: nil, random: 0) == .milliseconds(50))
        #expect(policy.pause(beforeRetry: 1, retryAfter: nil, random: 0.999_999) < .milliseconds(100))
        #expect(policy.pause(beforeRetry: 9, retryAfter: nil, random: 0) == .milliseconds(200))
        #expect(policy.pause(beforeRetry: 2, retryAfter: .seconds(3), random: 0) == .seconds(3))
        #expect(KubernetesClient.RetryPolicy.retryAfter(" 2 ") == .seconds(2))
        #expect(KubernetesClient.RetryPolicy.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == nil)
        #expect(KubernetesClient.RetryPolicy.retryAfter("-1") == nil)
    }
}
