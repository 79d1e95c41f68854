import PatchVerification
import Testing

/// RFC 6902 appendix A cases, plus the operations an IRSA patch uses.
@Suite struct JSONPatchApplierTests {
    private func apply(_ patch: String, to document: String) throws -> JSONValue {
        try JSONPatchApplier.apply(try JSONParser.parse(patch), to: try JSONParser.parse(document))
    }

    @Test(arguments: [
        (#"{"foo":"bar"}"#, #"[{"op":"add","path":"/baz","value":"qux"}]"#, #"{"foo":"bar","baz":"qux"}"#),
        (#"{"foo":["bar","baz"]}"#, #"[{"op":"add","path":"/foo/1","value":"qux"}]"#, #"{"foo":["bar","qux","baz"]}"#),
        (#"{"baz":"qux","foo":"bar"}"#, #"[{"op":"remove","path":"/baz"}]"#, #"{"foo":"bar"}"#),
        (#"{"foo":["bar","qux","baz"]}"#, #"[{"op":"remove","path":"/foo/1"}]"#, #"{"foo":["bar","baz"]}"#),
        (#"{"baz":"qux","foo":"bar"}"#, #"[{"op":"replace","path":"/baz","value":"boo"}]"#, #"{"baz":"boo","foo":"bar"}"#),
        (#"{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}"#,
         #"[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]"#,
         #"{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}"#),
        (#"{"foo":["all","grass","cows","eat"]}"#, #"[{"op":"move","from":"/foo/1","path":"/foo/3"}]"#, #"{"foo":["all","cows","eat","grass"]}"#),
        (#"{"foo":["bar"]}"#, #"[{"op":"add","path":"/foo/-","value":["abc","def"]}]"#, #"{"foo":["bar",["abc","def"]]}"#),
        (#"{"a/b":1,"m~n":2}"#, #"[{"op":"replace","path":"/a~1b","value":3},{"op":"remove","path":"/m~0n"}]"#, #"{"a/b":3}"#),
        (#"{"a":{"b":1}}"#, #"[{"op":"copy","from":"/a","path":"/c"},{"op":"test","path":"/c/b","value":1}]"#, #"{"a":{"b":1},"c":{"b":1}}"#),
        (#"{"spec":{"containers":[{"name":"c"}]}}"#,
         #"[{"op":"add","path":"/spec/containers/0/env","value":[]},{"op":"add","path":"/spec/containers/0/env/-","value":{"name":"X","value":"1"}}]"#,
         #"{"spec":{"containers":[{"name":"c","env":[{"name":"X","value":"1"}]}]}}"#),
    ])
    func appliesValidPatches(document: String, patch: String, expected: String) throws {
        #expect(try apply(patch, to: document) == (try JSONParser.parse(expected)))
    }

    @Test(arguments: [
        (#"{"foo":"bar"}"#, #"[{"op":"add","path":"/baz/bat","value":"qux"}]"#),
        (#"{"foo":"bar"}"#, #"[{"op":"remove","path":"/nope"}]"#),
        (#"{"foo":[1]}"#, #"[{"op":"add","path":"/foo/5","value":2}]"#),
        (#"{"foo":[1]}"#, #"[{"op":"add","path":"/foo/01","value":2}]"#),
        (#"{"baz":"qux"}"#, #"[{"op":"test","path":"/baz","value":"bar"}]"#),
        (#"{"a":{"b":1}}"#, #"[{"op":"move","from":"/a","path":"/a/b/c"}]"#),
        (#"{}"#, #"[{"op":"frobnicate","path":"/a"}]"#),
        (#"{}"#, #"{"op":"add","path":"/a","value":1}"#),
    ])
    func rejectsPatchesThatDoNotApply(document: String, patch: String) {
        #expect(throws: JSONPatchApplier.ApplyError.self) { try apply(patch, to: document) }
    }

    @Test func objectEqualityIgnoresMemberOrder() throws {
        #expect(try JSONParser.parse(#"{"a":1,"b":[2]}"#) == (try JSONParser.parse(#"{"b":[2],"a":1}"#)))
    }
}
