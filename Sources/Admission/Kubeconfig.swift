import Foundation
import Yams

extension KubernetesAPIConfiguration {
    /// The configuration a kubeconfig file describes for one context (off-cluster use).
    ///
    /// Reads the context (`context`, else `current-context`), its cluster (`server`,
    /// `certificate-authority` or `-data`, `tls-server-name`, `insecure-skip-tls-verify`) and its
    /// user (`client-certificate`/`client-key` or their `-data` forms, `token`, `tokenFile`).
    /// As in client-go, `-data` forms win over file paths and `tokenFile` (re-read as it changes)
    /// wins over `token`. Relative paths are resolved against the kubeconfig's directory.
    /// `exec`, `auth-provider`, `username`/`password` and `proxy-url` are refused as unsupported.
    ///
    /// - Parameters:
    ///   - allowInsecure: Permits an `http://` server and `insecure-skip-tls-verify: true`
    ///     (development clusters only); both are refused otherwise.
    ///   - maximumBytes: The largest kubeconfig (and referenced PEM file) accepted.
    /// - Throws: `KubeconfigError` naming the file and the field.
    public static func kubeconfig(
        path: String,
        context: String? = nil,
        allowInsecure: Bool = false,
        maximumBytes: Int = 4 << 20
    ) throws(KubeconfigError) -> KubernetesAPIConfiguration {
        try Kubeconfig(path: path, maximumBytes: maximumBytes).configuration(context: context, allowInsecure: allowInsecure)
    }
}

/// A parsed kubeconfig file and the lookups `KubernetesAPIConfiguration.kubeconfig` needs.
struct Kubeconfig {
    let path: String
    let maximumBytes: Int
    private let root: Node
    private var directory: String { ConfigurationFile.directory(of: path) }

    init(path: String, maximumBytes: Int) throws(KubeconfigError) {
        self.path = path
        self.maximumBytes = maximumBytes
        let bytes: [UInt8]
        do {
            bytes = try ConfigurationFile.read(path, limit: maximumBytes)
        } catch {
            throw KubeconfigError(path: path, problem: error.description)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KubeconfigError(path: path, problem: "not UTF-8 text")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw KubeconfigError(path: path, problem: "bad YAML: \(ConfigurationYAML.describe(error))")
        }
        guard let root, root.mapping != nil else { throw KubeconfigError(path: path, problem: "not a mapping (an object)") }
        do {
            try ConfigurationYAML.checkLimits(root, maximumNodes: ConfigurationYAML.nodeBudget(forBytes: bytes.count))
        } catch {
            throw KubeconfigError(path: path, problem: error.description)
        }
        self.root = root
        if let kind = try string(root, "kind", field: "kind"), kind != "Config" {
            throw KubeconfigError(path: path, field: "kind", problem: "is \"\(kind)\", expected Config")
        }
    }

    func configuration(context explicitContext: String?, allowInsecure: Bool) throws(KubeconfigError) -> KubernetesAPIConfiguration {
        let currentContext = try string(root, "current-context", field: "current-context")
        guard let contextName = explicitContext ?? currentContext, !contextName.isEmpty else {
            throw KubeconfigError(path: path, field: "current-context", problem: "is not set and no context was given")
        }
        let (context, contextField) = try entry(list: "contexts", name: contextName, body: "context")
        guard let clusterName = try string(context, "cluster", field: "\(contextField).cluster") else {
            throw KubeconfigError(path: path, field: "\(contextField).cluster", problem: "is missing")
        }
        let (cluster, clusterField) = try entry(list: "clusters", name: clusterName, body: "cluster")
        var configuration = try clusterConfiguration(cluster, field: clusterField, allowInsecure: allowInsecure)
        if let userName = try string(context, "user", field: "\(contextField).user"), !userName.isEmpty {
            let (user, userField) = try entry(list: "users", name: userName, body: "user")
            try addCredentials(from: user, field: userField, to: &configuration)
        }
        return configuration
    }

    private func clusterConfiguration(_ cluster: Node, field: String, allowInsecure: Bool) throws(KubeconfigError) -> KubernetesAPIConfiguration {
        try refuse(["proxy-url"], in: cluster, field: field)
        guard let server = try string(cluster, "server", field: "\(field).server") else {
            throw KubeconfigError(path: path, field: "\(field).server", problem: "is missing")
        }
        let address: KubernetesAPIConfiguration.ServerAddress
        do {
            address = try .parse(server, allowPlainHTTP: allowInsecure)
        } catch {
            throw KubeconfigError(path: path, field: "\(field).server", problem: error.description)
        }
        let insecure = try bool(cluster, "insecure-skip-tls-verify", field: "\(field).insecure-skip-tls-verify") ?? false
        if insecure && !allowInsecure {
            throw KubeconfigError(path: path, field: "\(field).insecure-skip-tls-verify",
                                  problem: "is true; refused unless insecure connections are allowed")
        }
        return KubernetesAPIConfiguration(
            host: address.host, port: address.port, usesTLS: address.usesTLS, pathPrefix: address.pathPrefix,
            serverName: try string(cluster, "tls-server-name", field: "\(field).tls-server-name"),
            certificateAuthorityPEM: try pem(cluster, "certificate-authority", field: field),
            insecureSkipTLSVerify: insecure)
    }

