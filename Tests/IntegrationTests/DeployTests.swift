import Foundation
import Testing
import Yams

/// What the deploy/ tests share: the repository's files, their YAML documents, and child
/// processes bounded by a timeout.
enum Deploy {
    /// The repository root (this file is Tests/IntegrationTests/DeployTests.swift).
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// deploy/<relative>.
    static func url(_ relative: String) -> URL {
        root.appendingPathComponent("deploy").appendingPathComponent(relative)
    }

    /// The text of deploy/<relative>.
    static func text(_ relative: String) throws -> String {
        try String(contentsOf: url(relative), encoding: .utf8)
    }

    /// Every YAML document of deploy/<relative>, in order.
    static func documents(_ relative: String) throws -> [Node] {
        try documents(yaml: text(relative))
    }

    /// Every YAML document of a multi-document string, in order.
    static func documents(yaml: String) throws -> [Node] {
        try Array(Yams.compose_all(yaml: yaml))
    }

    /// The one document of deploy/<relative> with this kind and name.
    static func object(_ relative: String, kind: String, name: String? = nil) throws -> Node {
        let matches = try documents(relative).filter {
            $0["kind"]?.string == kind && (name == nil || $0["metadata"]?["name"]?.string == name)
        }
        guard matches.count == 1 else {
            throw DeployTestError("\(relative): expected one \(kind) \(name ?? ""), found \(matches.count)")
        }
        return matches[0]
    }

    /// Every Kubernetes manifest under deploy/ (each *.yaml but the kustomization files),
    /// relative to it, sorted.
    static let manifestFiles: [String] = {
        let base = url("").standardizedFileURL.path
        let files = FileManager.default.enumerator(atPath: base)?.compactMap { $0 as? String } ?? []
        return files.filter { $0.hasSuffix(".yaml") && !$0.hasSuffix("kustomization.yaml") }.sorted()
    }()

    /// A YAML value as JSON with sorted keys, to compare values whatever their mapping order,
    /// scalar style or place in a file.
    static func json(_ node: Node?) throws -> String {
        guard let node else { return "null" }
        let object = try Yams.load(yaml: Yams.serialize(node: node)) ?? NSNull()
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
    }

    /// The resources a kustomization.yaml under deploy/ lists, in order.
    static func kustomizationResources(_ relative: String) throws -> [String] {
        let kustomization = try #require(try documents(relative).first)
        return kustomization["resources"]?.array(of: String.self) ?? []
    }

    /// The absolute path of a tool on PATH, or nil.
    static func which(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// A failed expectation about a deploy/ file, with a message naming the file or field.
struct DeployTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A Kubernetes label selector (matchLabels and matchExpressions), evaluated as the API server
/// does, so the tests can check which objects a webhook's selectors let through.
struct LabelSelector {
    let node: Node

    func matches(_ labels: [String: String]) throws -> Bool {
        for (key, value) in node["matchLabels"]?.mapping ?? [:] {
            guard let key = key.string, labels[key] == value.string else { return false }
        }
        for expression in node["matchExpressions"]?.sequence ?? [] {
            guard let key = expression["key"]?.string, let op = expression["operator"]?.string else {
                throw DeployTestError("matchExpression without key or operator: \(expression)")
            }
            let values = expression["values"]?.array(of: String.self) ?? []
            let value = labels[key]
            switch op {
            case "In": if value == nil || !values.contains(value!) { return false }
            case "NotIn": if let value, values.contains(value) { return false }
            case "Exists": if value == nil { return false }
            case "DoesNotExist": if value != nil { return false }
            default: throw DeployTestError("unknown selector operator \(op)")
            }
        }
        return true
    }
}

extension Node {
    /// The string values of a mapping node (labels, annotations); empty when absent.
    var stringMap: [String: String] {
        var result: [String: String] = [:]
        for (key, value) in mapping ?? [:] {
            if let key = key.string, let value = value.string { result[key] = value }
        }
        return result
    }
}

@Suite("deploy/ directory")
struct DeployDirectoryTests {
    @Test("deploy/ has one manifest per concern, and nothing unexpected")
    func manifestSet() {
        #expect(Deploy.manifestFiles == [
            "cert-manager/certificates.yaml", "cert-manager/deploy.yaml", "deploy.yaml", "deployment.yaml",
            "dev/serviceaccounts.yaml", "namespace.yaml", "pdb.yaml", "rbac.yaml", "service.yaml",
            "systemd/webhook-url.yaml", "test-oidc-issuer.yaml", "webhook.yaml",
        ])
    }

    static let scripts = ["build-deploy-yaml.sh", "generate-certs.sh", "make-kubeconfig.sh"]

    @Test("scripts are executable", arguments: scripts)
    func scriptsAreExecutable(script: String) {
        #expect(FileManager.default.isExecutableFile(atPath: Deploy.url(script).path))
    }

    @Test("shell scripts, and the test pod's script, pass shellcheck",
          .enabled(if: Deploy.which("shellcheck") != nil, "shellcheck is not installed (Debian package shellcheck)"))
    func shellcheck() async throws {
        let scripts = Self.scripts.map { Deploy.url($0).path }
        let bash = try await TestTools.run(["shellcheck", "--shell=bash"] + scripts, timeout: .seconds(60))
        #expect(bash.status == 0, "\(bash.stdout)")

        let pod = try Deploy.object("test-oidc-issuer.yaml", kind: "Pod")
        let script = try #require(pod["spec"]?["containers"]?[0]?["args"]?[0]?.string)
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("show-token.sh")
        try script.write(to: file, atomically: true, encoding: .utf8)
        let sh = try await TestTools.run(["shellcheck", "--shell=sh", file.path], timeout: .seconds(60))
        #expect(sh.status == 0, "\(sh.stdout)")
    }
}
