import Testing
@testable import EventLoop

@Suite struct RouterTests {
    private func request(_ method: HTTPMethod, _ target: String) throws -> HTTPRequest {
        var parser = HTTPRequestParser()
        let text = Array("\(method) \(target) HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        let (head, _) = try #require(try text.withUnsafeBytes { try parser.parseHead($0) })
        return HTTPRequest(head: head, body: [])
    }

    private var router: Router {
        var router = Router()
        router.add(.POST, "/mutate") { request in .text(.ok, "mutate \(request.query)") }
        router.add(.GET, "/healthz") { _ in .text(.ok, "ok") }
        router.add(.PUT, "/healthz") { _ in .text(.created, "put") }
        return router
    }

    @Test func routesByMethodAndPathIgnoringTheQuery() async throws {
        let response = await router.respond(to: try request(.POST, "/mutate?timeout=10s"))
        #expect(response.status == .ok)
        #expect(String(decoding: response.body, as: UTF8.self) == "mutate timeout=10s")
    }

    @Test func unknownPathIs404() async throws {
        #expect(await router.respond(to: try request(.POST, "/nope")).status == .notFound)
        #expect(await router.respond(to: try request(.POST, "/mutate/")).status == .notFound)
    }

    @Test func knownPathWithAnotherMethodIs405WithAllow() async throws {
        let response = await router.respond(to: try request(.GET, "/mutate"))
        #expect(response.status == .methodNotAllowed)
        #expect(response.headers["allow"] == "POST")
        let both = await router.respond(to: try request(.DELETE, "/healthz"))
        #expect(both.headers["Allow"] == "GET, HEAD, PUT")
    }

    @Test func aScreenRefusesFromTheHeadWithoutRunningTheHandler() async throws {
        var router = Router()
        router.add(.POST, "/mutate", screen: { head in
            head.path == "/mutate" && head.query == "refuse" ? .text(.unsupportedMediaType, "no") : nil
        }) { _ in .text(.ok, "handled") }
        #expect(await router.respond(to: try request(.POST, "/mutate?refuse")).status == .unsupportedMediaType)
        #expect(await router.respond(to: try request(.POST, "/mutate?accept")).status == .ok)
    }

    @Test func headFallsBackToGet() async throws {
        #expect(await router.respond(to: try request(.HEAD, "/healthz")).status == .ok)
        #expect(await router.respond(to: try request(.HEAD, "/mutate")).status == .methodNotAllowed)
    }

    @Test func rejectionIsNilForRoutedRequests() {
        #expect(router.rejection(.POST, path: "/mutate") == nil)
        #expect(router.rejection(.GET, path: "/x")?.status == .notFound)
    }

    @Test func addingAgainReplacesTheHandler() async throws {
        var router = self.router
        router.add(.GET, "/healthz") { _ in .text(.ok, "replaced") }
        let response = await router.respond(to: try request(.GET, "/healthz"))
        #expect(String(decoding: response.body, as: UTF8.self) == "replaced")
    }
}
