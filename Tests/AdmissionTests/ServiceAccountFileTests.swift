import Foundation
import TestKubernetesAPI
import Testing
@testable import Admission

@Suite struct ServiceAccountFileTests {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory() }

    func load(_ contents: String, keeping filter: ServiceAccountAnnotationFilter = .all,
              limits: StaticServiceAccountSource.FileLimits = .init()) throws -> StaticServiceAccountSource {
        try StaticServiceAccountSource(contentsOfFile: directory.write("accounts.yaml", contents), keeping: filter, limits: limits)
    }

    @Test func loadsAKubectlListKeepingOnlyAnnotationsUnderThePrefixes() throws {
        let source = try load("""
            apiVersion: v1
            kind: List
            metadata:
              resourceVersion: ""
            items:
            - apiVersion: v1
              kind: ServiceAccount
              metadata:
                name: app
                namespace: shop
                annotations:
                  vultr.com/role-arn: arn:aws:iam::123:role/app
                  api.vultr.com/audience: sts.amazonaws.com
                  kubectl.kubernetes.io/last-applied-configuration: "{}"
            - apiVersion: v1
              kind: ServiceAccount
              metadata:
                name: default
                namespace: shop
            """, keeping: ServiceAccountAnnotationFilter(prefixes: ["vultr.com/", "api.vultr.com/"]))
        #expect(source.accounts.count == 2)
        #expect(source.accounts[ServiceAccountKey(namespace: "shop", name: "app")]?.annotations == [
            "vultr.com/role-arn": "arn:aws:iam::123:role/app", "api.vultr.com/audience": "sts.amazonaws.com",
        ])
        #expect(source.accounts[ServiceAccountKey(namespace: "shop", name: "default")]?.annotations == [:])
    }

    @Test func loadsAServiceAccountListInTabIndentedJSONWhoseItemsOmitKind() throws {
        let source = try load("{\n\t\"kind\": \"ServiceAccountList\",\n\t\"apiVersion\": \"v1\",\n\t\"items\": [\n\t\t{\"metadata\": {\"name\": \"a\", \"namespace\": \"n\", \"annotations\": {\"vultr.com/role-arn\": \"arn:1\", \"x\": \"7\"}}},\n\t\t{\"metadata\": {\"name\": \"b\", \"namespace\": \"n\"}}\n\t]\n}\n")
        #expect(source.accounts[ServiceAccountKey(namespace: "n", name: "a")]?.annotations == ["vultr.com/role-arn": "arn:1", "x": "7"])
        #expect(source.accounts[ServiceAccountKey(namespace: "n", name: "b")] != nil)
    }

    @Test func loadsMultiDocumentYAMLDefaultingTheNamespace() throws {
        let source = try load("""
            ---
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: one
              annotations:
                vultr.com/role-arn: "arn:aws:iam::1:role/one"
                vultr.com/token-expiration: 3600
            ---
            ---
            kind: ServiceAccount
            metadata: {name: two, namespace: kube-system}
            """)
        #expect(source.accounts[ServiceAccountKey(namespace: "default", name: "one")]?.annotations["vultr.com/token-expiration"] == "3600")
        #expect(source.accounts[ServiceAccountKey(namespace: "kube-system", name: "two")] != nil)
        #expect(source.accounts.count == 2)
    }

    @Test func anEmptyListIsAnEmptySource() throws {
        #expect(try load("kind: List\napiVersion: v1\nitems: []\n").accounts.isEmpty)
    }

    static let badFiles: [(contents: String, expected: String)] = [
        ("kind: ServiceAccount\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: p}\n",
         "document 2 (line 4): kind is \"Pod\", expected ServiceAccount, List or ServiceAccountList"),
        ("metadata: {name: a}\n", "document 1 (line 1): kind is missing"),
        ("kind: List\nitems:\n- kind: ServiceAccount\n  metadata: {name: a}\n- kind: ServiceAccount\n  metadata: {namespace: x}\n",
         "document 1, items[1] (line 5): metadata.name is missing"),
        ("kind: List\nitems:\n- metadata: {name: a}\n", "items[0] (line 3): kind is missing, not ServiceAccount"),
        ("kind: List\nitems: {a: b}\n", "items is not a list"),
        ("kind: ServiceAccount\n", "metadata is missing or not a mapping"),
        ("kind: ServiceAccount\nmetadata: {name: [a]}\n", "metadata.name is not a string"),
        ("kind: ServiceAccount\nmetadata: {name: a, namespace: \"\"}\n", "metadata.namespace is empty"),
        ("kind: ServiceAccount\napiVersion: v2\nmetadata: {name: a}\n", "apiVersion is \"v2\", expected v1"),
        ("kind: ServiceAccount\nmetadata: {name: a, annotations: {k: [1]}}\n", "metadata.annotations holds a value that is not a string"),
        ("kind: ServiceAccount\nmetadata: {name: a, annotations: [k]}\n", "metadata.annotations is not a mapping"),
        ("- just\n- a list\n", "document 1 (line 1): not a mapping"),
        ("kind: ServiceAccount\nmetadata: {name: a}\n---\nkind: ServiceAccountList\nitems:\n- metadata: {name: a, namespace: default}\n",
         "document 2, items[0] (line 6): ServiceAccount default/a is listed again (first in document 1)"),
        ("kind: ServiceAccount\nmetadata: {name: a\n", "document 1: bad YAML"),
        ("kind: ServiceAccount\nmetadata: {name: a}\n---\n\tkind: x\n", "document 2: bad YAML"),
    ]

    @Test(arguments: badFiles)
    func rejectsBadFilesNamingTheFileAndPlace(contents: String, expected: String) throws {
        let error = #expect(throws: ServiceAccountFileError.self) { try load(contents) }
        let message = error?.description ?? ""
        #expect(message.contains(expected), "\(message)")
        #expect(message.hasPrefix("service accounts file \(directory.path)/accounts.yaml"))
    }

    @Test func enforcesTheSizeAndCountLimits() throws {
        let three = "kind: List\nitems:\n" + (1...3).map { "- {kind: ServiceAccount, metadata: {name: sa\($0)}}\n" }.joined()
        #expect(try load(three, limits: .init(maximumAccounts: 3)).accounts.count == 3)
        let countError = #expect(throws: ServiceAccountFileError.self) { try load(three, limits: .init(maximumAccounts: 2)) }
        #expect(countError?.problem == "3 items, more than the limit of 2")
        let multiDocument = (1...3).map { "kind: ServiceAccount\nmetadata: {name: sa\($0)}\n" }.joined(separator: "---\n")
        let documentsError = #expect(throws: ServiceAccountFileError.self) { try load(multiDocument, limits: .init(maximumAccounts: 2)) }
        #expect(documentsError?.document == 3)
        let sizeError = #expect(throws: ServiceAccountFileError.self) { try load(three, limits: .init(maximumBytes: 64)) }
        #expect(sizeError?.problem == "\(three.utf8.count) bytes, more than the limit of 64")
    }

    @Test func reportsUnreadableFiles() throws {
        let missing = #expect(throws: ServiceAccountFileError.self) {
            try StaticServiceAccountSource(contentsOfFile: directory.path + "/absent.yaml")
        }
        #expect(missing?.description == "service accounts file \(directory.path)/absent.yaml: cannot open: No such file or directory (errno 2)")
        let notAFile = #expect(throws: ServiceAccountFileError.self) { try StaticServiceAccountSource(contentsOfFile: directory.path) }
        #expect(notAFile?.problem == "not a regular file")
        let binary = try directory.write("binary.yaml", Data([0x6b, 0xff, 0xfe, 0x00]))
        let notText = #expect(throws: ServiceAccountFileError.self) { try StaticServiceAccountSource(contentsOfFile: binary) }
        #expect(notText?.problem == "not UTF-8 text")
    }

    /// Nesting past `ConfigurationYAML.maximumDepth` (64), past libyaml's own 1000, and aliases
    /// expanding far beyond the file ("billion laughs", 10^9 nodes from 600 bytes) are refused
    /// with one line, quickly.
    static let hostileFiles: [String: (contents: String, expected: String)] = [
        "70 levels": ("kind: ServiceAccount\nmetadata: {name: a, annotations: {k: " + String(repeating: "[", count: 70)
                      + String(repeating: "]", count: 70) + "}}\n",
                      "document 1 (line 1): nested deeper than 64 levels (line 2)"),
        "5000 levels": (String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000),
                        "document 1: bad YAML: line 1, column 1: nested deeper than libyaml's limit of 1000 levels (while parsing at line 1, column 1)"),
        "billion laughs": ("x0: &l0 [a, a, a, a, a, a, a, a, a, a]\n"
                           + (1...9).map { "x\($0): &l\($0) [" + Array(repeating: "*l\($0 - 1)", count: 10).joined(separator: ", ") + "]\n" }.joined()
                           + "kind: List\nitems: [*l9]\n",
                           "document 1 (line 1): more than 1204 YAML nodes once aliases are expanded"),
    ]

    @Test(.timeLimit(.minutes(1)), arguments: hostileFiles.keys.sorted())
    func refusesDeepNestingAndAliasBombsInOneLine(name: String) throws {
        let (contents, expected) = try #require(Self.hostileFiles[name])
        let error = #expect(throws: ServiceAccountFileError.self) { try load(contents) }
        let message = error?.description ?? ""
        #expect(message == "service accounts file \(directory.path)/accounts.yaml: \(expected)")
    }

    @Test func theNodeBudgetAdmitsDenseAliasFreeYAML() throws {
        let dense = "kind: List\nitems: []\nunused: [" + Array(repeating: "[?]", count: 20_000).joined(separator: ",") + "]\n"
        #expect(try load(dense).accounts.isEmpty)
    }

    @Test func aSyntaxErrorIsOneLineAndDoesNotQuoteTheFile() throws {
        let error = #expect(throws: ServiceAccountFileError.self) {
            try load("kind: ServiceAccount\nmetadata: {name: a, annotations: {secret-looking-value: [\n")
        }
        let message = error?.description ?? ""
        #expect(message.hasPrefix("service accounts file \(directory.path)/accounts.yaml: document 1: bad YAML: line "), "\(message)")
        #expect(!message.contains("\n") && !message.contains("secret-looking-value"), "\(message)")
    }
}

