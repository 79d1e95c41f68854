#if canImport(Glibc)
import Glibc
#endif

/// The CEL expression of the webhook's `matchConditions` entry that lets kube-apiserver send only
/// the pods whose ServiceAccount has a role (Kubernetes 1.30+ evaluates it before calling the
/// webhook), built from the set of such accounts. Pure: the same set gives the same text.
///
/// The accounts are one map literal, namespace to names, bound once through a one-element
/// `exists` (standard CEL, no optional types or bindings needed):
///
///     !has(object.spec) || !has(object.spec.serviceAccountName) ||
///     [{'ns-a':['app','batch'],'ns-b':['web']}].exists(m, request.namespace in m &&
///     object.spec.serviceAccountName in m[request.namespace])
///
/// (one line, without the breaks). Optional types (`M[?request.namespace].orValue([])`, in every
/// Kubernetes CEL environment from 1.29) would need the literal once too, so they save nothing.
/// A pod without `spec.serviceAccountName` is always sent (the
/// ServiceAccount admission plugin sets it before webhooks run, so this is only a safety net).
/// Namespaces and names are sorted by their UTF-8 bytes, so an unchanged set gives identical text.
///
/// kube-apiserver accepts at most `maximumCodePoints` in one expression, and the conditions of a
/// webhook are ANDed, so the set cannot be split. When it does not fit, the condition falls back
/// to the namespaces holding an account with a role (`request.namespace in ['ns-a','ns-b']`), and
/// when that does not fit either, to no condition at all (every pod is sent, as without narrowing).
public enum MatchConditionExpression {
    /// kube-apiserver's limit on one CEL expression, in code points.
    public static let maximumCodePoints = 100_000

    /// The condition for `accounts` (those with a role), as narrow as fits in `limit` code points.
    public static func condition(for accounts: Set<ServiceAccountKey>, limit: Int = maximumCodePoints) -> NarrowingCondition {
        let byNamespace = sortedByNamespace(accounts)
        // Each name costs at least its bytes, two quotes and a comma: no need to build what cannot fit.
        let leastExactSize = byNamespace.reduce(0) { $0 + $1.namespace.utf8.count + 5 + $1.names.reduce(0) { $0 + $1.utf8.count + 3 } }
        if leastExactSize <= limit {
            let exact = serviceAccounts(byNamespace)
            if exact.utf8.count <= limit {
                return NarrowingCondition(scope: .serviceAccounts, expression: exact, accounts: accounts, namespaces: [])
            }
        }
        let namespaceNames = byNamespace.map(\.namespace)
        let leastCoarseSize = namespaceNames.reduce(0) { $0 + $1.utf8.count + 3 }
        let coarse = leastCoarseSize <= limit ? namespaces(namespaceNames) : ""
        if !coarse.isEmpty, coarse.utf8.count <= limit {
            return NarrowingCondition(scope: .namespaces, expression: coarse, accounts: [], namespaces: Set(namespaceNames))
        }
        return NarrowingCondition(scope: .everyPod, expression: nil, accounts: [], namespaces: [])
    }

    /// The exact expression: pods of exactly these accounts (namespaces and names sorted).
    static func serviceAccounts(_ byNamespace: [(namespace: String, names: [String])]) -> String {
        var expression = "!has(object.spec) || !has(object.spec.serviceAccountName) || [{"
        for (index, entry) in byNamespace.enumerated() {
            if index > 0 { expression += "," }
            CELStringLiteral.append(entry.namespace, to: &expression)
            expression += ":["
            for (position, name) in entry.names.enumerated() {
                if position > 0 { expression += "," }
                CELStringLiteral.append(name, to: &expression)
            }
            expression += "]"
        }
        expression += "}].exists(m, request.namespace in m && object.spec.serviceAccountName in m[request.namespace])"
        return expression
    }

    /// The namespace-level expression: every pod in these namespaces (sorted).
    static func namespaces(_ names: [String]) -> String {
        var expression = "request.namespace in ["
        for (index, name) in names.enumerated() {
            if index > 0 { expression += "," }
            CELStringLiteral.append(name, to: &expression)
        }
        return expression + "]"
    }

    /// `accounts` grouped by namespace, namespaces and names each sorted by their UTF-8 bytes.
    static func sortedByNamespace(_ accounts: Set<ServiceAccountKey>) -> [(namespace: String, names: [String])] {
        var names: [String: [String]] = [:]
        for key in accounts { names[key.namespace, default: []].append(key.name) }
        return names.keys.sorted(by: utf8Order).map { namespace in
            (namespace: namespace, names: names[namespace]!.sorted(by: utf8Order))
        }
    }

    /// Byte order of the UTF-8 (a total order, unlike `<`, which equates canonically equivalent strings).
    private static func utf8Order(_ lhs: String, _ rhs: String) -> Bool {
        var lhs = lhs, rhs = rhs
        return lhs.withUTF8 { left in
            rhs.withUTF8 { right in
                let common = min(left.count, right.count)
                let order = common == 0 ? 0 : memcmp(left.baseAddress!, right.baseAddress!, common)
                return order != 0 ? order < 0 : left.count < right.count
            }
        }
    }
}

/// One webhook entry's narrowing condition: how narrow it is, its expression, and what it sends.
/// Two are equal when their scope and expression are (the sets follow from the expression).
public struct NarrowingCondition: Sendable, Hashable {
    /// How narrow the condition is: the `mode` label of the metrics.
    public enum Scope: String, Sendable, CaseIterable {
        /// Pods of the accounts with a role.
        case serviceAccounts = "serviceaccounts"
        /// Every pod in a namespace that holds an account with a role (the set did not fit).
        case namespaces
        /// No condition: every pod (not even the namespaces fit).
        case everyPod = "none"
    }

    /// How narrow it is.
    public var scope: Scope
    /// The CEL expression; nil for `everyPod` (the entry then carries no condition of ours).
    public var expression: String?
    /// With `serviceAccounts`: the accounts whose pods are sent.
    var accounts: Set<ServiceAccountKey>
    /// With `namespaces`: the namespaces whose pods are sent.
    var namespaces: Set<String>

    public static func == (lhs: NarrowingCondition, rhs: NarrowingCondition) -> Bool {
        lhs.scope == rhs.scope && lhs.expression == rhs.expression
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(scope)
        hasher.combine(expression)
    }

    /// The expression's length in code points (it is ASCII: see `CELStringLiteral`); 0 for none.
    public var size: Int { expression?.utf8.count ?? 0 }

    /// Whether kube-apiserver sends the pods of `account` under this condition.
    public func sends(_ account: ServiceAccountKey) -> Bool {
        switch scope {
        case .serviceAccounts: accounts.contains(account)
        case .namespaces: namespaces.contains(account.namespace)
        case .everyPod: true
        }
    }
}
