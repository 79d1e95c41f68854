import Foundation
import Testing
@testable import Admission
import PatchVerification

@Suite struct JSONScannerTests {
    /// Validates `text` as a whole document with the scanner.
    static func validate(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var scanner = JSONScanner(buffer)
            do {
                try scanner.skipValue()
                try scanner.finish()
                return true
            } catch {
                return false
            }
        }
    }

    /// The decoded value of the JSON string literal `literal` (quotes included).
    static func decode(_ literal: String) throws -> String {
        try Array(literal.utf8).withUnsafeBytes { buffer in
            var scanner = JSONScanner(buffer)
            let value = try scanner.readString().value
            try scanner.finish()
            return value
        }
    }

    @Test(arguments: [
        (#""plain""#, "plain"),
        (#""""#, ""),
        (#""q\"b\\s\/""#, "q\"b\\s/"),
        (#""\b\f\n\r\t""#, "\u{8}\u{c}\n\r\t"),
        (#""caf\u00e9 \u00E9""#, "café é"),
        (#""\u65e5\u672c""#, "日本"),
        (#""\ud83d\ude80 rocket""#, "🚀 rocket"),
        (#""lone high \ud83d end""#, "lone high \u{FFFD} end"),
        (#""lone low \ude80""#, "lone low \u{FFFD}"),
        (#""high then escape \ud83d\n""#, "high then escape \u{FFFD}\n"),
        (#""two highs \ud83d\ud83d\ude80""#, "two highs \u{FFFD}🚀"),
        (#""\u0000nul""#, "\u{0}nul"),
        ("\"raw UTF-8 日本 🚀\"", "raw UTF-8 日本 🚀"),
    ])
    func decodesStrings(_ literal: String, _ expected: String) throws {
        #expect(try Self.decode(literal) == expected)
    }

    @Test func escapedStringsCompareByValue() throws {
        let literal = Array(#""AWS_\u0052OLE_ARN""#.utf8)
        try literal.withUnsafeBytes { buffer in
            var scanner = JSONScanner(buffer)
            let string = try scanner.readString()
            #expect(string.hasEscapes)
            #expect(string.equals("AWS_ROLE_ARN"))
            #expect(!string.equals("AWS_ROLE_AR"))
            #expect(string.hasPrefix("AWS_"))
            #expect(string.equals(Array("AWS_ROLE_ARN".utf8)))
        }
    }

    /// The word-at-a-time string scan finds a quote, backslash or control character at every
    /// position relative to an 8-byte word.
    @Test func specialBytesAtEveryOffset() throws {
        for length in 0..<40 {
            let plain = String(repeating: "a", count: length)
            #expect(try Self.decode("\"\(plain)\"") == plain)
            #expect(try Self.decode("\"\(plain)\\\"x\"") == plain + "\"x")
            #expect(try Self.decode("\"\(plain)\\\\\"") == plain + "\\")
            #expect(!Self.validate(Array("\"\(plain)\u{1}x\"".utf8)))
            #expect(!Self.validate(Array("\"\(plain)\u{1f}\"".utf8)))
            #expect(try Self.decode("\"\(plain)\u{7f}é\"") == plain + "\u{7f}é")
        }
    }

    /// Random documents built from JSON's grammar are accepted, and so are Foundation's encodings of them.
    @Test func acceptsGeneratedDocuments() throws {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<300 {
            let value = Self.randomValue(depth: 0, using: &generator)
            let text = value.serialized
            #expect(Self.validate(Array(text.utf8)), "\(text)")
            let reencoded = try JSONSerialization.data(withJSONObject: try JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed), options: .fragmentsAllowed)
            #expect(Self.validate(Array(reencoded)))
        }
    }

    /// Single-byte mutations of valid documents: the scanner agrees with Foundation's strict parser.
    /// Known differences, not counted: numbers beyond Double's range are valid JSON grammar to the
    /// scanner but rejected by Foundation, and Foundation accepts some stray NUL bytes (`"3\u{0}5"`),
    /// so NUL is left to the malformed-body table; Foundation also accepts a trailing comma (`[1,]`).
    @Test func agreesWithFoundationOnMutatedDocuments() throws {
        var generator = SeededGenerator(seed: 7)
        let alphabet = Array(#"{}[],:"\ 0123456789-+.eEtrufalsn/ubx"#.utf8) + [0x1f, 0xC3, 0xA9, 0xE6, 0x97, 0xF0, 0x9F]
        var disagreements: [String] = []
        for _ in 0..<5_000 {
            var bytes = Array(Self.randomValue(depth: 0, using: &generator).serialized.utf8)
            let position = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: bytes[position] = alphabet.randomElement(using: &generator)!
            case 1: bytes.remove(at: position)
            default: bytes.insert(alphabet.randomElement(using: &generator)!, at: position)
            }
            let foundation = (try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)) != nil
            let text = String(decoding: bytes, as: UTF8.self)
            let hugeNumber = text.range(of: #"[0-9][eE][+-]?[0-9]{3,}"#, options: .regularExpression) != nil
            let trailingComma = text.range(of: #",[\]}]"#, options: .regularExpression) != nil
            if foundation != Self.validate(bytes) && !(hugeNumber && !foundation) && !(trailingComma && foundation) {
                disagreements.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }

    @Test(arguments: [
        ([0xC3, 0xA9], true), ([0xE6, 0x97, 0xA5], true), ([0xF0, 0x9F, 0x9A, 0x80], true), ([0xF4, 0x8F, 0xBF, 0xBF], true),
        ([0xC0, 0xAF], false), ([0xE0, 0x80, 0xAF], false), ([0xED, 0xA0, 0x80], false), ([0xF4, 0x90, 0x80, 0x80], false),
        ([0xE6, 0x97], false), ([0x80], false), ([0xFF], false), ([0xF0, 0x9F, 0x9A], false),
    ] as [([UInt8], Bool)])
    func validatesUTF8InStrings(_ sequence: [UInt8], _ valid: Bool) {
        for padding in 0..<9 {
            let document = [UInt8(ascii: "\"")] + Array(repeating: UInt8(ascii: "a"), count: padding) + sequence + [UInt8(ascii: "\"")]
            #expect(Self.validate(document) == valid, "\(sequence) after \(padding) bytes")
        }
    }

    @Test func depthLimit() {
        let ok = String(repeating: "[", count: JSONScanner.maximumDepth) + String(repeating: "]", count: JSONScanner.maximumDepth)
        #expect(Self.validate(Array(ok.utf8)))
        let deep = "[" + ok + "]"
        #expect(!Self.validate(Array(deep.utf8)))
        let deepObjects = String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65)
        #expect(!Self.validate(Array(deepObjects.utf8)))
    }

    static func randomValue(depth: Int, using generator: inout SeededGenerator) -> JSONValue {
        let choice = Int.random(in: 0..<(depth > 4 ? 4 : 7), using: &generator)
        switch choice {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .number(["0", "-1", "3.5", "1e21", "-0.25", "123456789"][Int.random(in: 0..<6, using: &generator)])
        case 3:
            let pieces = ["a", "é", "\"", "\\", "\n", "日本", "🚀", " ", "\u{1}", "/"]
            return .string((0..<Int.random(in: 0..<12, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined())
        case 4, 5:
            return .array((0..<Int.random(in: 0..<4, using: &generator)).map { _ in randomValue(depth: depth + 1, using: &generator) })
        default:
            var members: [(String, JSONValue)] = []
            for index in 0..<Int.random(in: 0..<4, using: &generator) {
                members.append(("k\(index)\(["", "é", "\""].randomElement(using: &generator)!)", randomValue(depth: depth + 1, using: &generator)))
            }
            return .object(members)
        }
    }
}
