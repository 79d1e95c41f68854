/// The fields the informer reads from one object of a LIST page or a watch event: a
/// ServiceAccount's identity, resourceVersion and kept annotations, or a `Status`'s code and
/// message (an `ERROR` event). Everything else is validated and skipped.
struct WatchedObject {
    var namespace: String?
    var name: String?
    var resourceVersion: String?
    var annotations: [String: String] = [:]
    /// `code` of a Status.
    var code: Int?
    /// `message` of a Status.
    var message: String?

    /// The ServiceAccount this object describes; throws when it lacks a name or namespace.
    func serviceAccount() throws(ServiceAccountDecodingError) -> ServiceAccount {
        guard let namespace, !namespace.isEmpty, let name, !name.isEmpty else {
            throw ServiceAccountDecodingError("a ServiceAccount without metadata.namespace or metadata.name")
        }
        return ServiceAccount(namespace: namespace, name: name, annotations: annotations,
                              resourceVersion: resourceVersion.flatMap(ServiceAccount.orderedVersion))
    }

    /// Decodes the object the scanner is on. `bytes` is the document the scanner walks (to read numbers).
    static func decode(
        from scanner: inout JSONScanner, in bytes: UnsafeRawBufferPointer, keeping filter: ServiceAccountAnnotationFilter
    ) throws(JSONSyntaxError) -> WatchedObject {
        var object = WatchedObject()
        var members = try scanner.beginObject()
        while let key = try scanner.nextMember(&members) {
            if key.equals("metadata") {
                try object.decodeMetadata(from: &scanner, keeping: filter)
            } else if key.equals("code") {
                object.code = try readInteger(from: &scanner, in: bytes)
            } else if key.equals("message") {
                object.message = try scanner.readOptionalString()?.value
            } else {
                try scanner.skipValue()
            }
        }
        return object
    }

    private mutating func decodeMetadata(from scanner: inout JSONScanner, keeping filter: ServiceAccountAnnotationFilter) throws(JSONSyntaxError) {
        if try scanner.consumeNull() { return }
        var members = try scanner.beginObject()
        while let key = try scanner.nextMember(&members) {
            if key.equals("name") {
                name = try scanner.readOptionalString()?.value
            } else if key.equals("namespace") {
                namespace = try scanner.readOptionalString()?.value
            } else if key.equals("resourceVersion") {
                resourceVersion = try scanner.readOptionalString()?.value
            } else if key.equals("annotations") {
                if try scanner.consumeNull() { continue }
                var annotationMembers = try scanner.beginObject()
                while let annotation = try scanner.nextMember(&annotationMembers) {
                    let value = try scanner.readString()
                    let name = annotation.value
                    if filter.keeps(name) { annotations[name] = value.value }
                }
            } else {
                try scanner.skipValue()
            }
        }
    }

    /// The integer at the cursor, or nil for a number that is not one (or another kind of value).
    static func readInteger(from scanner: inout JSONScanner, in bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> Int? {
        guard try scanner.peekKind() == .number else {
            try scanner.skipValue()
            return nil
        }
        let start = scanner.offset
        try scanner.skipValue()
        return Int(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<scanner.offset]), as: UTF8.self))
    }
}

/// A LIST page or watch event the informer cannot use; the message says what is wrong.
public struct ServiceAccountDecodingError: Error, CustomStringConvertible, Equatable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
