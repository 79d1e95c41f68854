import Admission
import EventLoop

/// Counts the ServiceAccount lookups' requests to the Kubernetes API by status code and records
/// their latency. (The informer's LIST and WATCH and narrowing's writes have their own metrics.)
struct MeasuredKubernetesTransport: KubernetesTransport {
    let inner: any KubernetesTransport
    let metrics: WebhookMetrics

    func get(_ path: String, headers: [(name: String, value: String)], deadline: Deadline) async throws -> KubernetesTransportResponse {
        let start = Deadline.now()
        do {
            let response = try await inner.get(path, headers: headers, deadline: deadline)
            metrics.recordAPIRequest(status: String(response.status), duration: Deadline.now().duration(since: start))
            return response
        } catch {
            metrics.recordAPIRequest(status: "error", duration: Deadline.now().duration(since: start))
            throw error
        }
    }
}
