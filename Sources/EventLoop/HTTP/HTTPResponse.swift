/// A response as returned by a route handler.
///
/// `Content-Length` and `Connection` are written by the server; fields with those names set
/// here are ignored.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: HTTPStatus, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response whose body is `text` as UTF-8, with `Content-Type: text/plain; charset=utf-8`.
    public static func text(_ status: HTTPStatus, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    /// A response carrying `body` with `Content-Type: application/json`.
    public static func json(_ status: HTTPStatus = .ok, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
    }

    /// A body-less response with the status's reason as a short text body, for errors.
    public static func error(_ status: HTTPStatus) -> HTTPResponse {
        .text(status, status.reason + "\n")
    }
}
