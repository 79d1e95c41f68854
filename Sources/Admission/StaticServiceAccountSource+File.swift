import Yams

extension StaticServiceAccountSource {
    /// Bounds on a `--service-accounts-file`.
    public struct FileLimits: Sendable, Hashable {
        /// The largest file accepted, in bytes.
        public var maximumBytes: Int
        /// The most ServiceAccounts accepted.
        public var maximumAccounts: Int

        public init(maximumBytes: Int = 16 << 20, maximumAccounts: Int = 100_000) {
            self.maximumBytes = maximumBytes
            self.maximumAccounts = maximumAccounts
        }
    }

    /// Loads the ServiceAccounts in a YAML or JSON file (`--service-accounts-file`).
    ///
    /// The file holds one or more documents (YAML `---`-separated; JSON is one YAML document),
    /// each a `ServiceAccount`, or a `List`/`ServiceAccountList` whose `items` are ServiceAccounts,
    /// as printed by `kubectl get serviceaccounts -A -o yaml` (or `-o json`). Items of a
    /// `ServiceAccountList` may omit `kind`, as the API omits it. `metadata.name` is required;
    /// a missing `metadata.namespace` means `default`, as with `kubectl apply`. Only annotations
    /// kept by `filter` are stored. A ServiceAccount listed twice is an error.
    ///
    /// - Throws: `ServiceAccountFileError` naming the file, the document (1-based) and item, and what is wrong.
    public init(
        contentsOfFile path: String,
        keeping filter: ServiceAccountAnnotationFilter = .all,
        limits: FileLimits = FileLimits()
    ) throws(ServiceAccountFileError) {
        let bytes: [UInt8]
        do {
            bytes = try ConfigurationFile.read(path, limit: limits.maximumBytes)
        } catch {
            throw ServiceAccountFileError(path: path, problem: error.description)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ServiceAccountFileError(path: path, problem: "not UTF-8 text")
        }
        self.init(try ServiceAccountFileParser(path: path, filter: filter, limits: limits).accounts(in: text))
    }
}

/// Turns the documents of a ServiceAccount file into accounts, checking every field it reads.
struct ServiceAccountFileParser {
    let path: String
    let filter: ServiceAccountAnnotationFilter
    let limits: StaticServiceAccountSource.FileLimits

    private struct Location {
        var document: Int
        var item: Int?
        var line: Int?
    }

    func accounts(in text: String) throws(ServiceAccountFileError) -> [ServiceAccount] {
        var accounts: [ServiceAccount] = []
        var firstSeen: [ServiceAccountKey: Location] = [:]
        var documentNumber = 0
        do {
            let parser = try Parser(yaml: text)
            while let document = try parser.nextRoot() {
                documentNumber += 1
                let location = Location(document: documentNumber, line: document.mark?.line)
                do {
                    try ConfigurationYAML.checkLimits(document, maximumNodes: ConfigurationYAML.nodeBudget(forBytes: text.utf8.count))
                } catch {
                    throw self.error(error.description, at: location)
                }
                for (account, location) in try accountsIn(document, at: location) {
                    if let earlier = firstSeen[account.key] {
                        throw error("ServiceAccount \(account.key) is listed again (first in \(describe(earlier)))", at: location)
                    }
                    guard accounts.count < limits.maximumAccounts else {
                        throw error("more than the limit of \(limits.maximumAccounts) ServiceAccounts", at: location)
                    }
                    firstSeen[account.key] = location
                    accounts.append(account)
                }
            }
        } catch let error as ServiceAccountFileError {
            throw error
        } catch {
            throw ServiceAccountFileError(path: path, document: documentNumber + 1, problem: "bad YAML: \(ConfigurationYAML.describe(error))")
        }
        return accounts
    }

