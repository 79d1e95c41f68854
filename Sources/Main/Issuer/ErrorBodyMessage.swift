import Foundation

/// The message an HTTP API put in an error body: `message` of a Kubernetes Status, `error` of a
/// Vultr API error; shortened, and "" when the body holds neither.
enum ErrorBodyMessage {
    static func of(_ body: [UInt8]) -> String {
        guard body.count <= 1 << 20,
              let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let message = (object["error"] ?? object["message"]) as? String
        else { return "" }
        return message.count > 300 ? String(message.prefix(300)) + "…" : message
    }
}
