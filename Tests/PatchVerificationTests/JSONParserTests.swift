import PatchVerification
import Testing

@Suite struct JSONParserTests {
    @Test(arguments: [
        #"{"a":[1,-2.5e3,true,false,null],"b":{"c":"d\"e\\f\n"}}"#,
        #"[]"#, #"{}"#, #""x""#, #"0"#,
    ])
    func compactDocumentsRoundTrip(_ text: String) throws {
        #expect(try JSONParser.parse(text).serialized == text)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONParser.parse(#"["\u00e9\/\t","\ud83d\ude00"]"#)
        #expect(value == .array([.string("é/\t"), .string("😀")]))
    }

    @Test(arguments: ["", "{", "[1,]", #"{"a"}"#, "01", "1.", "tru", #""\ud800""#, "[1] x", "\"a\u{01}\""])
    func rejectsInvalidDocuments(_ text: String) {
        #expect(throws: JSONParser.ParseError.self) { try JSONParser.parse(text) }
    }

    @Test func rejectsDeepNestingWithoutCrashing() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParser.ParseError.self) { try JSONParser.parse(deep) }
    }

    @Test func serializerEscapesLikeGo() {
        #expect(JSONValue.string("<a&b>\u{1}").serialized == #""\u003ca\u0026b\u003e\u0001""#)
    }
}