    private func accountsIn(_ document: Node, at location: Location) throws(ServiceAccountFileError) -> [(ServiceAccount, Location)] {
        if document.null != nil { return [] }  // an empty document
        guard document.mapping != nil else { throw error("not a mapping (an object)", at: location) }
        let kind = try string(document, "kind", at: location)
        switch kind {
        case "ServiceAccount":
            return [(try account(document, at: location), location)]
        case "List", "ServiceAccountList":
            guard let items = document["items"] else { return [] }
            if items.null != nil { return [] }
            guard let sequence = items.sequence else { throw error("items is not a list", at: location) }
            guard sequence.count <= limits.maximumAccounts else {
                throw error("\(sequence.count) items, more than the limit of \(limits.maximumAccounts)", at: location)
            }
            var accounts: [(ServiceAccount, Location)] = []
            for (index, item) in sequence.enumerated() {
                let itemLocation = Location(document: location.document, item: index, line: item.mark?.line)
                guard item.mapping != nil else { throw error("not a mapping (an object)", at: itemLocation) }
                let itemKind = try string(item, "kind", at: itemLocation)
                let kindOK = itemKind == "ServiceAccount" || (itemKind == nil && kind == "ServiceAccountList")
                guard kindOK else {
                    throw error("kind is \(itemKind.map { "\"\($0)\"" } ?? "missing"), not ServiceAccount", at: itemLocation)
                }
                accounts.append((try account(item, at: itemLocation), itemLocation))
            }
            return accounts
        case let other:
            throw error(
                "kind is \(other.map { "\"\($0)\"" } ?? "missing"), expected ServiceAccount, List or ServiceAccountList",
                at: location)
        }
    }

    /// The ServiceAccount of a `kind: ServiceAccount` document, the `number`th of the file
    /// (`irsa-webhook mutate` reads them among the manifests it mutates).
    func account(in document: Node, number: Int) throws(ServiceAccountFileError) -> ServiceAccount {
        try account(document, at: Location(document: number, line: document.mark?.line))
    }

    private func account(_ object: Node, at location: Location) throws(ServiceAccountFileError) -> ServiceAccount {
        if let version = try string(object, "apiVersion", at: location), version != "v1" {
            throw error("apiVersion is \"\(version)\", expected v1", at: location)
        }
        guard let metadata = object["metadata"], metadata.mapping != nil else {
            throw error("metadata is missing or not a mapping", at: location)
        }
        guard let name = try string(metadata, "name", at: location, field: "metadata.name"), !name.isEmpty else {
            throw error("metadata.name is missing", at: location)
        }
        let namespace = try string(metadata, "namespace", at: location, field: "metadata.namespace") ?? "default"
        guard !namespace.isEmpty else { throw error("metadata.namespace is empty", at: location) }
        var annotations: [String: String] = [:]
        if let node = metadata["annotations"], node.null == nil {
            guard let mapping = node.mapping else { throw error("metadata.annotations is not a mapping", at: location) }
            for (key, value) in mapping {
                guard let key = key.scalar?.string, let value = value.scalar?.string else {
                    throw error("metadata.annotations holds a value that is not a string", at: location)
                }
                if filter.keeps(key) { annotations[key] = value }
            }
        }
        return ServiceAccount(namespace: namespace, name: name, annotations: annotations)
    }

    /// The string at `key`, nil when absent or null; an error when it is a list or mapping.
    private func string(_ object: Node, _ key: String, at location: Location, field: String? = nil) throws(ServiceAccountFileError) -> String? {
        guard let node = object[key] else { return nil }
        guard let scalar = node.scalar else { throw error("\(field ?? key) is not a string", at: location) }
        return node.null != nil ? nil : scalar.string
    }

    private func error(_ problem: String, at location: Location) -> ServiceAccountFileError {
        ServiceAccountFileError(path: path, document: location.document, item: location.item, line: location.line, problem: problem)
    }

    private func describe(_ location: Location) -> String {
        "document \(location.document)" + (location.item.map { ", items[\($0)]" } ?? "")
    }
}

/// A `--service-accounts-file` that cannot be used: which file, where in it, and what is wrong.
public struct ServiceAccountFileError: Error, Hashable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// The YAML document (1-based), when the problem is inside one.
    public var document: Int?
    /// The index in the document's `items`, when the problem is inside a List.
    public var item: Int?
    /// The line (1-based) the document or item starts at, when known.
    public var line: Int?
    /// What is wrong.
    public var problem: String

    public init(path: String, document: Int? = nil, item: Int? = nil, line: Int? = nil, problem: String) {
        self.path = path
        self.document = document
        self.item = item
        self.line = line
        self.problem = problem
    }

    public var description: String {
        var place = path
        if let document { place += ": document \(document)" }
        if let item { place += ", items[\(item)]" }
        if let line { place += " (line \(line))" }
        return "service accounts file \(place): \(problem)"
    }
}
