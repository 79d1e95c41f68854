/// A message the HTTP parser rejected, with the status the server answers before closing.
public struct HTTPParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The status to answer with (400, 413, 414, 417, 431, 501 or 505).
    public let status: HTTPStatus
    /// What was wrong, naming the field or part of the message.
    public let reason: String

    public init(_ status: HTTPStatus, _ reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status.code): \(reason)" }
}
