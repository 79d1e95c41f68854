import Foundation
import Testing
@testable import loadgen

@Suite struct Base64Tests {
    @Test(arguments: ["", "f", "fo", "foo", "foob", "fooba", "foobar", String(repeating: "\u{00ff}xyz", count: 100)])
    func decodesWhatFoundationEncodes(_ text: String) {
        let encoded = Data(text.utf8).base64EncodedString()
        #expect(Base64.decode(encoded) == Array(text.utf8))
    }

    @Test(arguments: ["Zm9", "Zm9v!A==", "Z===", "Zg==Zg==", "Zm=v"])
    func rejectsInvalidText(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
