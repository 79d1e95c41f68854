import Foundation
import Testing
@testable import Admission

@Suite struct Base64Tests {
    /// Every length from 0 to 300 (all three remainders), random bytes, against Foundation.
    @Test func matchesFoundation() {
        var generator = SeededGenerator(seed: 64)
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var writer = JSONWriter(capacity: 4)
            writer.raw("prefix")
            writer.base64(bytes)
            let encoded = writer.finish()
            #expect(String(decoding: encoded, as: UTF8.self) == "prefix" + Data(bytes).base64EncodedString())
            #expect(encoded.count == 6 + Base64.encodedCount(length))
        }
    }

    @Test func knownVectors() {
        // RFC 4648 section 10.
        for (input, output) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            var writer = JSONWriter()
            writer.base64(Array(input.utf8))
            #expect(String(decoding: writer.finish(), as: UTF8.self) == output)
        }
    }
}
