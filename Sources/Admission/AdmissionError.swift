/// A request body the webhook cannot review: not JSON, not an AdmissionReview, or missing what a
/// review needs. Carries the HTTP status to answer with and a short plain-text message.
public struct AdmissionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status code to answer with (400 for every malformed body).
    public var httpStatus: Int
    /// A short message naming the field or the syntax problem.
    public var message: String

    public init(httpStatus: Int = 400, message: String) {
        self.httpStatus = httpStatus
        self.message = message
    }

    public var description: String { message }

    /// A body that is not valid JSON.
    static func malformedJSON(_ error: JSONSyntaxError) -> AdmissionError {
        AdmissionError(message: error.description)
    }

    /// A field that is missing or has the wrong type.
    static func badField(_ path: String, _ problem: String) -> AdmissionError {
        AdmissionError(message: "\(path): \(problem)")
    }
}
