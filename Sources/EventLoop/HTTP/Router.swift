/// Maps method and path to a handler: one async function from request to response.
///
/// An unknown path is answered 404; a known path with another method 405 with `Allow`.
/// A HEAD request is served by the GET handler when no HEAD handler exists (the server
/// leaves the body out). Paths match exactly, without the query. A route may screen the
/// request head before its body is read (a Content-Type check): a request it refuses, like a
/// 404 or 405 with a body, is answered without reading the body, and the connection closes.
public struct Router: Sendable {
    /// A route handler. It runs on the caller's executor (the connection's event loop), so
    /// calling it costs no task switch; a handler that needs other isolation hops itself.
    public typealias Handler = nonisolated(nonsending) @Sendable (HTTPRequest) async -> HTTPResponse
    /// Looks at a request head before its body is read; a response refuses the request.
    public typealias HeadScreen = @Sendable (HTTPRequestHead) -> HTTPResponse?

    /// The outcome of looking up a request's route.
    public enum Match: Sendable {
        case handler(Handler)
        case notFound
        case methodNotAllowed(allow: String)
    }

    /// A method and its handler. A struct rather than a tuple: a closure in a tuple stored in an
    /// array is kept at the generic abstraction, and taking it out allocated a thunk per lookup.
    private struct MethodHandler: Sendable {
        let method: HTTPMethod
        let screen: HeadScreen?
        let handler: Handler
    }

    /// One path's handlers, with its 405 answer prepared when the routes change.
    private struct Route: Sendable {
        let path: String
        var handlers: [MethodHandler] = []
        /// The `Allow` value for the path's 405: its methods, sorted, HEAD implied by GET.
        var allow = ""
        var methodNotAllowed = HTTPResponse.error(.methodNotAllowed)
    }

    /// The outcome of looking up a request's route, with the rejection answer ready to send.
    enum Resolution {
        case handler(Handler)
        case rejection(HTTPResponse)
    }

    /// A short list scanned in order: a server has a handful of paths, and comparing a few
    /// short strings is cheaper than hashing the request's path.
    private var routes: [Route] = []

    private static let notFound = HTTPResponse.error(.notFound)

    public init() {}

    /// Adds (or replaces) the handler for `method` on `path`; `screen`, when given, may refuse a
    /// request from its head alone.
    public mutating func add(_ method: HTTPMethod, _ path: String, screen: HeadScreen? = nil, _ handler: @escaping Handler) {
        let index = routes.firstIndex { $0.path == path } ?? {
            routes.append(Route(path: path))
            return routes.count - 1
        }()
        var route = routes[index]
        route.handlers.removeAll { $0.method == method }
        route.handlers.append(MethodHandler(method: method, screen: screen, handler: handler))
        var allowed = route.handlers.map(\.method.rawValue)
        if allowed.contains("GET"), !allowed.contains("HEAD") { allowed.append("HEAD") }
        route.allow = allowed.sorted().joined(separator: ", ")
        route.methodNotAllowed = HTTPResponse.error(.methodNotAllowed)
        route.methodNotAllowed.headers.add(name: "Allow", value: route.allow)
        routes[index] = route
    }

    /// The handler for `method` on `path`, or why there is none.
    public func match(_ method: HTTPMethod, path: String) -> Match {
        switch lookUp(method, path: path) {
        case .found(let entry): return .handler(entry.handler)
        case .noPath: return .notFound
        case .noMethod(let index): return .methodNotAllowed(allow: routes[index].allow)
        }
    }

    /// What the server does with a request: run a handler or send a rejection (prepared, or
    /// the route's screen's).
    func resolve(_ head: HTTPRequestHead) -> Resolution {
        switch lookUp(head.method, path: head.path) {
        case .found(let entry):
            if let screen = entry.screen, let refusal = screen(head) { return .rejection(refusal) }
            return .handler(entry.handler)
        case .noPath: return .rejection(Self.notFound)
        case .noMethod(let index): return .rejection(routes[index].methodNotAllowed)
        }
    }

    /// A route found by index: an enum carrying the `Route` itself was boxed on the heap.
    private enum LookUp {
        case found(MethodHandler)
        case noPath
        case noMethod(routeIndex: Int)
    }

    private func lookUp(_ method: HTTPMethod, path: String) -> LookUp {
        guard let index = routes.firstIndex(where: { $0.path == path }) else { return .noPath }
        let handlers = routes[index].handlers
        for entry in handlers where entry.method == method { return .found(entry) }
        if method == .HEAD {
            for entry in handlers where entry.method == .GET { return .found(entry) }
        }
        return .noMethod(routeIndex: index)
    }

    /// The answer for a request that has no handler: 404, or 405 with `Allow`; nil when one exists.
    public func rejection(_ method: HTTPMethod, path: String) -> HTTPResponse? {
        Self.rejection(for: match(method, path: path))
    }

    /// The answer for a lookup that found no handler; nil when it found one.
    public static func rejection(for match: Match) -> HTTPResponse? {
        switch match {
        case .handler: return nil
        case .notFound: return .error(.notFound)
        case .methodNotAllowed(let allow):
            var response = HTTPResponse.error(.methodNotAllowed)
            response.headers.add(name: "Allow", value: allow)
            return response
        }
    }

    /// Runs the request's handler, or answers 404/405 or its route's screen's refusal.
    nonisolated(nonsending) public func respond(to request: HTTPRequest) async -> HTTPResponse {
        switch resolve(request.head) {
        case .handler(let handler): return await handler(request)
        case .rejection(let response): return response
        }
    }
}
