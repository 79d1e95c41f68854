import Testing
@testable import EventLoop

private func decodeChunked(_ text: String, maxBodySize: Int = 1 << 20) -> Result<(body: String, consumed: Int, complete: Bool), HTTPParseError> {
    var decoder = ChunkedDecoder(maxBodySize: maxBodySize)
    var body: [UInt8] = []
    let bytes = Array(text.utf8)
    do {
        let consumed = try bytes.withUnsafeBytes { buffer throws(HTTPParseError) in try decoder.decode(buffer, into: &body) }
        return .success((String(decoding: body, as: UTF8.self), consumed, decoder.isComplete))
    } catch let error as HTTPParseError {
        return .failure(error)
    } catch {
        fatalError("unexpected \(error)")
    }
}

@Suite struct ChunkedDecoderTests {
    @Test func decodesChunksExtensionsAndTrailers() throws {
        let text = "4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\nX: y\r\n\r\nNEXT"
        let result = try decodeChunked(text).get()
        #expect(result.body == "Wikipedia in\r\n\r\nchunks.")
        #expect(result.complete)
        #expect(result.consumed == text.utf8.count - 4)
    }

    /// RFC 9112 section 7.1.1: `chunk-size *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )`,
    /// with `ext-val = token / quoted-string`.
    @Test(arguments: [
        "5;a\r\n", "5;a=b\r\n", "5 ;a\r\n", "5\t; a = b\r\n", "5;a=b;c;d=e\r\n", "5;a=\"q\"\r\n",
        "5;a=\"sp ace; \\\"esc\\\" \\\\\"\r\n", "5;a=\"\"\r\n", "5;!#$%&'*+-.^_`|~=x\r\n"
    ])
    func acceptsExtensionsOfTheGrammar(_ sizeLine: String) throws {
        let result = try decodeChunked(sizeLine + "hello\r\n0\r\n\r\n").get()
        #expect(result.body == "hello")
        #expect(result.complete)
    }

    @Test func extensionsSplitAcrossReadsDecode() throws {
        var decoder = ChunkedDecoder(maxBodySize: 100)
        var body: [UInt8] = []
        for piece in ["5 ", "; a ", "= \"x", "\\\"", "y\" ", "; b\r", "\nhel", "lo\r\n0;z\r\n\r\n"] {
            let bytes = Array(piece.utf8)
            let consumed = try bytes.withUnsafeBytes { try decoder.decode($0, into: &body) }
            #expect(consumed == bytes.count)
        }
        #expect(decoder.isComplete)
        #expect(String(decoding: body, as: UTF8.self) == "hello")
    }

    @Test func incompleteInputConsumesEverythingAndWaits() throws {
        let result = try decodeChunked("A\r\n01234").get()
        #expect(result.body == "01234")
        #expect(result.consumed == 8)
        #expect(!result.complete)
    }

    @Test func upperCaseHexAndLeadingZeros() throws {
        #expect(try decodeChunked("000A\r\n0123456789\r\n0\r\n\r\n").get().body == "0123456789")
        #expect(try decodeChunked("a\r\n0123456789\r\n00\r\n\r\n").get().complete)
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        let name: String
        let text: String
        let status: Int
        init(_ name: String, _ text: String, _ status: Int) {
            self.name = name
            self.text = text
            self.status = status
        }
        var testDescription: String { name }
    }

    @Test(arguments: [
        Malformed("empty size", "\r\nabc\r\n0\r\n\r\n", 400),
        Malformed("negative size", "-1\r\na\r\n0\r\n\r\n", 400),
        Malformed("0x prefix", "0x5\r\nabcde\r\n0\r\n\r\n", 400),
        Malformed("non-hex size", "g\r\n", 400),
        Malformed("17 hex digits", "10000000000000000\r\n", 400),
        Malformed("16 hex digits over the body limit", "ffffffffffffffff\r\n", 413),
        Malformed("bare LF after size", "3\nabc\r\n0\r\n\r\n", 400),
        Malformed("size without LF", "3\rabc\r\n", 400),
        Malformed("data longer than size", "3\r\nabcd\r\n0\r\n\r\n", 400),
        Malformed("data without CRLF", "3\r\nabc0\r\n\r\n", 400),
        Malformed("bare LF after data", "3\r\nabc\n0\r\n\r\n", 400),
        Malformed("control byte in extension", "3;a\u{1}\r\nabc\r\n", 400),
        Malformed("word after the size without ;", "5 xyz\r\nhello\r\n0\r\n\r\n", 400),
        Malformed("quoted string after the size without ;", "5\t\"junk\"\r\nhello\r\n0\r\n\r\n", 400),
        Malformed("; without a name", "5;\r\nhello\r\n0\r\n\r\n", 400),
        Malformed("= without a name", "5;=v\r\nhello\r\n0\r\n\r\n", 400),
        Malformed("= without a value", "5;a=\r\nhello\r\n0\r\n\r\n", 400),
        Malformed("two names without ;", "5;a b\r\nhello\r\n0\r\n\r\n", 400),
        Malformed("two values", "5;a=b c\r\nhello\r\n0\r\n\r\n", 400),
        Malformed("separator in a name", "5;a/b\r\nhello\r\n0\r\n\r\n", 400),
        Malformed("unterminated quoted value", "5;a=\"b\r\nhello\r\n0\r\n\r\n", 400),
        Malformed("text after a quoted value", "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", 400),
        Malformed("whitespace before the CRLF", "5 \r\nhello\r\n0\r\n\r\n", 400),
        Malformed("whitespace after an extension", "5;a=b \r\nhello\r\n0\r\n\r\n", 400),
        Malformed("space before the size", " 5\r\nhello\r\n0\r\n\r\n", 400),
        Malformed("bare LF in an extension", "5;a\nhello\r\n0\r\n\r\n", 400),
        Malformed("extension too long", "3;\(String(repeating: "x", count: 300))\r\nabc\r\n", 400),
        Malformed("trailer with bare LF", "0\r\nX: y\n\r\n", 400),
        Malformed("trailer section too large", "0\r\nX: \(String(repeating: "y", count: 9000))\r\n\r\n", 400),
        Malformed("final CRLF missing", "0\r\n\rX", 400),
    ])
    func rejectsMalformedChunks(_ row: Malformed) {
        guard case .failure(let error) = decodeChunked(row.text, maxBodySize: 1 << 20) else {
            Issue.record("\(row.name) was accepted")
            return
        }
        #expect(error.status.code == row.status, "\(row.name): \(error)")
    }

    @Test func bodyLimitIsEnforcedAcrossChunks() throws {
        guard case .failure(let error) = decodeChunked("6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n", maxBodySize: 10) else {
            Issue.record("accepted a body over the limit")
            return
        }
        #expect(error.status == .payloadTooLarge)
        #expect(try decodeChunked("5\r\nabcde\r\n5\r\nabcde\r\n0\r\n\r\n", maxBodySize: 10).get().body == "abcdeabcde")
    }

    @Test func everySplitGivesTheSameBody() throws {
        let text = Array("3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n".utf8)
        for split in 0...text.count {
            var decoder = ChunkedDecoder(maxBodySize: 100)
            var body: [UInt8] = []
            let first = try text[0..<split].withUnsafeBytes { try decoder.decode($0, into: &body) }
            #expect(first == split)
            let second = try text[split...].withUnsafeBytes { try decoder.decode($0, into: &body) }
            #expect(first + second == text.count)
            #expect(decoder.isComplete)
            #expect(String(decoding: body, as: UTF8.self) == "abc0123456789abcdef", "split at \(split)")
        }
    }
}
