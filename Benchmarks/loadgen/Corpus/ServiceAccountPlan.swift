import PatchVerification

/// Whether a pod's ServiceAccount carries a role, exists without one, or does not exist at all.
enum AccountClass: String, Sendable, CaseIterable {
    /// Annotated with `<prefix>/role-arn`: the webhook must patch.
    case annotated
    /// Exists without the annotation: no patch.
    case unannotated
    /// Not in the ServiceAccount file (or API): no patch; exercises the negative cache.
    case unknown
}

/// One ServiceAccount of the workload.
struct PlannedAccount: Sendable, Hashable {
    let namespace: String
    let name: String
    let accountClass: AccountClass
    /// The role ARN annotation value, for annotated accounts.
    let roleARN: String?
}

/// The fraction of requests that go to each class of ServiceAccount.
struct AccountMix: Sendable, Equatable {
    var annotated: Double
    var unannotated: Double
    var unknown: Double

    /// Parses `A:U:K` weights, e.g. `70:20:10`.
    init?(_ text: String) {
        let parts = text.split(separator: ":").compactMap { Double($0) }
        guard parts.count == 3, parts.allSatisfy({ $0 >= 0 }), parts.reduce(0, +) > 0 else { return nil }
        let total = parts.reduce(0, +)
        (annotated, unannotated, unknown) = (parts[0] / total, parts[1] / total, parts[2] / total)
    }

    /// The class of one request, drawn with these weights.
    func draw(using random: inout SplitMix64) -> AccountClass {
        let roll = Double.random(in: 0..<1, using: &random)
        if roll < annotated { return .annotated }
        if roll < annotated + unannotated { return .unannotated }
        return .unknown
    }
}

/// Every namespace and ServiceAccount of the workload: `accountsPerClass` accounts of each class
/// in each namespace, so lookups are spread over many cache keys, plus `default/app-sa` (the
/// account of the peers' fixed review, so `--review` runs against irsa-webhook patch too).
struct ServiceAccountPlan: Sendable {
    let accounts: [PlannedAccount]
    let annotationPrefix: String

    init(namespaces: Int, accountsPerClass: Int, annotationPrefix: String, random: inout SplitMix64) {
        let teams = ["payments", "checkout", "search", "ledger", "identity", "media", "ml", "platform", "data", "edge"]
        var accounts: [PlannedAccount] = []
        for index in 0..<namespaces {
            let namespace = "\(teams[index % teams.count])-\(index / teams.count)"
            for slot in 0..<accountsPerClass {
                let account = random.pick(["api", "worker", "cron", "ingest", "export", "web", "batch"])
                accounts.append(PlannedAccount(
                    namespace: namespace, name: "\(account)-\(slot)", accountClass: .annotated,
                    roleARN: "arn:aws:iam::\(100_000_000_000 + index * 7919):role/\(namespace)-\(account)-\(slot)"))
                accounts.append(PlannedAccount(namespace: namespace, name: "plain-\(slot)", accountClass: .unannotated, roleARN: nil))
                accounts.append(PlannedAccount(namespace: namespace, name: "ghost-\(slot)", accountClass: .unknown, roleARN: nil))
            }
        }
        accounts.append(PlannedAccount(
            namespace: "default", name: "app-sa", accountClass: .annotated, roleARN: "arn:aws:iam::111122223333:role/app-sa-role"))
        self.accounts = accounts
        self.annotationPrefix = annotationPrefix
    }

    /// The accounts of one class.
    func accounts(of accountClass: AccountClass) -> [PlannedAccount] {
        accounts.filter { $0.accountClass == accountClass }
    }

    /// The ServiceAccount file for `irsa-webhook --service-accounts-file`: a Kubernetes `List`
    /// (JSON, which is also YAML) of the annotated and unannotated accounts; unknown ones are left out.
    func serviceAccountList() -> JSONValue {
        let items: [JSONValue] = accounts.filter { $0.accountClass != .unknown }.map { account in
            var metadata: [(String, JSONValue)] = [("name", .string(account.name)), ("namespace", .string(account.namespace))]
            if let role = account.roleARN {
                metadata.append(("annotations", .object([("\(annotationPrefix)/role-arn", .string(role))])))
            }
            return .object([("apiVersion", .string("v1")), ("kind", .string("ServiceAccount")), ("metadata", .object(metadata))])
        }
        return .object([("apiVersion", .string("v1")), ("kind", .string("List")), ("items", .array(items))])
    }
}
