import Yams

/// The limits a YAML configuration file (kubeconfig, `--service-accounts-file`) must keep beyond
/// its size, and its syntax errors as one line.
enum ConfigurationYAML {
    /// The deepest nesting of mappings and sequences accepted. A kubeconfig or a ServiceAccount
    /// List needs about 6 levels; the bundled libyaml stops at 1000 on its own.
    static let maximumDepth = 64

    /// Checks that `node` nests at most `maximumDepth` levels and expands to at most `maximumNodes`
    /// nodes, an alias counting its whole target at every use, so a "billion laughs" file cannot
    /// make the readers walk far more than it holds. The walk stops at the first excess.
    ///
    /// - Throws: `ConfigurationFile.Failure` saying which limit was passed.
    static func checkLimits(_ node: Node, maximumNodes: Int) throws(ConfigurationFile.Failure) {
        var remaining = maximumNodes
        try walk(node, depth: 1, remaining: &remaining, maximumNodes: maximumNodes)
    }

    /// A budget for `checkLimits` that alias-free YAML of `bytes` bytes stays within: the densest
    /// text known makes under 1.5 nodes per byte (`[?,?,?]`: a mapping with a null key and a null
    /// value per two bytes).
    static func nodeBudget(forBytes bytes: Int) -> Int {
        2 * bytes + 16
    }

    private static func walk(_ node: Node, depth: Int, remaining: inout Int, maximumNodes: Int) throws(ConfigurationFile.Failure) {
        remaining -= 1
        guard remaining >= 0 else {
            throw ConfigurationFile.Failure(description: "more than \(maximumNodes) YAML nodes once aliases are expanded")
        }
        switch node {
        case .scalar, .alias:  // the parser resolves aliases to their targets; .alias is for emitting
            return
        case .sequence(let sequence):
            guard depth < maximumDepth || sequence.isEmpty else { throw tooDeep(node) }
            for element in sequence { try walk(element, depth: depth + 1, remaining: &remaining, maximumNodes: maximumNodes) }
        case .mapping(let mapping):
            guard depth < maximumDepth || mapping.isEmpty else { throw tooDeep(node) }
            for (key, value) in mapping {
                try walk(key, depth: depth + 1, remaining: &remaining, maximumNodes: maximumNodes)
                try walk(value, depth: depth + 1, remaining: &remaining, maximumNodes: maximumNodes)
            }
        }
    }

    private static func tooDeep(_ node: Node) -> ConfigurationFile.Failure {
        ConfigurationFile.Failure(
            description: "nested deeper than \(maximumDepth) levels" + (node.mark.map { " (line \($0.line))" } ?? ""))
    }

    /// `error` (from Yams) as one line: where and what, without the source line Yams quotes,
    /// which may hold a credential.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? YamlError else { return "\(error)" }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            // libyaml's own depth limit names its C setter; say what it means instead.
            let problem = problem.hasPrefix("Maximum nesting level reached") ? "nested deeper than libyaml's limit of 1000 levels" : problem
            let context = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return "line \(mark.line), column \(mark.column): \(problem)\(context)"
        case let .reader(problem, offset, value, _):
            return "\(problem)" + (offset.map { " at character \($0)" } ?? "") + (value >= 0 ? " (value \(value))" : "")
        case let .duplicatedKeysInMapping(duplicates, context):
            return "line \(context.mark.line): duplicate keys \(duplicates.sorted().joined(separator: ", ")) in one mapping"
        default:
            return error.description.split(separator: "\n").first.map(String.init) ?? "\(error)"
        }
    }
}
