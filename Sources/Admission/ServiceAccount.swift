/// The parts of a Kubernetes ServiceAccount the webhook uses: its identity and its annotations.
///
/// Sources keep only the annotations the mutation reads (those under the configured prefix and
/// the legacy `api.vultr.com/` alias), so a cache entry stays small.
public struct ServiceAccount: Sendable, Hashable {
    /// The namespace the ServiceAccount lives in.
    public var namespace: String
    /// The ServiceAccount's name.
    public var name: String
    /// Annotation key to value.
    public var annotations: [String: String]
    /// `metadata.resourceVersion` as a number, when the source has one: the informer compares
    /// it to decide which of a GET answer and a watch event is newer.
    public var resourceVersion: UInt64?

    public init(namespace: String, name: String, annotations: [String: String] = [:], resourceVersion: UInt64? = nil) {
        self.namespace = namespace
        self.name = name
        self.annotations = annotations
        self.resourceVersion = resourceVersion
    }

    /// A resourceVersion as a number. The API server's are etcd revisions (decimal integers) and
    /// may be compared as such; nil for any other form, which then never counts as newer.
    public static func orderedVersion(_ resourceVersion: String) -> UInt64? {
        UInt64(resourceVersion)
    }

    /// The key this ServiceAccount is found under.
    public var key: ServiceAccountKey { ServiceAccountKey(namespace: namespace, name: name) }
}

/// Identifies a ServiceAccount: namespace and name.
public struct ServiceAccountKey: Sendable, Hashable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    public var description: String { "\(namespace)/\(name)" }
}

/// Somewhere ServiceAccounts can be looked up: the Kubernetes API, a static file, or a cache in front of either.
public protocol ServiceAccountSource: Sendable {
    /// The ServiceAccount, or nil when it does not exist. Throws when the source cannot answer
    /// (API down, timeout, forbidden); callers then fail open or closed as configured.
    ///
    /// Runs on the caller's executor (`nonisolated(nonsending)`): a source that needs no other
    /// isolation (a static map, a cache hit on the caller's loop) answers without a task switch.
    nonisolated(nonsending) func serviceAccount(_ key: ServiceAccountKey) async throws -> ServiceAccount?

    /// The answer `serviceAccount(_:)` would give, when the source holds it in memory and may
    /// serve it now: `.some(nil)` for an account known not to exist, nil when only the async
    /// lookup can answer (a fetch, an expired entry, an actor's state). The admission path asks
    /// this first, so a hit costs no async call.
    func storedServiceAccount(_ key: ServiceAccountKey) -> ServiceAccount??
}

extension ServiceAccountSource {
    /// Nothing is answered without the async lookup.
    public func storedServiceAccount(_ key: ServiceAccountKey) -> ServiceAccount?? { nil }
}

/// A fixed set of ServiceAccounts held in memory: dev mode, tests and benchmarks.
public struct StaticServiceAccountSource: ServiceAccountSource {
    /// The accounts, by key.
    public let accounts: [ServiceAccountKey: ServiceAccount]

    public init(_ accounts: [ServiceAccount]) {
        var byKey: [ServiceAccountKey: ServiceAccount] = [:]
        for account in accounts { byKey[account.key] = account }
        self.accounts = byKey
    }

    nonisolated(nonsending) public func serviceAccount(_ key: ServiceAccountKey) async throws -> ServiceAccount? {
        accounts[key]
    }

    public func storedServiceAccount(_ key: ServiceAccountKey) -> ServiceAccount?? {
        .some(accounts[key])
    }
}
