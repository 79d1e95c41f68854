import Foundation

extension FakeKubernetesAPI {
    /// Replaces the accounts served: annotations by "namespace/name". Each difference is a change
    /// with its own resourceVersion and watch event (ADDED, MODIFIED or DELETED); an account whose
    /// annotations are unchanged keeps its resourceVersion.
    public func setAccounts(_ annotationsByAccount: [String: [String: String]]) throws {
        _ = try command(["op": "set", "accounts": annotationsByAccount])
    }

    /// Creates or changes one account (a MODIFIED event only if its annotations change) and
    /// returns its resourceVersion.
    @discardableResult
    public func upsert(namespace: String, name: String, annotations: [String: String] = [:]) throws -> String {
        try resourceVersion(of: command(["op": "upsert", "namespace": namespace, "name": name, "annotations": annotations]))
    }

    /// Deletes one account (a DELETED event carrying its last state at the new resourceVersion)
    /// and returns the new resourceVersion; throws when there is no such account.
    @discardableResult
    public func delete(namespace: String, name: String) throws -> String {
        try resourceVersion(of: command(["op": "delete", "namespace": namespace, "name": name]))
    }

    /// Adds `count` accounts, one change (and ADDED event) each: account `i` is
    /// `generatedAccount(i, annotatedEvery:namespaces:)`. 100,000 take about a second.
    public func generateAccounts(count: Int, annotatedEvery: Int = 10, namespaces: Int = 100) throws {
        _ = try command(["op": "generate", "count": count, "annotatedEvery": annotatedEvery, "namespaces": namespaces],
                        timeout: .seconds(300))
    }

    /// The account `generateAccounts` makes as number `index`: `sa-<index>` in namespace
    /// `ns-<index % namespaces>`, with a `vultr.com/role-arn` of `…:role/sa-<index>` when `index`
    /// is a multiple of `annotatedEvery` (never when it is 0).
    public static func generatedAccount(_ index: Int, annotatedEvery: Int = 10, namespaces: Int = 100)
        -> (namespace: String, name: String, annotations: [String: String])
    {
        let name = "sa-\(index)"
        let annotated = annotatedEvery > 0 && index % annotatedEvery == 0
        return ("ns-\(index % namespaces)", name, annotated ? ["vultr.com/role-arn": "arn:aws:iam::111122223333:role/\(name)"] : [:])
    }

    /// Forgets the watch history and every list snapshot, as etcd compaction does, taking a
    /// resourceVersion of its own (as a write to another resource would): a watch from an older
    /// resourceVersion gets 410, and so does every continue token issued before.
    public func compact() throws {
        _ = try command(["op": "compact"])
    }

    /// The current resourceVersion.
    public func resourceVersion() throws -> String {
        try resourceVersion(of: command(["op": "resourceVersion"]))
    }

    /// When each event was first written to a watch stream (the chunk holding it sent), by its
    /// resourceVersion: CLOCK_REALTIME seconds, comparable with `Date().timeIntervalSince1970`.
    public func eventWriteTimes() throws -> [String: Double] {
        let answer = try command(["op": "writeTimes"])
        return answer["times"] as? [String: Double] ?? [:]
    }

    /// How many LIST requests were answered with 200 so far, and the server's time for them
    /// (from the request head read to the last byte written): the fake's share of a sync.
    public func listTime() throws -> (requests: Int, seconds: Double) {
        let answer = try command(["op": "listTime"])
        return (answer["requests"] as? Int ?? 0, answer["seconds"] as? Double ?? 0)
    }

    private func resourceVersion(of answer: [String: Any]) throws -> String {
        guard let version = answer["resourceVersion"] as? String else {
            throw Failure(description: "the fake API server answered without a resourceVersion: \(answer)")
        }
        return version
    }
}
