import Foundation

extension FakeKubernetesAPI {
    /// A Lease's resourceVersion and election record (its spec), as the fake holds it.
    public struct LeaseState: Sendable, Equatable {
        public var resourceVersion: String
        public var holderIdentity: String?
        public var leaseDurationSeconds: Int?
        public var acquireTime: String?
        public var renewTime: String?
        public var leaseTransitions: Int?

        init(resourceVersion: String, spec: [String: Any]) {
            self.resourceVersion = resourceVersion
            holderIdentity = spec["holderIdentity"] as? String
            leaseDurationSeconds = spec["leaseDurationSeconds"] as? Int
            acquireTime = spec["acquireTime"] as? String
            renewTime = spec["renewTime"] as? String
            leaseTransitions = spec["leaseTransitions"] as? Int
        }

        init?(object: Any?) {
            guard let object = object as? [String: Any], let metadata = object["metadata"] as? [String: Any],
                  let version = metadata["resourceVersion"] as? String
            else { return nil }
            self.init(resourceVersion: version, spec: object["spec"] as? [String: Any] ?? [:])
        }
    }

    /// One successful write of a Lease, in order.
    public struct LeaseWrite: Sendable, Equatable {
        /// "create" (POST), "update" (PUT), or "test" (`putLease`).
        public var verb: String
        public var namespace: String
        public var name: String
        /// The Lease as written.
        public var lease: LeaseState
        /// When it was written: CLOCK_REALTIME seconds, comparable with `Date().timeIntervalSince1970`.
        public var time: Double
    }

    /// The Lease `namespace/name`, nil when it does not exist.
    public func lease(namespace: String, name: String) throws -> LeaseState? {
        LeaseState(object: try command(["op": "lease", "namespace": namespace, "name": name])["lease"])
    }

    /// Every successful write of a Lease so far, in the order they were made.
    public func leaseWrites() throws -> [LeaseWrite] {
        let writes = try command(["op": "leaseWrites"])["writes"] as? [[String: Any]] ?? []
        return writes.map { write in
            LeaseWrite(
                verb: write["verb"] as? String ?? "", namespace: write["namespace"] as? String ?? "", name: write["name"] as? String ?? "",
                lease: LeaseState(resourceVersion: write["resourceVersion"] as? String ?? "", spec: write["spec"] as? [String: Any] ?? [:]),
                time: write["at"] as? Double ?? 0)
        }
    }

    /// Writes the Lease `namespace/name` as another client would (created if absent, its
    /// resourceVersion raised), holding `spec` (omit a field to leave it out); returns it.
    @discardableResult
    public func putLease(namespace: String, name: String, spec: [String: Any]) throws -> LeaseState {
        let answer = try command(["op": "putLease", "namespace": namespace, "name": name, "spec": spec])
        guard let lease = LeaseState(object: answer["lease"]) else {
            throw Failure(description: "the fake API server answered putLease with \(answer)")
        }
        return lease
    }

    /// Changes how the next Lease requests (GET, POST, PUT) are answered; `failLeaseRequests()`
    /// restores normal service.
    ///
    /// - Parameters:
    ///   - status: Answer this status instead (403 with an RBAC denial's Status, others "Injected").
    ///   - delay: Wait this long before answering (or dropping).
    ///   - drop: Close the connection without answering.
    ///   - times: Misbehave for this many requests only; nil for every request.
    public func failLeaseRequests(status: Int? = nil, delay: Duration = .zero, drop: Bool = false, times: Int? = nil) throws {
        var fault: [String: Any] = ["delay": Self.seconds(delay), "drop": drop]
        fault["status"] = status
        fault["times"] = times
        _ = try command(["op": "leaseFault", "fault": fault])
    }
}
