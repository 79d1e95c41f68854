import Foundation
import Testing
@testable import Admission

@Suite struct JSONWriterTests {
    @Test(arguments: [0, 7, 9, 10, 99, 100, 600, 86400, -1, -10, 4_294_967_296, Int.max, Int.min])
    func integers(_ value: Int) {
        var writer = JSONWriter(capacity: 1)
        writer.integer(value)
        #expect(String(decoding: writer.finish(), as: UTF8.self) == String(value))
    }

    /// Strings round-trip through Foundation's parser, whatever they contain.
    @Test(arguments: ["", "plain", "q\"b\\s/", "\u{0}\u{1}\u{1f}\n\r\t\u{8}\u{c}", "café 日本 🚀", String(repeating: "long ", count: 300)])
    func stringsRoundTrip(_ value: String) throws {
        var writer = JSONWriter(capacity: 1)
        writer.raw("[")
        writer.string(value)
        writer.raw("]")
        let decoded = try JSONSerialization.jsonObject(with: Data(writer.finish())) as? [String]
        #expect(decoded == [value])
    }

    @Test func growsAcrossManyAppends() {
        var writer = JSONWriter(capacity: 1)
        for index in 0..<1000 {
            writer.raw(",")
            writer.integer(index)
        }
        let expected = (0..<1000).map { ",\($0)" }.joined()
        #expect(String(decoding: writer.bytes(appending: UInt8(ascii: "]")), as: UTF8.self) == expected + "]")
        #expect(String(decoding: writer.finish(), as: UTF8.self) == expected)
    }
}
