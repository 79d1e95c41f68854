import Testing
@testable import Admission
import PatchVerification
import Yams

@Suite struct ManifestDocumentTests {
    /// YAML merge keys (`<<: *base`) are resolved as kubectl's YAML reader resolves them: a
    /// member of the mapping itself wins over a merged one, an earlier mapping of a merged list
    /// over a later one, merges nest, and a quoted "<<" is an ordinary key.
    @Test func mergeKeysAreResolvedAsKubectlReadsThem() throws {
        let yaml = """
            base: &base {name: a, image: x, env: [{name: AWS_REGION, value: mine}]}
            extra: &extra {name: e, args: [run], image: y}
            nested: &nested {<<: *base, image: z}
            plain:
              <<: *base
              name: b
            listed:
              <<: [*extra, *base]
              image: w
            deep:
              - <<: *nested
            quoted:
              "<<": kept
            """
        let document = try #require(try ManifestDocument.documents(in: Array(yaml.utf8), source: "merge.yaml").first)
        let json = try JSONParser.parse(try NodeJSON.text(document.node))
        let env: JSONValue = [["name": "AWS_REGION", "value": "mine"]]
        #expect(json["plain"] == ["name": "b", "image": "x", "env": env])
        #expect(json["listed"] == ["name": "e", "args": ["run"], "env": env, "image": "w"])
        #expect(json["deep"] == [["name": "a", "image": "z", "env": env]])
        #expect(json["quoted"] == ["<<": "kept"])
        #expect(Array(document.node["plain"]?.mapping?.keys.compactMap(\.string) ?? []) == ["image", "env", "name"],
                "merged members take the merge key's place, the mapping's own keep theirs")
    }

    /// A merge key whose value is not a mapping or a list of mappings is bad input naming the field.
    @Test(arguments: ["a:\n  <<: 1\n", "a:\n  - b:\n      <<: [{x: 1}, 2]\n"])
    func mergeKeyOfAScalarIsAnError(yaml: String) throws {
        #expect {
            try ManifestDocument.documents(in: Array(yaml.utf8), source: "m.yaml")
        } throws: { error in
            let message = (error as? ManifestError)?.description ?? ""
            return message.hasPrefix("m.yaml: document 1: a") && message.contains("<<: a merge key needs a mapping or a list of mappings")
        }
    }
}
