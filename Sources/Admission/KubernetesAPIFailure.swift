/// A request to the Kubernetes API that failed, or got an answer its caller cannot use (the
/// informer, the Lease elector and the narrowing writer share it); `status` is nil when no HTTP
/// answer came back.
struct KubernetesAPIFailure: Error, CustomStringConvertible {
    var status: Int?
    var description: String

    /// 410 Gone: the resourceVersion or continue token is too old.
    var isGone: Bool { status == 410 }
    /// 403: the webhook may not make this request (RBAC). A 401 (a token being rotated) is retried instead.
    var isForbidden: Bool { status == 403 }
}
