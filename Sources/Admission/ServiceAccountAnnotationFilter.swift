/// Which annotations a source keeps on the ServiceAccounts it returns: those under a set of key
/// prefixes (e.g. `vultr.com/` and the legacy `api.vultr.com/`), or all of them.
///
/// Keeping only what the mutation reads keeps cache entries small and makes unrelated annotation
/// churn (e.g. `kubectl.kubernetes.io/last-applied-configuration`) cost no memory.
public struct ServiceAccountAnnotationFilter: Sendable, Hashable {
    /// The prefixes kept; nil keeps every annotation.
    public let prefixes: [String]?

    /// Keeps every annotation.
    public static let all = ServiceAccountAnnotationFilter(keepingAll: ())

    /// Keeps the annotations whose key starts with one of `prefixes`.
    public init(prefixes: [String]) {
        self.prefixes = prefixes
    }

    private init(keepingAll: Void) {
        self.prefixes = nil
    }

    /// Whether an annotation with this key is kept.
    public func keeps(_ key: String) -> Bool {
        guard let prefixes else { return true }
        return prefixes.contains { key.hasPrefix($0) }
    }
}
