import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `coordination.k8s.io/v1` Lease as leader election reads and writes it: the spec fields of
/// the election record, `metadata.resourceVersion` (the condition of the next update), and the
/// object as received, so that an update replaces those spec fields and keeps everything else
/// (labels, annotations, owner references, fields of later API versions).
///
/// Leases are read and written every few seconds, never on the admission path: Foundation's
/// JSONSerialization is fast enough.
struct Lease: Sendable, Equatable {
    /// The election record: the spec fields client-go's leader election reads and writes.
    struct Record: Sendable, Equatable {
        /// The holder's identity; "" when nobody holds it (released).
        var holderIdentity = ""
        /// How long after a change of the record, by a candidate's own clock, the lease expires.
        var leaseDurationSeconds = 0
        /// When the holder acquired it (RFC 3339 with microseconds), as the holder wrote it.
        var acquireTime: String?
        /// When the holder last renewed it, as the holder wrote it; never compared across clocks.
        var renewTime: String?
        /// How often it passed from one holder to another.
        var leaseTransitions = 0
    }

    /// What is wrong with a body.
    struct DecodingError: Error, CustomStringConvertible {
        let description: String
    }

    /// `metadata.name`.
    var name: String
    /// `metadata.resourceVersion`: an update is applied only if the Lease still has this version.
    var resourceVersion: String
    /// The election record in `spec`.
    var record: Record
    /// The object as received, the base of an update.
    private var object: [UInt8]

    /// The Lease in a 200 or 201 body.
    static func decode(_ body: [UInt8]) throws(DecodingError) -> Lease {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw DecodingError(description: "Lease body is not a JSON object")
        }
        if let kind = object["kind"], kind as? String != "Lease" { throw DecodingError(description: "kind is \(kind), not Lease") }
        guard let metadata = object["metadata"] as? [String: Any], let name = metadata["name"] as? String,
              let resourceVersion = metadata["resourceVersion"] as? String, !resourceVersion.isEmpty
        else { throw DecodingError(description: "Lease without metadata.name or metadata.resourceVersion") }
        var record = Record()
        if let spec = object["spec"], !(spec is NSNull) {
            guard let spec = spec as? [String: Any] else { throw DecodingError(description: "Lease spec is not an object") }
            record.holderIdentity = try field(spec, "holderIdentity") ?? ""
            record.leaseDurationSeconds = try field(spec, "leaseDurationSeconds") ?? 0
            record.acquireTime = try field(spec, "acquireTime")
            record.renewTime = try field(spec, "renewTime")
            record.leaseTransitions = try field(spec, "leaseTransitions") ?? 0
        }
        return Lease(name: name, resourceVersion: resourceVersion, record: record, object: body)
    }

    /// `spec[name]` as a `T`; nil when absent or null.
    private static func field<T>(_ spec: [String: Any], _ name: String) throws(DecodingError) -> T? {
        guard let value = spec[name], !(value is NSNull) else { return nil }
        guard let typed = value as? T else { throw DecodingError(description: "Lease spec.\(name) is not a \(T.self)") }
        return typed
    }

    /// The body of a POST creating Lease `name` in `namespace` holding `record`.
    static func creationBody(name: String, namespace: String, record: Record) -> [UInt8] {
        encode([
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": ["name": name, "namespace": namespace],
            "spec": specFields(record, into: [:]),
        ])
    }

    /// The body of a PUT replacing this Lease's election record with `record`: the object as
    /// received, whose `metadata.resourceVersion` makes the API server refuse it (409 Conflict)
    /// if anyone changed the Lease since.
    func updateBody(_ record: Record) -> [UInt8] {
        var object = (try? JSONSerialization.jsonObject(with: Data(object)) as? [String: Any]) ?? [:]
        object["spec"] = Self.specFields(record, into: object["spec"] as? [String: Any] ?? [:])
        return Self.encode(object)
    }

    private static func specFields(_ record: Record, into spec: [String: Any]) -> [String: Any] {
        var spec = spec
        spec["holderIdentity"] = record.holderIdentity
        spec["leaseDurationSeconds"] = record.leaseDurationSeconds
        spec["acquireTime"] = record.acquireTime
        spec["renewTime"] = record.renewTime
        spec["leaseTransitions"] = record.leaseTransitions
        return spec
    }

    private static func encode(_ object: [String: Any]) -> [UInt8] {
        // Built from JSON values only: serialising cannot fail.
        [UInt8]((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// The current time as a Kubernetes MicroTime: RFC 3339 in UTC with exactly six fractional
    /// digits (the API server parses Go's "2006-01-02T15:04:05.000000Z07:00", nothing shorter).
    static func microTime() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return microTime(secondsSinceEpoch: now.tv_sec, microseconds: Int(now.tv_nsec / 1000))
    }

    /// `secondsSinceEpoch` plus `microseconds` as a MicroTime.
    static func microTime(secondsSinceEpoch: Int, microseconds: Int) -> String {
        RFC3339Time.format(secondsSinceEpoch: secondsSinceEpoch, fraction: microseconds, fractionDigits: 6)
    }
}
