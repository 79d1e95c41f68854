import Yams

/// How `irsa-webhook mutate` prints manifests: YAML documents, or JSON as `kubectl -o json`
/// prints it (one object, or a `List` of several).
public enum ManifestOutput {
    /// `nodes` as a YAML stream, `---` between documents. A document written in flow style (a
    /// JSON file) is printed in block style with strings unquoted where YAML allows; any other
    /// keeps the styles it was written in.
    public static func yaml(_ nodes: [Node]) throws(ManifestError) -> String {
        var text = ""
        for (index, node) in nodes.enumerated() {
            let isFlow = node.mapping?.style == .flow || node.sequence?.style == .flow
            do {
                if index > 0 { text += "---\n" }
                text += try Yams.serialize(node: isFlow ? ManifestPatch.plainStyled(node) : node, width: -1, allowUnicode: true)
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
}
