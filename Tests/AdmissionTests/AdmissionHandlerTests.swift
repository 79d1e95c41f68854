import Foundation
import Testing
@testable import Admission
import PatchVerification

@Suite struct AdmissionHandlerTests {
    /// Each fixture pod goes through the handler; the patch is applied with the tests' own RFC 6902
    /// applier, checked against the specification (and the golden `*.expected.json` when present),
    /// then reviewed again: the second review must produce no operation.
    @Test(arguments: PodFixture.names)
    func fixture(_ name: String) async throws {
        let fixture = try PodFixture(name)
        let handler = try fixture.handler
        let shape = try fixture.requestShape
        let reviewed = try await ReviewHarness.review(handler, body: ReviewHarness.body(object: fixture.text, shape),
                                                      object: fixture.pod, shape: shape)
        let expectedResult = try #require(fixture.setting("expect-result"))
        #expect(Self.describe(reviewed.outcome.result) == expectedResult)
        #expect(reviewed.outcome.namespace == (fixture.pod["metadata"]?["namespace"]?.stringValue ?? "default"))
        #expect((reviewed.response["allowed"] as? Bool) == (expectedResult != "denied"))

        if let expectedWarnings = try fixture.jsonSetting("expect-warnings")?.arrayValue?.compactMap(\.stringValue) {
            #expect(reviewed.warnings.count == expectedWarnings.count, "warnings: \(reviewed.warnings)")
            for expected in expectedWarnings {
                #expect(reviewed.warnings.contains { $0.contains(expected) }, "no warning contains \(expected): \(reviewed.warnings)")
            }
        }
        let audit = reviewed.response["auditAnnotations"] as? [String: String]
        switch expectedResult {
        case "mutated":
            let role = PodFixture.stringMembers(try fixture.jsonSetting("expect-env"))["AWS_ROLE_ARN"]
            #expect(audit?["role-arn"] == role && audit?.keys.sorted() == ["role-arn", "token-audience"])
            if let audience = try fixture.jsonSetting("expect-token")?["audience"]?.stringValue { #expect(audit?["token-audience"] == audience) }
        case "failedLookup":
            #expect(audit?.keys.sorted() == ["lookup-failure"])
        default:
            #expect(reviewed.response["auditAnnotations"] == nil, "nothing to say, so no auditAnnotations")
        }
        if let operations = fixture.setting("expect-operations") {
            #expect(reviewed.patch?.arrayValue?.count == Int(operations))
        }
        guard expectedResult == "mutated" else {
            #expect(reviewed.patch == nil, "no patch unless mutated")
            return
        }

        let configuration = try fixture.configuration
        let token = try fixture.jsonSetting("expect-token").map { token in
            (audience: token["audience"]?.stringValue ?? "", expirationSeconds: token["expirationSeconds"]?.intValue ?? 0)
        }
        let invariants = MutationInvariants(
            mountPath: configuration.tokenMountPath,
            expectedEnv: PodFixture.stringMembers(try fixture.jsonSetting("expect-env")),
            token: token,
            untouched: Set(try fixture.jsonSetting("expect-untouched")?.arrayValue?.compactMap(\.stringValue) ?? [])
        )
        invariants.check(original: fixture.pod, patched: reviewed.patched)

        if ProcessInfo.processInfo.environment["IRSA_WRITE_GOLDENS"] == "1" {
            try Data((reviewed.patched.serialized + "\n").utf8).write(to: fixture.expectedGoldenURL)
        } else if let golden = try? Data(contentsOf: fixture.expectedGoldenURL) {
            #expect(reviewed.patched == (try JSONParser.parse(Array(golden))), "differs from \(name).expected.json")
        }

        let again = try await ReviewHarness.review(handler, pod: reviewed.patched, shape: shape)
        #expect(again.outcome.result == .skipped(.alreadyMutated))
        #expect(again.patch == nil)
    }

    /// The bytes a real kube-apiserver 1.36 sent, mutated for its ServiceAccount `e2e/sa1`.
    @Test func realAPIServerSample() async throws {
        let body = Array(try Data(contentsOf: PodFixture.directory.deletingLastPathComponent().appendingPathComponent("apiserver-sample.review.json")))
        let review = try JSONParser.parse(body)
        let object = try #require(review["request"]?["object"])
        let handler = AdmissionHandler(
            configuration: PatchConfig(region: "ewr"),
            serviceAccounts: StaticServiceAccountSource([ServiceAccount(namespace: "e2e", name: "sa1", annotations: ["vultr.com/role-arn": "arn:aws:iam::1:role/e2e"])]),
            failClosed: false
        )
        var shape = ReviewHarness.RequestShape()
        shape.uid = "90350c71-70ba-4eb4-873b-4f22e7a8145d"
        shape.namespace = "e2e"
        let reviewed = try await ReviewHarness.review(handler, body: body, object: object, shape: shape)
        #expect(reviewed.outcome.result == .mutated(operations: 3))
        #expect(reviewed.outcome.podName == "p-basic-0")
        #expect(reviewed.outcome.serviceAccount == "sa1")
        #expect(reviewed.patch == (try JSONParser.parse("""
        [{"op":"add","path":"/spec/volumes/-","value":{"name":"vultr-irsa-token","projected":{"sources":[{"serviceAccountToken":{"audience":"vultr","expirationSeconds":86400,"path":"token"}}]}}},
         {"op":"add","path":"/spec/containers/0/env","value":[
           {"name":"AWS_ROLE_ARN","value":"arn:aws:iam::1:role/e2e"},
           {"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/secrets/vultr.com/serviceaccount/token"},
           {"name":"AWS_STS_REGIONAL_ENDPOINTS","value":"regional"},
           {"name":"AWS_ENDPOINT_URL_STS","value":"https://api.vultr.com/v2/assumed-roles/compatibility/aws/sts"},
           {"name":"AWS_REGION","value":"ewr"},
           {"name":"AWS_DEFAULT_REGION","value":"ewr"}]},
         {"op":"add","path":"/spec/containers/0/volumeMounts/-","value":{"name":"vultr-irsa-token","mountPath":"/var/run/secrets/vultr.com/serviceaccount","readOnly":true}}]
        """)))
        let again = try await ReviewHarness.review(handler, pod: reviewed.patched, shape: shape)
        #expect(again.outcome.result == .skipped(.alreadyMutated))
    }

    /// A pod of about 1 MB (300 containers with long env lists) is decoded, patched and re-checked.
    @Test func oneMegabytePod() async throws {
        let pod = Self.largePod(containers: 300, envPerContainer: 60)
        let size = pod.bytes.count
        #expect(size > 1_000_000)
        let handler = AdmissionHandler(configuration: PatchConfig(),
                                       serviceAccounts: StaticServiceAccountSource([Self.roleAccount]), failClosed: false)
        let reviewed = try await ReviewHarness.review(handler, pod: pod)
        #expect(reviewed.outcome.result == .mutated(operations: 1 + 300 * 5))
        MutationInvariants(mountPath: PatchConfig().tokenMountPath, expectedEnv: Self.defaultEnv(role: Self.role),
                           token: ("vultr", 86400)).check(original: pod, patched: reviewed.patched)
        let again = try await ReviewHarness.review(handler, pod: reviewed.patched)
        #expect(again.outcome.result == .skipped(.alreadyMutated))
    }

    /// Requests that are not a pods CREATE are answered without looking at the object, even when
    /// the object is not a pod at all.
    @Test(arguments: [
        (#"{"group":"","version":"v1","resource":"pods"}"#, "UPDATE", nil as String?),
        (#"{"group":"","version":"v1","resource":"pods"}"#, "CREATE", "binding"),
        (#"{"group":"apps","version":"v1","resource":"deployments"}"#, "CREATE", nil),
        (#"{"group":"","version":"v1","resource":"configmaps"}"#, "CREATE", nil),
        (#"{"group":"","version":"v2","resource":"pods"}"#, "CREATE", nil),
    ])
    func otherRequestsAreAdmittedUntouched(resource: String, operation: String, subResource: String?) async throws {
        var text = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","operation":"\#(operation)","resource":\#(resource),"#
        if let subResource { text += #""subResource":"\#(subResource)","# }
        text += #""namespace":"default","object":{"kind":"Deployment","spec":{"containers":"not a list"}}}}"#
        let handler = AdmissionHandler(configuration: PatchConfig(), serviceAccounts: UnreachableServiceAccountSource(), failClosed: true)
        let outcome = await handler.review(Array(text.utf8))
        #expect(outcome.httpStatus == 200)
        #expect(outcome.result == .skipped(.notPodCreate))
        #expect(String(decoding: outcome.body, as: UTF8.self) ==
            #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u1","allowed":true}}"#)
    }

    /// The object may come before the operation and resource in the request: the decision is the same.
    @Test func objectBeforeOperationIsStillRecognised() async throws {
        let object = #"{"metadata":{"name":"p"},"spec":{"serviceAccountName":"app-sa","containers":[{"name":"app"}]}}"#
        let text = #"{"request":{"object":\#(object),"uid":"u2","namespace":"default","operation":"CREATE","resource":{"version":"v1","resource":"pods"}},"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}"#
        let handler = AdmissionHandler(configuration: PatchConfig(), serviceAccounts: StaticServiceAccountSource([Self.roleAccount]), failClosed: false)
        let outcome = await handler.review(Array(text.utf8))
        #expect(outcome.result == .mutated(operations: 3))
        #expect(outcome.podName == "p")
    }

    @Test func failClosedDenialCarriesStatus() async throws {
        let handler = AdmissionHandler(configuration: PatchConfig(), serviceAccounts: UnreachableServiceAccountSource(), failClosed: true)
        let pod: JSONValue = ["metadata": ["name": "p"], "spec": ["serviceAccountName": "app-sa", "containers": [["name": "app"]]]]
        let reviewed = try await ReviewHarness.review(handler, pod: pod)
        #expect(reviewed.outcome.result == .failedLookup(denied: true))
        #expect(reviewed.outcome.message == "connection refused")
        let status = try #require(reviewed.response["status"] as? [String: Any])
        #expect(status["code"] as? Int == 500)
        #expect((status["message"] as? String)?.contains("default/app-sa") == true)
        #expect(reviewed.response["allowed"] as? Bool == false)
    }

    /// A mutated pod's audit annotations name its role and audience; a pod admitted after a
    /// failed lookup's name the reason; nothing else has any. Both review versions, same keys.
    @Test(arguments: ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"])
    func auditAnnotations(apiVersion: String) async throws {
        var shape = ReviewHarness.RequestShape()
        shape.apiVersion = apiVersion
        let pod: JSONValue = ["metadata": ["name": "p"], "spec": ["serviceAccountName": "app-sa", "containers": [["name": "app"]]]]
        let longRole = "arn:aws:iam::123456789012:role/" + String(repeating: "r", count: 400)
        let cases: [(source: any ServiceAccountSource, failClosed: Bool, expected: [String: String]?)] = [
            (StaticServiceAccountSource([Self.roleAccount]), false, ["role-arn": Self.role, "token-audience": "vultr"]),
            (StaticServiceAccountSource([ServiceAccount(namespace: "default", name: "app-sa", annotations: [
                "vultr.com/role-arn": longRole, "vultr.com/audience": "sts.example"])]), false,
             ["role-arn": String(longRole.prefix(255)) + "…", "token-audience": "sts.example"]),
            (UnreachableServiceAccountSource(), false, ["lookup-failure": "ServiceAccount default/app-sa: connection refused"]),
            (UnreachableServiceAccountSource(), true, nil),
            (StaticServiceAccountSource([]), false, nil),
            (StaticServiceAccountSource([ServiceAccount(namespace: "default", name: "app-sa")]), false, nil),
        ]
        for (source, failClosed, expected) in cases {
            let handler = AdmissionHandler(configuration: PatchConfig(), serviceAccounts: source, failClosed: failClosed)
            let reviewed = try await ReviewHarness.review(handler, pod: pod, shape: shape)
            #expect(reviewed.response["auditAnnotations"] as? [String: String] == expected, "\(reviewed.outcome.result)")
            for (key, value) in expected ?? [:] {
                #expect(key.wholeMatch(of: /[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?/) != nil && key.count <= 63, "\(key)")
                #expect(value.count <= AuditAnnotation.maximumValueLength)
            }
            if expected?["role-arn"] != nil {
                let again = try await ReviewHarness.review(handler, pod: reviewed.patched, shape: shape)
                #expect(again.response["auditAnnotations"] == nil, "a reinvocation that adds nothing says nothing")
            }
        }
    }

    // MARK: - Helpers

    static let role = "arn:aws:iam::123456789012:role/app"
    static let roleAccount = ServiceAccount(namespace: "default", name: "app-sa", annotations: ["vultr.com/role-arn": role])

    static func defaultEnv(role: String) -> [String: String] {
        ["AWS_ROLE_ARN": role, "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/vultr.com/serviceaccount/token",
         "AWS_STS_REGIONAL_ENDPOINTS": "regional", "AWS_ENDPOINT_URL_STS": "https://api.vultr.com/v2/assumed-roles/compatibility/aws/sts"]
    }

    static func largePod(containers: Int, envPerContainer: Int) -> JSONValue {
        let list: [JSONValue] = (0..<containers).map { index in
            let env: [JSONValue] = (0..<envPerContainer).map { variable in
                ["name": .string("VARIABLE_\(variable)"), "value": .string("value \(variable) of container \(index) \u{00e9}\u{1F680}")]
            }
            return ["name": .string("container-\(index)"), "image": "registry.example/app:1", "env": .array(env),
                    "volumeMounts": [["name": "data", "mountPath": "/data"]]]
        }
        return ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "huge", "namespace": "default"],
                "spec": ["serviceAccountName": "app-sa", "containers": .array(list), "volumes": [["name": "data", "emptyDir": [:]]]]]
    }

    static func describe(_ result: AdmissionOutcome.Result) -> String {
        switch result {
        case .mutated: "mutated"
        case .skipped(let reason): reason.rawValue
        case .failedLookup(let denied): denied ? "denied" : "failedLookup"
        case .invalid: "invalid"
        }
    }
}
