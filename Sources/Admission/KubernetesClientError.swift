/// A ServiceAccount lookup the Kubernetes API did not answer usefully: which account, what went
/// wrong, the last HTTP status (if any) and the API server's own message.
///
/// A struct with static codes rather than an enum, so new kinds can be added later.
public struct KubernetesClientError: Error, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// 401: the token was not accepted (expired, wrong cluster).
        public static let unauthorized = Code(name: "unauthorized (401): check the token")
        /// 403: the webhook's identity may not get ServiceAccounts (missing RBAC).
        public static let forbidden = Code(name: "forbidden (403): the webhook needs RBAC `get` on serviceaccounts")
        /// A status the client does not handle (e.g. 400, 410).
        public static let unexpectedStatus = Code(name: "unexpected status")
        /// A 200 response whose body is not the ServiceAccount asked for.
        public static let invalidResponse = Code(name: "invalid response")
        /// 429/5xx or connection failures until the attempts or the time ran out.
        public static let unavailable = Code(name: "API server unavailable")
        /// The API server's host name did not resolve (the detail names the host).
        public static let unresolvableHost = Code(name: "API server host name does not resolve")
        /// The request timeout passed.
        public static let timedOut = Code(name: "timed out")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// The ServiceAccount looked up.
    public var key: ServiceAccountKey
    /// The last HTTP status received, if any.
    public var status: Int?
    /// The API server's message, the transport error, or what is wrong with the body.
    public var detail: String
    /// Requests sent.
    public var attempts: Int

    public init(code: Code, key: ServiceAccountKey, status: Int? = nil, detail: String = "", attempts: Int = 1) {
        self.code = code
        self.key = key
        self.status = status
        self.detail = detail
        self.attempts = attempts
    }

    public var description: String {
        var text = "GET ServiceAccount \(key): \(code)"
        if let status, code == .unexpectedStatus || code == .unavailable || code == .invalidResponse { text += " (last status \(status))" }
        if attempts > 1 { text += " after \(attempts) attempts" }
        if !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}
