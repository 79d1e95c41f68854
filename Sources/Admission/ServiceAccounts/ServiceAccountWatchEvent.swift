/// One event of a ServiceAccount watch stream: a line `{"type":…,"object":…}` as the API server
/// sends it (`watch=1`).
enum ServiceAccountWatchEvent: Equatable {
    /// ADDED or MODIFIED: the account as it now is.
    case upserted(ServiceAccount, resourceVersion: String)
    /// DELETED: the account as it was last.
    case deleted(ServiceAccount, resourceVersion: String)
    /// BOOKMARK: nothing changed up to this version; resume from it.
    case bookmark(resourceVersion: String)
    /// ERROR: a Status; code 410 means the version watched from is too old (list again).
    case error(code: Int?, message: String)

    /// Decodes one event line, keeping the annotations `filter` keeps.
    static func decode(_ line: UnsafeRawBufferPointer, keeping filter: ServiceAccountAnnotationFilter)
        throws(ServiceAccountDecodingError) -> (type: String, event: ServiceAccountWatchEvent)
    {
        var type: String?
        var object: WatchedObject?
        do {
            var scanner = JSONScanner(line)
            var members = try scanner.beginObject()
            while let key = try scanner.nextMember(&members) {
                if key.equals("type") {
                    type = try scanner.readString().value
                } else if key.equals("object") {
                    object = try WatchedObject.decode(from: &scanner, in: line, keeping: filter)
                } else {
                    try scanner.skipValue()
                }
            }
            try scanner.finish()
        } catch {
            throw ServiceAccountDecodingError("watch event: \(error)")
        }
        guard let type, let object else { throw ServiceAccountDecodingError("watch event without type or object") }
        switch type {
        case "ADDED", "MODIFIED", "DELETED":
            guard let resourceVersion = object.resourceVersion else {
                throw ServiceAccountDecodingError("\(type) event without metadata.resourceVersion")
            }
            let account = try object.serviceAccount()
            return (type, type == "DELETED" ? .deleted(account, resourceVersion: resourceVersion) : .upserted(account, resourceVersion: resourceVersion))
        case "BOOKMARK":
            guard let resourceVersion = object.resourceVersion else {
                throw ServiceAccountDecodingError("BOOKMARK event without metadata.resourceVersion")
            }
            return (type, .bookmark(resourceVersion: resourceVersion))
        case "ERROR":
            return (type, .error(code: object.code, message: object.message ?? ""))
        default:
            throw ServiceAccountDecodingError("unknown watch event type \(type)")
        }
    }
}
