import Testing
@testable import EventLoop

@Suite struct HTTPResponseTests {
    private func serialize(
        _ response: HTTPResponse,
        version: HTTPVersion = .http1_1,
        keepAlive: Bool = true,
        includeBody: Bool = true
    ) -> String {
        let buffer = ConnectionBuffer(capacity: 16)
        response.serialize(into: buffer, version: version, keepAlive: keepAlive, includeBody: includeBody, date: nil)
        return String(decoding: buffer.readable, as: UTF8.self)
    }

    @Test func headAndBodyInOneBuffer() {
        let response = HTTPResponse.json(.ok, Array("{\"a\":1}".utf8))
        #expect(serialize(response) == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}")
    }

    @Test func connectionFieldFollowsKeepAliveAndVersion() {
        let response = HTTPResponse(status: .noContent)
        #expect(serialize(response, keepAlive: false) == "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        #expect(serialize(response, version: .http1_0) == "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n")
    }

    @Test func framingFieldsFromTheHandlerAreIgnored() {
        let response = HTTPResponse(
            status: .ok,
            headers: ["content-length": "99", "Transfer-Encoding": "chunked", "Connection": "upgrade"],
            body: Array("abc".utf8)
        )
        #expect(serialize(response) == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
    }

    @Test func headResponseAnnouncesTheLengthWithoutTheBody() {
        #expect(serialize(.text(.ok, "abc"), includeBody: false)
            == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\n")
    }

    @Test func headerValuesCannotSplitTheResponse() {
        let response = HTTPResponse(status: .ok, headers: ["X-A": "a\r\nSet-Cookie: evil"])
        #expect(serialize(response) == "HTTP/1.1 200 OK\r\nX-A: a  Set-Cookie: evil\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func largeBodiesGrowTheBuffer() {
        let body = [UInt8](repeating: 0x61, count: 100_000)
        let text = serialize(HTTPResponse(status: .ok, body: body))
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\naaaa"))
        #expect(text.utf8.count == 100_000 + 43)
    }

    @Test func dateIsTheIMFFixdate() {
        #expect(String(decoding: HTTPDateCache.format(784_111_777), as: UTF8.self) == "Sun, 06 Nov 1994 08:49:37 GMT")
        var cache = HTTPDateCache()
        #expect(cache.current().count == 29)
    }
}
