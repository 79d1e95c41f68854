import EventLoop

/// The elector's requests for one Lease, `/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}`:
/// GET it, create it (POST to the collection) and replace it (PUT, conditional on the
/// resourceVersion it carries).
///
/// Confined to the client's event loop, like the client.
struct LeaseAPI: Sendable {
    let client: HTTPClient
    let api: KubernetesAPIConfiguration
    let namespace: String
    let name: String
    let userAgent: String

    typealias Failure = KubernetesAPIFailure

    private var collectionPath: String {
        "/apis/coordination.k8s.io/v1/namespaces/" + KubernetesClient.escapePathSegment(namespace) + "/leases"
    }

    private var objectPath: String { collectionPath + "/" + KubernetesClient.escapePathSegment(name) }

    /// The Lease, or nil when it does not exist (404).
    func get(deadline: Deadline) async throws(Failure) -> Lease? {
        let (status, body) = try await send(.GET, objectPath, deadline: deadline)
        switch status {
        case 200: return try Self.lease(body, "GET")
        case 404: return nil
        default: throw failure("GET", status: status, body: body)
        }
    }

    /// Creates the Lease holding `record`; nil when someone created it first (409 AlreadyExists).
    func create(_ record: Lease.Record, deadline: Deadline) async throws(Failure) -> Lease? {
        let body = Lease.creationBody(name: name, namespace: namespace, record: record)
        let (status, answer) = try await send(.POST, collectionPath, body: body, deadline: deadline)
        switch status {
        case 200, 201: return try Self.lease(answer, "POST")
        case 409: return nil
        default: throw failure("POST", status: status, body: answer)
        }
    }

    /// Replaces `lease`'s record with `record`; nil when the Lease changed since `lease` was read
    /// (409 Conflict: its resourceVersion is no longer the current one).
    func update(_ lease: Lease, to record: Lease.Record, deadline: Deadline) async throws(Failure) -> Lease? {
        let (status, answer) = try await send(.PUT, objectPath, body: lease.updateBody(record), deadline: deadline)
        switch status {
        case 200: return try Self.lease(answer, "PUT")
        case 409: return nil
        default: throw failure("PUT", status: status, body: answer)
        }
    }

    private func send(_ method: HTTPMethod, _ path: String, body: [UInt8] = [], deadline: Deadline) async throws(Failure)
        -> (status: Int, body: [UInt8])
    {
        do {
            let request = try api.request(method, path: path, userAgent: userAgent, body: body)
            let response = try await client.execute(request, deadline: deadline)
            return (response.status.code, response.body)
        } catch let error as IOError where error.code == .timedOut {
            throw Failure(description: "\(method) lease \(namespace)/\(name): no answer in time")
        } catch {
            throw Failure(description: "\(method) lease \(namespace)/\(name): \(error)")
        }
    }

    private static func lease(_ body: [UInt8], _ method: String) throws(Failure) -> Lease {
        do {
            return try Lease.decode(body)
        } catch {
            throw Failure(status: 200, description: "\(method) lease: \(error)")
        }
    }

    /// A status the elector does not expect, with the API server's message.
    private func failure(_ method: String, status: Int, body: [UInt8]) -> Failure {
        Failure("\(method) lease \(namespace)/\(name)", status: status, body: body,
                rbacHint: "the webhook needs RBAC get, create and update on leases in its namespace")
    }
}
