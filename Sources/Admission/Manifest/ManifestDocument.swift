import Yams

/// One document of the manifests `irsa-webhook mutate` reads: a YAML document, or a JSON file.
public struct ManifestDocument {
    /// The file it came from, `-` for standard input.
    public var source: String
    /// Its position in the source, from 1.
    public var number: Int
    /// The parsed document.
    public var node: Node
    /// Whether it is written in flow style, as JSON is (it begins with `{`): styled anew when printed as YAML.
    public var isJSON = false
    /// For an object inside a `List` document (as `kubectl get -o yaml` prints several), its
    /// index in `items`; `node` is then the item.
    public var item: Int?

    /// The objects the document holds: the items of a `v1` `List`, else the document itself.
    public var objects: [ManifestDocument] {
        guard item == nil, kind == "List", node["apiVersion"]?.string == "v1", let items = node["items"]?.sequence else { return [self] }
        return items.enumerated().map { index, object in
            ManifestDocument(source: source, number: number, node: object, isJSON: isJSON, item: index)
        }
    }

    /// Where the object is in its document: nothing, or `items`, index.
    public var path: [String] { item.map { ["items", String($0)] } ?? [] }

    /// The bounds of one input.
    public static let maximumBytes = 16 << 20

    /// The documents of the file `source`, or of standard input when it is `-`.
    public static func read(_ source: String) throws(ManifestError) -> [ManifestDocument] {
        let bytes: [UInt8]
        do {
            bytes = source == "-"
                ? try ConfigurationFile.read(descriptor: 0, limit: maximumBytes)
                : try ConfigurationFile.read(source, limit: maximumBytes)
        } catch {
            throw ManifestError("\(source): \(error.description)")
        }
        return try documents(in: bytes, source: source == "-" ? "<stdin>" : source)
    }

    /// The documents of `bytes`, read from `source`; empty documents are left out. Besides YAML
    /// (JSON is YAML), a stream of JSON objects one after another is read, as kubectl reads it
    /// (`jsonStream`): one document each.
    ///
    /// Merge keys (`<<: *base`) are resolved as kubectl resolves them (`resolvingMergeKeys`).
    ///
    /// - Throws: `ManifestError` for text that is not UTF-8 or not YAML, naming the document and
    ///   the line (or the byte, in a JSON stream), for documents nested or aliased beyond
    ///   `ConfigurationYAML`'s limits, and for a merge key of anything but mappings.
    public static func documents(in bytes: [UInt8], source: String) throws(ManifestError) -> [ManifestDocument] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ManifestError("\(source): not UTF-8 text")
        }
        do throws(ManifestError) {
            return try yamlDocuments(text, byteCount: bytes.count, source: source)
        } catch {
            guard let values = try jsonStream(bytes, source: source) else { throw error }
            var documents: [ManifestDocument] = []
            for (index, value) in values.enumerated() {
                documents += try yamlDocuments(String(decoding: bytes[value], as: UTF8.self), byteCount: value.count, source: source,
                                               firstNumber: index + 1)
            }
            return documents
        }
    }

    /// The YAML documents of `text` (`byteCount` bytes), numbered from `firstNumber`.
    private static func yamlDocuments(_ text: String, byteCount: Int, source: String, firstNumber: Int = 1) throws(ManifestError) -> [ManifestDocument] {
        var documents: [ManifestDocument] = []
        var number = firstNumber - 1
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        do {
            let parser = try Parser(yaml: text)
            while let node = try parser.nextRoot() {
                number += 1
                do {
                    try ConfigurationYAML.checkLimits(node, maximumNodes: ConfigurationYAML.nodeBudget(forBytes: byteCount))
                } catch {
                    throw ManifestError("\(source): document \(number): \(error.description)")
                }
                guard node.null == nil else { continue }
                let start = node.mark.flatMap { mark in lines.indices.contains(mark.line - 1) ? lines[mark.line - 1].dropFirst(mark.column - 1).first : nil }
                let resolved: Node
                do {
                    resolved = try resolvingMergeKeys(node)
                } catch {
                    throw ManifestError("\(source): document \(number): \(error.description)")
                }
                documents.append(ManifestDocument(source: source, number: number, node: resolved, isJSON: start == "{"))
            }
        } catch let error as ManifestError {
            throw error
        } catch {
            throw ManifestError("\(source): document \(number + 1): bad YAML: \(ConfigurationYAML.describe(error))")
        }
        return documents
    }

    /// `kind`, or nil when absent.
    public var kind: String? { node["kind"]?.string }

    /// `metadata.namespace` and `metadata.name` as `namespace/name` (or `name` alone).
    public var objectName: String {
        let metadata = node["metadata"]
        let name = metadata?["name"]?.string ?? metadata?["generateName"]?.string ?? ""
        return metadata?["namespace"]?.string.map { "\($0)/\(name)" } ?? name
    }

    /// How messages name it: `deploy.yaml: document 2 (Deployment default/web)`, or
    /// `-: document 1, items[3] (Deployment default/web)` inside a List.
    public var label: String {
        "\(source): document \(number)" + (item.map { ", items[\($0)]" } ?? "") + (kind.map { " (\($0) \(objectName))" } ?? "")
    }

    /// The ServiceAccount this document is (`kind: ServiceAccount`, `apiVersion: v1`), nil for
    /// any other object; its annotations are all kept, and without a namespace it is in
    /// `defaultNamespace`.
    public func serviceAccount(defaultNamespace: String) throws(ManifestError) -> ServiceAccount? {
        guard kind == "ServiceAccount", node["apiVersion"]?.string == "v1" else { return nil }
        let parser = ServiceAccountFileParser(path: source, filter: .all, limits: StaticServiceAccountSource.FileLimits())
        var account: ServiceAccount
        do {
            account = try parser.account(in: node, number: number)
        } catch {
            throw ManifestError("\(label): \(error.problem)")
        }
        if (node["metadata"]?["namespace"]?.string ?? "").isEmpty { account.namespace = defaultNamespace }
        return account
    }

    /// An error about `field` of this document.
    public func error(_ field: ManifestFieldError) -> ManifestError {
        ManifestError("\(label): \(field)")
    }
}

/// Input `irsa-webhook mutate` cannot use: the message names the source, the document and the field.
public struct ManifestError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
