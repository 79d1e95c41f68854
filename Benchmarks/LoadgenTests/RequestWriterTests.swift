import Testing
@testable import loadgen

@Suite struct RequestWriterTests {
    @Test func rendersAPostWithContentLengthAndAFreshUID() throws {
        let target = try #require(Target(url: "https://localhost:8443/mutate?timeout=10s"))
        #expect(target.host == "127.0.0.1")
        let review = try PreparedReview(
            fixedReview: Array(#"{"request":{"uid":"6f1d9c2e-3b7a-4e58-9c1d-2a4b5c6d7e8f","object":{}}}"#.utf8), expectation: .unknown)
        let writer = RequestWriter(target: target)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: writer.capacity(forBody: review.body.count), alignment: 1)
        defer { buffer.deallocate() }
        let (length, uidOffset) = writer.render(review, stream: 2, sequence: 0x1234, into: buffer)
        let text = String(decoding: buffer[0..<length], as: UTF8.self)
        #expect(text.hasPrefix("POST /mutate?timeout=10s HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n"))
        #expect(text.contains("\r\nContent-Length: \(review.body.count)\r\n\r\n"))
        #expect(text.hasSuffix(#"{"request":{"uid":"00000002-0000-4000-8000-000000001234","object":{}}}"#))
        #expect(String(decoding: buffer[uidOffset..<uidOffset + 36], as: UTF8.self) == "00000002-0000-4000-8000-000000001234")
    }

    @Test(arguments: ["http://127.0.0.1:1/", "https://127.0.0.1/", "https://:8443/", "https://h:0/", "https://h:99999/"])
    func rejectsTargetsItCannotReach(_ url: String) {
        #expect(Target(url: url) == nil)
    }
}
