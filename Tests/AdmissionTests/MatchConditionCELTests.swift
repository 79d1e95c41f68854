import Foundation
import Testing
@testable import Admission

/// The generated condition evaluated by a real CEL implementation (cel-python, `pip install
/// cel-python`, in a python3 subprocess) against AdmissionReview-shaped `request` and `object`
/// variables, as kube-apiserver binds them for matchConditions: it must send exactly the pods of
/// accounts with a role (their namespaces after a downgrade; every pod without a condition).
@Suite(.serialized, .timeLimit(.minutes(5))) struct MatchConditionCELTests {
    /// A pod to evaluate: its namespace and `spec.serviceAccountName` (nil: absent; `noSpec`: no spec at all).
    struct Pod: Sendable {
        var namespace: String
        var serviceAccount: String?
        var noSpec = false
    }

    static let hostile = [
        "it's", #"back\slash"#, #"quote"d"#, "new\nline", "tab\there", "nul\u{0}", "del\u{7F}", "été", "emoji😀",
        "']}].exists(m, true) || [{'", #"\'"#,
    ]

    /// Evaluates `expression` for every pod; one Bool per pod, or throws with cel-python's error.
    static func evaluate(_ expression: String, _ pods: [Pod]) async throws -> [Bool] {
        let input: [String: Any] = [
            "expression": expression,
            "pods": pods.map { pod -> [String: Any] in
                var entry: [String: Any] = ["namespace": pod.namespace, "noSpec": pod.noSpec]
                if let account = pod.serviceAccount { entry["serviceAccountName"] = account }
                return entry
            },
        ]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputFile = directory.appendingPathComponent("input.json")
        try JSONSerialization.data(withJSONObject: input).write(to: inputFile)
        let output = try await run(["python3", "-c", evaluator, inputFile.path], timeout: .seconds(120))
        guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
              let results = object["results"] as? [Any]
        else { throw CELFailure(description: "evaluator output: \(output)") }
        return try results.map { result in
            guard let value = result as? Bool else { throw CELFailure(description: "evaluation error: \(result)") }
            return value
        }
    }

    /// Reads {"expression", "pods"}; compiles once and evaluates per pod with `request` and
    /// `object` shaped like an AdmissionReview for a pod CREATE; prints {"results": [...]}.
    static let evaluator = #"""
    import json, sys
    import celpy, celpy.celtypes
    spec = json.load(open(sys.argv[1]))
    environment = celpy.Environment()
    program = environment.program(environment.compile(spec["expression"]))
    results = []
    for pod in spec["pods"]:
        obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "app-", "namespace": pod["namespace"]}}
        if not pod["noSpec"]:
            obj["spec"] = {"containers": [{"name": "app", "image": "registry.example/app:1"}]}
            if "serviceAccountName" in pod:
                obj["spec"]["serviceAccountName"] = pod["serviceAccountName"]
        request = {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                   "resource": {"group": "", "version": "v1", "resource": "pods"}, "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
                   "requestResource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": pod["namespace"],
                   "operation": "CREATE", "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller",
                   "groups": ["system:serviceaccounts"]}, "dryRun": False}
        value = program.evaluate({"request": celpy.json_to_cel(request), "object": celpy.json_to_cel(obj)})
        results.append(bool(value) if isinstance(value, celpy.celtypes.BoolType) else repr(value))
    print(json.dumps({"results": results}))
    """#

    struct CELFailure: Error, CustomStringConvertible {
        let description: String
    }

    private static func run(_ command: [String], timeout: Duration) async throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("cel-out-\(UUID().uuidString)")
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("cel-err-\(UUID().uuidString)")
        try Data().write(to: output)
        try Data().write(to: errors)
        defer {
            try? FileManager.default.removeItem(at: output)
            try? FileManager.default.removeItem(at: errors)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw CELFailure(description: "cel-python did not finish within \(timeout)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CELFailure(description: "cel-python failed (exit \(process.terminationStatus)): \((try? String(contentsOf: errors, encoding: .utf8)) ?? "")")
        }
        return (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    }

    static func keys(_ pairs: [(String, String)]) -> Set<ServiceAccountKey> {
        Set(pairs.map { ServiceAccountKey(namespace: $0.0, name: $0.1) })
    }

    @Test func sendsExactlyThePodsOfAccountsWithARole() async throws {
        let withRole = Self.keys([("team-a", "app"), ("team-a", "batch.v2"), ("team-b", "web-frontend"), ("kube-public", "x")])
        let condition = MatchConditionExpression.condition(for: withRole)
        #expect(condition.scope == .serviceAccounts)
        let pods = [
            Pod(namespace: "team-a", serviceAccount: "app"), Pod(namespace: "team-a", serviceAccount: "batch.v2"),
            Pod(namespace: "team-b", serviceAccount: "web-frontend"), Pod(namespace: "team-a", serviceAccount: "default"),
            Pod(namespace: "team-a", serviceAccount: "batch"), Pod(namespace: "team-a", serviceAccount: "batch-v2"),
            Pod(namespace: "team-b", serviceAccount: "app"), Pod(namespace: "team-c", serviceAccount: "app"),
            Pod(namespace: "team", serviceAccount: "app"), Pod(namespace: "default", serviceAccount: "default"),
        ]
        let sent = try await Self.evaluate(try #require(condition.expression), pods)
        #expect(sent == [true, true, true, false, false, false, false, false, false, false])
        #expect(sent == pods.map { condition.sends(ServiceAccountKey(namespace: $0.namespace, name: $0.serviceAccount!)) })
    }

    @Test func podsWithoutAServiceAccountNameOrSpecAreSentToBeSafe() async throws {
        let condition = MatchConditionExpression.condition(for: Self.keys([("team-a", "app")]))
        let sent = try await Self.evaluate(try #require(condition.expression), [
            Pod(namespace: "team-a", serviceAccount: nil), Pod(namespace: "elsewhere", serviceAccount: nil),
            Pod(namespace: "team-a", serviceAccount: nil, noSpec: true),
        ])
        #expect(sent == [true, true, true])
        let empty = try #require(MatchConditionExpression.condition(for: []).expression)
        #expect(try await Self.evaluate(empty, [Pod(namespace: "a", serviceAccount: "default"), Pod(namespace: "a")]) == [false, true])
    }

    @Test func hostileNamesAndNamespacesAreMatchedExactlyAndCannotBreakOut() async throws {
        var pairs: [(String, String)] = Self.hostile.map { ("default", $0) }
        pairs += Self.hostile.map { ($0, "app") }
        let condition = MatchConditionExpression.condition(for: Self.keys(pairs))
        var pods = pairs.map { Pod(namespace: $0.0, serviceAccount: $0.1) }
        let sentForRole = pods.count
        // Near misses: each name with its escape characters dropped or doubled, in the same namespace.
        pods += Self.hostile.map { Pod(namespace: "default", serviceAccount: $0.replacingOccurrences(of: "\\", with: "")) }
            .filter { pod in !pairs.contains { $0.0 == pod.namespace && $0.1 == pod.serviceAccount } }
        pods += [Pod(namespace: "default", serviceAccount: "anyone"), Pod(namespace: "it", serviceAccount: "app")]
        let sent = try await Self.evaluate(try #require(condition.expression), pods)
        #expect(Array(sent[..<sentForRole]) == Array(repeating: true, count: sentForRole))
        #expect(Array(sent[sentForRole...]) == Array(repeating: false, count: pods.count - sentForRole))
    }

    @Test func eachDowngradeSendsWhatItSays() async throws {
        let accounts = Self.keys((0..<40).map { ("ns-\($0 % 4)", "account-\($0)") })
        let exact = MatchConditionExpression.condition(for: accounts)
        let namespaceLevel = MatchConditionExpression.condition(for: accounts, limit: exact.size - 1)
        #expect(namespaceLevel.scope == .namespaces)
        let pods = [
            Pod(namespace: "ns-1", serviceAccount: "account-1"), Pod(namespace: "ns-1", serviceAccount: "no-role"),
            Pod(namespace: "ns-7", serviceAccount: "account-1"),
        ]
        #expect(try await Self.evaluate(try #require(exact.expression), pods) == [true, false, false])
        #expect(try await Self.evaluate(try #require(namespaceLevel.expression), pods) == [true, true, false])
        let none = MatchConditionExpression.condition(for: accounts, limit: namespaceLevel.size - 1)
        #expect(none.scope == .everyPod && none.expression == nil)
    }

    /// The largest set of `sa-<i>` accounts in 100 namespaces `ns-<i % 100>` (the fake API's
    /// generated names) whose exact condition fits in 100,000 code points, evaluated at that size;
    /// one more account downgrades it to the namespaces.
    @Test func theLargestSetThatFitsIsEvaluatedAndOneMoreDowngrades() async throws {
        func accounts(_ count: Int) -> Set<ServiceAccountKey> {
            Set((0..<count).map { ServiceAccountKey(namespace: "ns-\($0 % 100)", name: "sa-\($0)") })
        }
        var low = 1, high = 20_000
        while low < high {
            let middle = (low + high + 1) / 2
            if MatchConditionExpression.condition(for: accounts(middle)).scope == .serviceAccounts { low = middle } else { high = middle - 1 }
        }
        let largest = MatchConditionExpression.condition(for: accounts(low))
        print("largest exact set: \(low) accounts in \(largest.size) code points")
        #expect(largest.scope == .serviceAccounts && largest.size <= MatchConditionExpression.maximumCodePoints)
        #expect(low > 5_000)
        #expect(MatchConditionExpression.condition(for: accounts(low + 1)).scope == .namespaces)
        let pods = [
            Pod(namespace: "ns-0", serviceAccount: "sa-0"), Pod(namespace: "ns-\((low - 1) % 100)", serviceAccount: "sa-\(low - 1)"),
            Pod(namespace: "ns-\(low % 100)", serviceAccount: "sa-\(low)"), Pod(namespace: "ns-1", serviceAccount: "sa-0"),
        ]
        #expect(try await Self.evaluate(try #require(largest.expression), pods) == [true, true, false, false])
    }
}
