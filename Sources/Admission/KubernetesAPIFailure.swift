/// A request to the Kubernetes API that failed, or got an answer its caller cannot use (the
/// informer, the Lease elector and the narrowing writer share it); `status` is nil when no HTTP
/// answer came back.
struct KubernetesAPIFailure: Error, CustomStringConvertible {
    var status: Int?
    var description: String

    /// An answer with an unexpected `status`: "`request`: HTTP 403 (`rbacHint`): <the API server's
    /// message>", the hint only for a 403 and the message only when the body carries one.
    init(_ request: String, status: Int, body: [UInt8], rbacHint: String) {
        var description = "\(request): HTTP \(status)"
        if status == 403 { description += " (\(rbacHint))" }
        let message = ServiceAccountJSON.statusMessage(body)
        if !message.isEmpty { description += ": " + message }
        self.init(status: status, description: description)
    }

    init(status: Int? = nil, description: String) {
        self.status = status
        self.description = description
    }

    /// 410 Gone: the resourceVersion or continue token is too old.
    var isGone: Bool { status == 410 }
    /// 403: the webhook may not make this request (RBAC). A 401 (a token being rotated) is retried instead.
    var isForbidden: Bool { status == 403 }
}
