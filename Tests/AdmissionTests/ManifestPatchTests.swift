import Testing
@testable import Admission
import PatchVerification
import Yams

@Suite struct ManifestPatchTests {
    /// Random pod shapes (fixed seed), each as a Pod and as a Deployment's template: the patch
    /// applied to the YAML tree gives exactly what the independent RFC 6902 applier gives on the
    /// JSON, and mutating that result again yields no operation.
    @Test func yamlTreeAgreesWithTheIndependentApplier() throws {
        var generator = SeededGenerator(seed: 0x4D55)
        let configuration = PatchConfig(region: "ewr")
        let account = ServiceAccount(namespace: "default", name: "app-sa", annotations: ["vultr.com/role-arn": "arn:aws:iam::1:role/r"])
        for round in 0..<150 {
            let (pod, _) = PodPatchTests.randomPod(using: &generator)
            let deployment: JSONValue = ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "d", "namespace": "default"],
                                         "spec": ["replicas": 1, "template": ["metadata": pod["metadata"] ?? nil, "spec": pod["spec"] ?? nil]]]
            for (object, prefix) in [(pod, ""), (deployment, "/spec/template")] {
                let document = try #require(try ManifestDocument.documents(in: object.bytes, source: "round \(round)").first)
                let located = try #require(try ManifestPod(document, defaultNamespace: "default", configuration: configuration))
                let mutation = PodMutation(pod: located.pod, serviceAccount: account, configuration: configuration)
                let manifestPatch = try ManifestPatch(mutation.patch ?? Array("[]".utf8), under: located.path)
                let fromTree = try JSONParser.parse(try NodeJSON.text(try manifestPatch.applied(to: document.node)))

                let podPatch = try JSONParser.parse(mutation.patch ?? Array("[]".utf8))
                let moved = JSONValue.array((podPatch.arrayValue ?? []).map { operation in
                    var operation = operation
                    operation["path"] = .string(prefix + (operation["path"]?.stringValue ?? ""))
                    return operation
                })
                #expect(fromTree == (try JSONPatchApplier.apply(moved, to: object)), "round \(round) \(prefix)")
                #expect(try JSONParser.parse(try NodeJSON.text(manifestPatch.node)) == moved, "--patch prints the moved patch")

                let again = try #require(try ManifestDocument.documents(in: fromTree.bytes, source: "again").first)
                let repeated = PodMutation(pod: try #require(try ManifestPod(again, defaultNamespace: "default", configuration: configuration)).pod,
                                           serviceAccount: account, configuration: configuration)
                #expect(repeated.patch == nil, "round \(round): mutating the result again adds nothing")
            }
        }
    }

    /// YAML scalars become the JSON types YAML resolves them to; keys and order are kept.
    @Test func yamlScalarsBecomeTheirJSONTypes() throws {
        let yaml = """
            b: 8080
            a: "8080"
            flag: true
            word: yes
            none: ~
            hex: 0x1F
            float: 1.5
            exp: 1e3
            text: plain words
            list: [1, "two", null]
            """
        let document = try #require(try ManifestDocument.documents(in: Array(yaml.utf8), source: "t").first)
        #expect(String(decoding: try NodeJSON.text(document.node), as: UTF8.self)
            == #"{"b":8080,"a":"8080","flag":true,"word":true,"none":null,"hex":31,"float":1.5,"exp":1e3,"text":"plain words","list":[1,"two",null]}"#)
        let infinite = try #require(try ManifestDocument.documents(in: Array("x: .inf\n".utf8), source: "t").first)
        #expect(throws: ManifestFieldError.self) { try NodeJSON.text(infinite.node) }
    }

    /// A field the pod decoder refuses is named by its path in the manifest.
    @Test(arguments: [
        ("kind: Pod\nspec:\n  containers:\n  - name: a\n    volumeMounts: {}\n", "spec.containers[0].volumeMounts"),
        ("kind: Pod\nmetadata:\n  annotations:\n    vultr.com/region: 1\n", "metadata.annotations.vultr.com/region"),
        ("apiVersion: apps/v1\nkind: StatefulSet\nspec:\n  template:\n    spec:\n      volumes: [{name: [x]}]\n", "spec.template.spec.volumes[0].name"),
    ])
    func decoderErrorsNameTheField(yaml: String, field: String) throws {
        let document = try #require(try ManifestDocument.documents(in: Array(yaml.utf8), source: "t").first)
        do {
            _ = try ManifestPod(document, defaultNamespace: "default", configuration: PatchConfig())
            Issue.record("no error for \(field)")
        } catch {
            #expect(error.path == field, "\(error)")
        }
    }
}
