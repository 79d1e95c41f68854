import Foundation
import Testing
@testable import Admission
import PatchVerification

/// One `Fixtures/pods/<name>.pod.json`: a pod whose `test.irsa-webhook/` annotations describe the
/// setup and the expected outcome (see `Fixtures/pods/README.md`).
struct PodFixture: CustomTestStringConvertible, Sendable {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pods")

    static var names: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".pod.json") }.map { String($0.dropLast(".pod.json".count)) }.sorted()
    }

    let name: String
    /// The file's bytes, sent as they are (escapes, indentation and all).
    let text: [UInt8]
    let pod: JSONValue
    let annotations: [String: String]

    var testDescription: String { name }

    init(_ name: String) throws {
        self.name = name
        text = Array(try Data(contentsOf: Self.directory.appendingPathComponent(name + ".pod.json")))
        pod = try JSONParser.parse(text)
        annotations = Self.stringMembers(pod["metadata"]?["annotations"])
    }

    /// The string members of an object, by name.
    static func stringMembers(_ object: JSONValue?) -> [String: String] {
        let members = (object?.objectValue ?? []).compactMap { name, value in value.stringValue.map { (name, $0) } }
        return Dictionary(members, uniquingKeysWith: { _, last in last })
    }

    func setting(_ key: String) -> String? { annotations["test.irsa-webhook/" + key] }

    func jsonSetting(_ key: String) throws -> JSONValue? {
        try setting(key).map { try JSONParser.parse($0) }
    }

    var expectedGoldenURL: URL { Self.directory.appendingPathComponent(name + ".expected.json") }

    var configuration: PatchConfig {
        get throws {
            let overrides = try jsonSetting("config") ?? [:]
            func number(_ key: String) -> Int? { if case .number(let value)? = overrides[key] { Int(value) } else { nil } }
            let defaults = PatchConfig()
            return PatchConfig(
                annotationPrefix: overrides["annotationPrefix"]?.stringValue ?? defaults.annotationPrefix,
                defaultAudience: overrides["defaultAudience"]?.stringValue ?? defaults.defaultAudience,
                defaultTokenExpiration: number("defaultTokenExpiration") ?? defaults.defaultTokenExpiration,
                tokenMountPath: overrides["tokenMountPath"]?.stringValue ?? defaults.tokenMountPath,
                stsEndpoint: overrides["stsEndpoint"].map { $0.stringValue ?? "" } ?? defaults.stsEndpoint,
                region: overrides["region"]?.stringValue
            )
        }
    }

    var requestShape: ReviewHarness.RequestShape {
        get throws {
            var shape = ReviewHarness.RequestShape()
            shape.namespace = pod["metadata"]?["namespace"]?.stringValue ?? "default"
            let overrides = try jsonSetting("review") ?? [:]
            if let apiVersion = overrides["apiVersion"]?.stringValue { shape.apiVersion = apiVersion }
            if let operation = overrides["operation"]?.stringValue { shape.operation = operation }
            if let subResource = overrides["subResource"]?.stringValue { shape.subResource = subResource }
            if overrides["namespace"] == .null { shape.namespace = nil }
            if overrides["dryRun"] == .bool(true) { shape.dryRun = true }
            return shape
        }
    }

    /// The handler the fixture asks for: its ServiceAccount (or none, or an unreachable source).
    var handler: AdmissionHandler {
        get throws {
            let configuration = try configuration
            let namespace = pod["metadata"]?["namespace"]?.stringValue ?? "default"
            let spec = pod["spec"]
            let accountName = [spec?["serviceAccountName"]?.stringValue, spec?["serviceAccount"]?.stringValue]
                .compactMap { $0 }.first { !$0.isEmpty } ?? "default"
            let source: any ServiceAccountSource
            switch setting("service-account") {
            case "error"?:
                source = UnreachableServiceAccountSource()
            case "absent"?, nil:
                source = StaticServiceAccountSource([])
            case let json?:
                let annotations = Self.stringMembers(try JSONParser.parse(json))
                source = StaticServiceAccountSource([ServiceAccount(namespace: namespace, name: accountName, annotations: annotations)])
            }
            return AdmissionHandler(configuration: configuration, serviceAccounts: source, failClosed: setting("fail-closed") == "true")
        }
    }
}
