import Yams

/// How `irsa-webhook mutate` prints manifests: YAML documents, or JSON as `kubectl -o json`
/// prints it (one object, or a `List` of several).
public enum ManifestOutput {
    /// `documents` as a YAML stream, `---` between documents. A document read from JSON is
    /// printed in block style with strings unquoted where YAML allows; any other keeps the
    /// scalar styles it was written in.
    public static func yaml(_ documents: [(node: Node, isJSON: Bool)]) throws(ManifestError) -> String {
        var text = ""
        for (index, document) in documents.enumerated() {
            do {
                if index > 0 { text += "---\n" }
                let node = document.isJSON ? plainStyled(document.node) : document.node
                text += try Yams.serialize(node: node, width: -1, allowUnicode: true)
            } catch {
                throw ManifestError("cannot write document \(index + 1) as YAML: \(error)")
            }
        }
        return text
    }

    /// `nodes` as indented JSON: the object alone, or a `v1` `List` holding them all.
    public static func json(_ nodes: [Node]) throws(ManifestError) -> String {
        let root = nodes.count == 1 ? nodes[0] : Node([
            (Node("apiVersion"), Node("v1")), (Node("kind"), Node("List")), (Node("items"), Node(nodes)),
        ])
        do {
            return String(decoding: try NodeJSON.text(root, indent: 4), as: UTF8.self) + "\n"
        } catch {
            throw ManifestError("cannot write as JSON: \(error)")
        }
    }

    /// `node` (parsed from JSON, so in flow style with every string double-quoted) in block
    /// style, each string plain unless plain text would read back as another type.
    static func plainStyled(_ node: Node) -> Node {
        switch node {
        case .scalar(var scalar):
            if scalar.style == .doubleQuoted || scalar.style == .singleQuoted,
               Resolver.default.resolveTag(of: Node(scalar.string)) == .str {
                scalar.style = .any
            }
            return .scalar(scalar)
        case .mapping(let mapping):
            return .mapping(Node.Mapping(mapping.map { (plainStyled($0.key), plainStyled($0.value)) }, mapping.tag, .block))
        case .sequence(let sequence):
            return .sequence(Node.Sequence(sequence.map(plainStyled), sequence.tag, .block))
        case .alias:
            return node
        }
    }
}
