import Testing
@testable import EventLoop

@Suite struct HTTPResponseParserTests {
    private func parse(_ text: String, method: HTTPMethod = .GET) throws -> HTTPResponseHead? {
        var parser = HTTPResponseParser()
        return try Array(text.utf8).withUnsafeBytes { try parser.parseHead($0, requestMethod: method) }?.head
    }

    struct FramingCase: Sendable, CustomTestStringConvertible {
        let name: String
        let text: String
        let method: HTTPMethod
        let framing: HTTPBodyFraming
        let keepAlive: Bool
        var testDescription: String { name }
    }

    @Test(arguments: [
        FramingCase(name: "content length", text: "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", method: .GET, framing: .contentLength(12), keepAlive: true),
        FramingCase(name: "zero length", text: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", method: .GET, framing: .none, keepAlive: true),
        FramingCase(name: "chunked", text: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", method: .GET, framing: .chunked, keepAlive: true),
        FramingCase(name: "gzip then chunked is not ours", text: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", method: .GET, framing: .untilClose, keepAlive: false),
        FramingCase(name: "no length", text: "HTTP/1.1 200 OK\r\n\r\n", method: .GET, framing: .untilClose, keepAlive: false),
        FramingCase(name: "HEAD", text: "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", method: .HEAD, framing: .none, keepAlive: true),
        FramingCase(name: "204", text: "HTTP/1.1 204 No Content\r\n\r\n", method: .GET, framing: .none, keepAlive: true),
        FramingCase(name: "304", text: "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", method: .GET, framing: .none, keepAlive: true),
        FramingCase(name: "close", text: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", method: .GET, framing: .contentLength(1), keepAlive: false),
        FramingCase(name: "1.0 default", text: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", method: .GET, framing: .contentLength(1), keepAlive: false),
        FramingCase(name: "1.0 keep-alive", text: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", method: .GET, framing: .contentLength(1), keepAlive: true),
        FramingCase(name: "no reason phrase", text: "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", method: .GET, framing: .contentLength(1), keepAlive: true),
    ])
    func framing(_ row: FramingCase) throws {
        let head = try #require(try parse(row.text, method: row.method))
        #expect(head.framing == row.framing)
        #expect(head.keepAlive == row.keepAlive)
    }

    @Test func statusAndReason() throws {
        let head = try #require(try parse("HTTP/1.1 404 Not Found Here\r\nX: y\r\n\r\n"))
        #expect(head.status.code == 404)
        #expect(head.status.reason == "Not Found Here")
        #expect(head.headers["x"] == "y")
    }

    @Test(arguments: [
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
    ])
    func rejectsMalformedHeads(_ text: String) {
        #expect(throws: HTTPParseError.self) { try parse(text) }
    }
}
