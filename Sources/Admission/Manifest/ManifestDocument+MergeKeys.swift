import Yams

extension ManifestDocument {
    /// `node` with every YAML merge key (`<<: *base`, a plain `<<`) replaced by the members it
    /// merges, as kubectl's YAML reader (go-yaml) resolves them: a member the mapping gives itself
    /// wins over a merged one, and in a merged list an earlier mapping wins over a later one. The
    /// merged members take the merge key's place; merges inside merged mappings are resolved too.
    ///
    /// Without this the webhook's decoder would see a container's merged `env` as an unknown `<<`
    /// member, and the patch would add an `env` that hides it.
    ///
    /// - Throws: `ManifestFieldError` naming the merge key when its value is not a mapping or a
    ///   list of mappings.
    static func resolvingMergeKeys(_ node: Node, at path: String = "") throws(ManifestFieldError) -> Node {
        switch node {
        case .mapping(let mapping):
            var taken = Set(mapping.keys.filter { !isMergeKey($0) }.compactMap(\.scalar?.string))
            var pairs: [(Node, Node)] = []
            for (key, value) in mapping {
                let location = path.isEmpty ? key.scalar?.string ?? "" : path + "." + (key.scalar?.string ?? "")
                guard isMergeKey(key) else {
                    pairs.append((key, try resolvingMergeKeys(value, at: location)))
                    continue
                }
                let merged: [Node]
                switch value {
                case .mapping: merged = [value]
                case .sequence(let sequence) where sequence.allSatisfy({ $0.mapping != nil }): merged = Array(sequence)
                default: throw ManifestFieldError(location, "a merge key needs a mapping or a list of mappings")
                }
                for source in merged {
                    for member in try resolvingMergeKeys(source, at: location).mapping ?? [:] {
                        if let name = member.key.scalar?.string {
                            guard taken.insert(name).inserted else { continue }
                        }
                        pairs.append(member)
                    }
                }
            }
            return .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark))
        case .sequence(let sequence):
            var elements: [Node] = []
            for (index, element) in sequence.enumerated() {
                elements.append(try resolvingMergeKeys(element, at: path + "[\(index)]"))
            }
            return .sequence(Node.Sequence(elements, sequence.tag, sequence.style, sequence.mark))
        case .scalar, .alias:
            return node
        }
    }

    /// Whether `key` is a merge key: a plain `<<` (a quoted one is an ordinary key).
    private static func isMergeKey(_ key: Node) -> Bool {
        key.scalar != nil && Resolver.default.resolveTag(of: key) == .merge
    }
}
