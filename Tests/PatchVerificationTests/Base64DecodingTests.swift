import Foundation
import PatchVerification
import Testing

@Suite struct Base64DecodingTests {
    @Test(arguments: ["", "f", "fo", "foo", "foob", "fooba", "foobar", String(repeating: "\u{00ff}xyz", count: 100)])
    func decodesWhatFoundationEncodes(_ text: String) {
        let encoded = Data(text.utf8).base64EncodedString()
        #expect(Base64Decoding.decode(encoded) == Array(text.utf8))
    }

    @Test(arguments: ["Zm9", "Zm9v!A==", "Z===", "Zg==Zg==", "Zm=v"])
    func rejectsInvalidText(_ text: String) {
        #expect(Base64Decoding.decode(text) == nil)
    }
}
