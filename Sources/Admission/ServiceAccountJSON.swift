import Foundation

/// Decoding the API server's JSON bodies on the (rare) cache-miss path: a ServiceAccount, or the
/// `message` of a `Status` error. Foundation's JSONSerialization is fast enough here.
enum ServiceAccountJSON {
    /// What is wrong with a body.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Bodies larger than this are refused (a ServiceAccount is a few KiB).
    static let maximumBodyBytes = 1 << 20

    /// The ServiceAccount in `body`, keeping the annotations `filter` keeps. The thrown failure
    /// says what is wrong; the name and namespace must be those of `key`.
    static func decode(_ body: [UInt8], expecting key: ServiceAccountKey, keeping filter: ServiceAccountAnnotationFilter)
        throws(Failure) -> ServiceAccount
    {
        guard body.count <= maximumBodyBytes else { throw .init(description: "body of \(body.count) bytes is too large") }
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                throw Failure(description: "body is not a JSON object")
            }
            object = parsed
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .init(description: "body is not JSON")
        }
        if let kind = object["kind"], kind as? String != "ServiceAccount" {
            throw .init(description: "kind is \(kind), not ServiceAccount")
        }
        guard let metadata = object["metadata"] as? [String: Any] else { throw .init(description: "metadata is missing") }
        guard metadata["name"] as? String == key.name, metadata["namespace"] as? String == key.namespace else {
            throw .init(description: "metadata names \(metadata["namespace"] ?? "?")/\(metadata["name"] ?? "?"), not \(key)")
        }
        var annotations: [String: String] = [:]
        if let raw = metadata["annotations"], !(raw is NSNull) {
            guard let dictionary = raw as? [String: Any] else { throw .init(description: "metadata.annotations is not an object") }
            for (name, value) in dictionary where filter.keeps(name) {
                guard let value = value as? String else { throw .init(description: "annotation \(name) is not a string") }
                annotations[name] = value
            }
        }
        let resourceVersion = (metadata["resourceVersion"] as? String).flatMap(ServiceAccount.orderedVersion)
        return ServiceAccount(namespace: key.namespace, name: key.name, annotations: annotations, resourceVersion: resourceVersion)
    }

    /// The `message` of a Kubernetes `Status` body, shortened; "" when there is none.
    static func statusMessage(_ body: [UInt8]) -> String {
        guard body.count <= maximumBodyBytes,
              let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let message = object["message"] as? String
        else { return "" }
        return message.count > 300 ? String(message.prefix(300)) + "…" : message
    }
}
