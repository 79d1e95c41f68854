/// Maps method and path to a handler: one async function from request to response.
///
/// An unknown path is answered 404; a known path with another method 405 with `Allow`.
/// A HEAD request is served by the GET handler when no HEAD handler exists (the server
/// leaves the body out). Paths match exactly, without the query.
public struct Router: Sendable {
    /// A route handler.
    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse

    /// The outcome of looking up a request's route.
    public enum Match: Sendable {
        case handler(Handler)
        case notFound
        case methodNotAllowed(allow: String)
    }

    private var routes: [String: [(method: HTTPMethod, handler: Handler)]] = [:]

    public init() {}

    /// Adds (or replaces) the handler for `method` on `path`.
    public mutating func add(_ method: HTTPMethod, _ path: String, _ handler: @escaping Handler) {
        var methods = routes[path, default: []]
        methods.removeAll { $0.method == method }
        methods.append((method, handler))
        routes[path] = methods
    }

    /// The handler for `method` on `path`, or why there is none.
    public func match(_ method: HTTPMethod, path: String) -> Match {
        guard let methods = routes[path] else { return .notFound }
        for route in methods where route.method == method { return .handler(route.handler) }
        if method == .HEAD {
            for route in methods where route.method == .GET { return .handler(route.handler) }
        }
        var allowed = methods.map(\.method.rawValue)
        if allowed.contains("GET"), !allowed.contains("HEAD") { allowed.append("HEAD") }
        return .methodNotAllowed(allow: allowed.sorted().joined(separator: ", "))
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

    /// Runs the request's handler, or answers 404/405.
    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        guard case .handler(let handler) = match(request.method, path: request.path) else {
            return rejection(request.method, path: request.path)!
        }
        return await handler(request)
    }
}
