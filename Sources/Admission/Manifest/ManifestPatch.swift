import Yams

/// A pod's JSON Patch moved to where the pod is in a manifest, and applied to its YAML tree.
///
/// The webhook's patch (`PodPatch`) holds only `add` operations, each against the pod; in a
/// Deployment the pod is `spec.template`, in a CronJob `spec.jobTemplate.spec.template`. Applying
/// it to the parsed document itself (not to a re-encoded copy) keeps every other field, its
/// position among its siblings, and its YAML style (block scalars, quoting) as written: the
/// added members come last in their mapping, the added elements last in their sequence.
public struct ManifestPatch {
    /// One `add`: where (RFC 6901 reference tokens, from the document's root) and what.
    public struct Addition {
        public var path: [String]
        public var value: Node
    }

    /// The operations, in order.
    public private(set) var additions: [Addition] = []

    /// The operations of `patch` (JSON text, as `PodPatch` writes it) under `prefix`, the
    /// reference tokens of the pod in the document.
    public init(_ patch: [UInt8], under prefix: [String]) throws(ManifestFieldError) {
        let operations: Node?
        do {
            operations = try Yams.compose(yaml: String(decoding: patch, as: UTF8.self))
        } catch {
            throw ManifestFieldError("", "the webhook's patch does not parse: \(error)")
        }
        for operation in operations?.sequence ?? [] {
            guard operation["op"]?.string == "add", let path = operation["path"]?.string, let value = operation["value"] else {
                throw ManifestFieldError("", "the webhook's patch holds an operation other than add")
            }
            additions.append(Addition(path: prefix + (try Self.referenceTokens(path)), value: ManifestOutput.plainStyled(value)))
        }
    }

    /// The document with every addition applied in order.
    public func applied(to document: Node) throws(ManifestFieldError) -> Node {
        var result = document
        for addition in additions {
            result = try Self.add(addition.value, at: addition.path[...], in: result, at: "")
        }
        return result
    }

    /// The operations as a JSON Patch document (a YAML sequence), paths from the document's root.
    public var node: Node {
        .sequence(Node.Sequence(additions.map { addition in
            let path = addition.path.map { "/" + $0.replacingAll("~", with: "~0").replacingAll("/", with: "~1") }.joined()
            return Node([(Node("op"), Node("add")), (Node("path"), Node(path)), (Node("value"), addition.value)])
        }))
    }

    /// The reference tokens of an RFC 6901 pointer.
    private static func referenceTokens(_ pointer: String) throws(ManifestFieldError) -> [String] {
        guard pointer.hasPrefix("/") else { throw ManifestFieldError("", "patch path \(pointer) does not start with /") }
        return pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).replacingAll("~1", with: "/").replacingAll("~0", with: "~")
        }
    }

    private static func add(_ value: Node, at path: ArraySlice<String>, in node: Node, at location: String) throws(ManifestFieldError) -> Node {
        guard let token = path.first else { return value }
        let isLast = path.count == 1
        switch node {
        case .mapping(var mapping):
            let child = location.isEmpty ? token : location + "." + token
            if let index = mapping.firstIndex(where: { $0.key.scalar?.string == token }) {
                let existing = mapping[index]
                mapping[index] = (existing.key, isLast ? value : try add(value, at: path.dropFirst(), in: existing.value, at: child))
            } else {
                guard isLast else { throw ManifestFieldError(child, "missing") }
                mapping[token] = value
            }
            return .mapping(mapping)
        case .sequence(var sequence):
            let index: Int
            if isLast, token == "-" {
                index = sequence.count
            } else {
                guard let parsed = Int(token), parsed >= 0, parsed < sequence.count + (isLast ? 1 : 0) else {
                    throw ManifestFieldError(location, "no element \(token)")
                }
                index = parsed
            }
            if isLast {
                sequence.insert(value, at: index)
            } else {
                sequence[index] = try add(value, at: path.dropFirst(), in: sequence[index], at: location + "[\(index)]")
            }
            return .sequence(sequence)
        case .scalar, .alias:
            throw ManifestFieldError(location, "not a mapping or sequence")
        }
    }
}

fileprivate extension String {
    /// The string with every occurrence of `target` replaced (Foundation stays out of Admission).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard contains(target) else { return self }
        return split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
