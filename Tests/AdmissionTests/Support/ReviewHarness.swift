import Foundation
import Testing
@testable import Admission
import PatchVerification

/// Builds AdmissionReview request bodies around raw pod JSON, runs them through an
/// `AdmissionHandler`, checks the response envelope with Foundation, and applies the patch.
enum ReviewHarness {
    /// Fields of the request around the object.
    struct RequestShape {
        var apiVersion = "admission.k8s.io/v1"
        var uid = "5b0c1e2d-aaaa-4bbb-8ccc-0123456789ab"
        var namespace: String? = "default"
        var operation = "CREATE"
        var subResource: String?
        var dryRun = false
    }

    /// A review's answer, checked and decoded.
    struct Reviewed {
        var outcome: AdmissionOutcome
        /// The `response` member, decoded by Foundation.
        var response: [String: Any]
        /// The decoded patch, when there is one.
        var patch: JSONValue?
        /// The object after applying the patch (the object itself when there is none).
        var patched: JSONValue
        var warnings: [String] { response["warnings"] as? [String] ?? [] }
    }

    /// A request body wrapping the raw object JSON text.
    static func body(object: [UInt8], _ shape: RequestShape = RequestShape()) -> [UInt8] {
        var text = "{\"kind\":\"AdmissionReview\",\"apiVersion\":" + JSONValue.string(shape.apiVersion).serialized
        text += ",\"request\":{\"uid\":" + JSONValue.string(shape.uid).serialized
        text += ",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"}"
        if let subResource = shape.subResource { text += ",\"subResource\":" + JSONValue.string(subResource).serialized }
        text += ",\"requestKind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"}"
        if let namespace = shape.namespace { text += ",\"namespace\":" + JSONValue.string(namespace).serialized }
        text += ",\"operation\":" + JSONValue.string(shape.operation).serialized
        text += ",\"userInfo\":{\"username\":\"tester\",\"groups\":[\"system:authenticated\"]},\"object\":"
        var bytes = Array(text.utf8)
        bytes += object
        bytes += Array(",\"oldObject\":null,\"dryRun\":\(shape.dryRun),\"options\":{\"kind\":\"CreateOptions\",\"apiVersion\":\"meta.k8s.io/v1\"}}}".utf8)
        return bytes
    }

    /// Runs `body` through `handler`, checks the envelope, and applies the patch to `object`.
    static func review(_ handler: AdmissionHandler, body: [UInt8], object: JSONValue, shape: RequestShape,
                       sourceLocation: SourceLocation = #_sourceLocation) async throws -> Reviewed {
        let outcome = await handler.review(body)
        try #require(outcome.httpStatus == 200, "status \(outcome.httpStatus): \(String(decoding: outcome.body, as: UTF8.self))", sourceLocation: sourceLocation)
        #expect(outcome.contentType == "application/json", sourceLocation: sourceLocation)
        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(outcome.body)) as? [String: Any], sourceLocation: sourceLocation)
        #expect(envelope["apiVersion"] as? String == shape.apiVersion, sourceLocation: sourceLocation)
        #expect(envelope["kind"] as? String == "AdmissionReview", sourceLocation: sourceLocation)
        #expect(envelope.keys.sorted() == ["apiVersion", "kind", "response"], sourceLocation: sourceLocation)
        let response = try #require(envelope["response"] as? [String: Any], sourceLocation: sourceLocation)
        #expect(response["uid"] as? String == shape.uid, sourceLocation: sourceLocation)
        #expect(outcome.uid == shape.uid, sourceLocation: sourceLocation)
        let allowed = try #require(response["allowed"] as? Bool, sourceLocation: sourceLocation)
        if !allowed {
            let status = try #require(response["status"] as? [String: Any], sourceLocation: sourceLocation)
            #expect(status["message"] is String && status["code"] is Int, sourceLocation: sourceLocation)
        }
        var patch: JSONValue?
        var patched = object
        if let encoded = response["patch"] {
            #expect(response["patchType"] as? String == "JSONPatch", sourceLocation: sourceLocation)
            let base64 = try #require(encoded as? String, sourceLocation: sourceLocation)
            let data = try #require(Data(base64Encoded: base64), "patch is not base64", sourceLocation: sourceLocation)
            let decoded = try JSONParser.parse(Array(data))
            #expect(decoded.arrayValue?.isEmpty == false, "an empty patch must not be sent", sourceLocation: sourceLocation)
            patched = try JSONPatchApplier.apply(decoded, to: object)
            patch = decoded
        } else {
            #expect(response["patchType"] == nil, sourceLocation: sourceLocation)
        }
        return Reviewed(outcome: outcome, response: response, patch: patch, patched: patched)
    }

    /// Reviews `object` (serialized compactly) in a default-shaped request.
    static func review(_ handler: AdmissionHandler, pod object: JSONValue, shape: RequestShape = RequestShape(),
                       sourceLocation: SourceLocation = #_sourceLocation) async throws -> Reviewed {
        try await review(handler, body: body(object: object.bytes, shape), object: object, shape: shape, sourceLocation: sourceLocation)
    }
}

/// A ServiceAccount source that cannot answer, as when the API server is unreachable.
struct UnreachableServiceAccountSource: ServiceAccountSource {
    struct Unreachable: Error, CustomStringConvertible {
        var description: String { "connection refused" }
    }

    func serviceAccount(_ key: ServiceAccountKey) async throws -> ServiceAccount? {
        throw Unreachable()
    }
}