    private func addCredentials(from user: Node, field: String, to configuration: inout KubernetesAPIConfiguration) throws(KubeconfigError) {
        try refuse(["exec", "auth-provider", "username", "password", "as", "impersonate"], in: user, field: field)
        configuration.clientCertificatePEM = try pem(user, "client-certificate", field: field)
        configuration.clientKeyPEM = try pem(user, "client-key", field: field)
        switch (configuration.clientCertificatePEM != nil, configuration.clientKeyPEM != nil) {
        case (true, false): throw KubeconfigError(path: path, field: "\(field).client-key", problem: "is missing (client-certificate is set)")
        case (false, true): throw KubeconfigError(path: path, field: "\(field).client-certificate", problem: "is missing (client-key is set)")
        default: break
        }
        if let tokenFile = try string(user, "tokenFile", field: "\(field).tokenFile"), !tokenFile.isEmpty {
            let provider = KubernetesTokenProvider(file: ConfigurationFile.resolve(tokenFile, against: directory))
            do {
                _ = try provider.token()
            } catch {
                throw KubeconfigError(path: path, field: "\(field).tokenFile", problem: "\(error.subject): \(error.problem)")
            }
            configuration.token = provider
        } else if let token = try string(user, "token", field: "\(field).token"), !token.isEmpty {
            configuration.token = .fixed(token)
        }
    }

    /// The `<list>[name == name].<body>` mapping, and its field path for messages.
    private func entry(list: String, name: String, body: String) throws(KubeconfigError) -> (Node, String) {
        let field = "\(list)[\"\(name)\"]"
        guard let entries = root[list]?.sequence else {
            throw KubeconfigError(path: path, field: list, problem: "is missing or not a list, so \"\(name)\" is not defined")
        }
        for entry in entries where entry["name"]?.string == name {
            guard let value = entry[body], value.mapping != nil else {
                throw KubeconfigError(path: path, field: "\(field).\(body)", problem: "is missing or not a mapping")
            }
            return (value, "\(field).\(body)")
        }
        throw KubeconfigError(path: path, field: field, problem: "is not defined")
    }

    /// PEM text from `<key>-data` (base64) or the file `<key>` names; nil when neither is set.
    private func pem(_ object: Node, _ key: String, field: String) throws(KubeconfigError) -> String? {
        if let data = try string(object, "\(key)-data", field: "\(field).\(key)-data"), !data.isEmpty {
            guard let decoded = Data(base64Encoded: data, options: .ignoreUnknownCharacters), !decoded.isEmpty else {
                throw KubeconfigError(path: path, field: "\(field).\(key)-data", problem: "is not valid base64")
            }
            do {
                return try KubernetesAPIConfiguration.pemText([UInt8](decoded))
            } catch {
                throw KubeconfigError(path: path, field: "\(field).\(key)-data", problem: error.description)
            }
        }
        guard let file = try string(object, key, field: "\(field).\(key)"), !file.isEmpty else { return nil }
        let resolved = ConfigurationFile.resolve(file, against: directory)
        do {
            return try KubernetesAPIConfiguration.pemText(ConfigurationFile.read(resolved, limit: maximumBytes))
        } catch {
            throw KubeconfigError(path: path, field: "\(field).\(key)", problem: "\(resolved): \(error.description)")
        }
    }

    private func refuse(_ keys: [String], in object: Node, field: String) throws(KubeconfigError) {
        for key in keys where object[key] != nil && object[key]?.null == nil {
            throw KubeconfigError(path: path, field: "\(field).\(key)", problem: "is not supported")
        }
    }

    private func string(_ object: Node, _ key: String, field: String) throws(KubeconfigError) -> String? {
        guard let node = object[key], node.null == nil else { return nil }
        guard let scalar = node.scalar else { throw KubeconfigError(path: path, field: field, problem: "is not a string") }
        return scalar.string
    }

    private func bool(_ object: Node, _ key: String, field: String) throws(KubeconfigError) -> Bool? {
        guard let node = object[key], node.null == nil else { return nil }
        guard let value = node.bool else { throw KubeconfigError(path: path, field: field, problem: "is not true or false") }
        return value
    }
}

/// A kubeconfig that cannot be used: the file, the field (e.g. `clusters["prod"].cluster.server`) and what is wrong.
public struct KubeconfigError: Error, Hashable, CustomStringConvertible {
    /// The kubeconfig file.
    public var path: String
    /// The field, when the problem is about one.
    public var field: String?
    /// What is wrong.
    public var problem: String

    public init(path: String, field: String? = nil, problem: String) {
        self.path = path
        self.field = field
        self.problem = problem
    }

    public var description: String {
        "kubeconfig \(path): " + (field.map { "\($0) " } ?? "") + problem
    }
}
