import Testing
@testable import EventLoop

@Suite struct HTTPClientRequestTests {
    @Test func parsesURLs() throws {
        let request = try HTTPClientRequest(url: "https://10.0.0.1:6443/api/v1/pods?watch=1")
        #expect(request.scheme == .https)
        #expect(request.host == "10.0.0.1")
        #expect(request.port == 6443)
        #expect(request.target == "/api/v1/pods?watch=1")
        let ipv6 = try HTTPClientRequest(url: "http://[::1]:8080")
        #expect(ipv6.host == "::1")
        #expect(ipv6.target == "/")
        #expect(ipv6.hostField == "[::1]:8080")
        #expect(try HTTPClientRequest(url: "https://kubernetes.default.svc").hostField == "kubernetes.default.svc")
        #expect(throws: HTTPClientError.self) { try HTTPClientRequest(url: "ftp://x") }
        #expect(throws: HTTPClientError.self) { try HTTPClientRequest(url: "http://x:port/") }
        #expect(throws: HTTPClientError.self) { try HTTPClientRequest(url: "http://:80/") }
    }

    @Test func serializesHeadAndBodyForOneWrite() {
        let request = HTTPClientRequest(
            method: .POST, scheme: .https, host: "10.0.0.1", port: 443, target: "/apis/x",
            headers: ["Authorization": "Bearer t", "Content-Length": "999", "Host": "evil", "Connection": "close"],
            body: Array("{}".utf8))
        let buffer = ConnectionBuffer(capacity: 16)
        request.serialize(into: buffer)
        #expect(String(decoding: buffer.readable, as: UTF8.self)
            == "POST /apis/x HTTP/1.1\r\nHost: 10.0.0.1\r\nAuthorization: Bearer t\r\nContent-Length: 2\r\n\r\n{}")
    }

    @Test func getWithoutBodyHasNoContentLength() {
        let request = HTTPClientRequest(scheme: .http, host: "a", port: 8080, target: "/x")
        let buffer = ConnectionBuffer(capacity: 16)
        request.serialize(into: buffer)
        #expect(String(decoding: buffer.readable, as: UTF8.self) == "GET /x HTTP/1.1\r\nHost: a:8080\r\n\r\n")
    }
}
