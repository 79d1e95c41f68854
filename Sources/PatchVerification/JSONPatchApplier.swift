/// An RFC 6902 JSON Patch applier, used to check that the webhook's patch applies to the pod it
/// was computed for (as the kube-apiserver would apply it).
public enum JSONPatchApplier {
    /// Why a patch does not apply, naming the operation.
    public struct ApplyError: Error, CustomStringConvertible, Equatable {
        public let operationIndex: Int
        public let message: String
        public var description: String { "patch operation \(operationIndex): \(message)" }
    }

    /// `document` with every operation of `patch` (a JSON array) applied in order.
    public static func apply(_ patch: JSONValue, to document: JSONValue) throws(ApplyError) -> JSONValue {
        guard case let .array(operations) = patch else { throw ApplyError(operationIndex: -1, message: "patch is not an array") }
        var result = document
        for (index, operation) in operations.enumerated() {
            do {
                result = try applyOperation(operation, to: result)
            } catch {
                throw ApplyError(operationIndex: index, message: error.message)
            }
        }
        return result
    }

    private struct Failure: Error { let message: String }

    private static func applyOperation(_ operation: JSONValue, to document: JSONValue) throws(Failure) -> JSONValue {
        guard let op = operation["op"]?.stringValue else { throw Failure(message: "missing op") }
        guard let pathText = operation["path"]?.stringValue else { throw Failure(message: "missing path") }
        let path = try pointer(pathText)
        switch op {
        case "add":
            guard let value = operation["value"] else { throw Failure(message: "add without value") }
            return try add(value, at: path[...], in: document)
        case "remove":
            return try remove(at: path[...], in: document).document
        case "replace":
            guard let value = operation["value"] else { throw Failure(message: "replace without value") }
            let removed = try remove(at: path[...], in: document).document
            return try add(value, at: path[...], in: removed)
        case "move", "copy":
            guard let fromText = operation["from"]?.stringValue else { throw Failure(message: "\(op) without from") }
            let from = try pointer(fromText)
            if op == "move" {
                if path.count > from.count, Array(path.prefix(from.count)) == from {
                    throw Failure(message: "move into its own child")
                }
                let (removed, value) = try remove(at: from[...], in: document)
                return try add(value, at: path[...], in: removed)
            }
            return try add(try value(at: from[...], in: document), at: path[...], in: document)
        case "test":
            guard let expected = operation["value"] else { throw Failure(message: "test without value") }
            guard try value(at: path[...], in: document) == expected else { throw Failure(message: "test failed at \(pathText)") }
            return document
        default:
            throw Failure(message: "unknown op \(op)")
        }
    }

    /// The reference tokens of an RFC 6901 JSON Pointer.
    private static func pointer(_ text: String) throws(Failure) -> [String] {
        if text.isEmpty { return [] }
        guard text.hasPrefix("/") else { throw Failure(message: "pointer \(text) does not start with /") }
        var tokens: [String] = []
        for raw in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            var token = ""
            var characters = raw.makeIterator()
            while let character = characters.next() {
                guard character == "~" else { token.append(character); continue }
                switch characters.next() {
                case "0": token.append("~")
                case "1": token.append("/")
                default: throw Failure(message: "bad escape in pointer \(text)")
                }
            }
            tokens.append(token)
        }
        return tokens
    }

    private static func arrayIndex(_ token: String, count: Int, allowEnd: Bool) throws(Failure) -> Int {
        if allowEnd, token == "-" { return count }
        guard let index = Int(token), index >= 0, String(index) == token else { throw Failure(message: "bad array index \(token)") }
        guard index < count || (allowEnd && index == count) else { throw Failure(message: "array index \(index) out of range") }
        return index
    }

    private static func value(at path: ArraySlice<String>, in document: JSONValue) throws(Failure) -> JSONValue {
        guard let token = path.first else { return document }
        switch document {
        case let .object(members):
            guard let member = members.first(where: { $0.0 == token }) else { throw Failure(message: "no member \(token)") }
            return try value(at: path.dropFirst(), in: member.1)
        case let .array(elements):
            return try value(at: path.dropFirst(), in: elements[try arrayIndex(token, count: elements.count, allowEnd: false)])
        default:
            throw Failure(message: "cannot descend into a scalar at \(token)")
        }
    }

    private static func add(_ newValue: JSONValue, at path: ArraySlice<String>, in document: JSONValue) throws(Failure) -> JSONValue {
        guard let token = path.first else { return newValue }
        let isLast = path.count == 1
        switch document {
        case var .object(members):
            if let index = members.firstIndex(where: { $0.0 == token }) {
                members[index].1 = isLast ? newValue : try add(newValue, at: path.dropFirst(), in: members[index].1)
            } else {
                guard isLast else { throw Failure(message: "no member \(token)") }
                members.append((token, newValue))
            }
            return .object(members)
        case var .array(elements):
            let index = try arrayIndex(token, count: elements.count, allowEnd: isLast)
            if isLast {
                elements.insert(newValue, at: index)
            } else {
                elements[index] = try add(newValue, at: path.dropFirst(), in: elements[index])
            }
            return .array(elements)
        default:
            throw Failure(message: "cannot add into a scalar at \(token)")
        }
    }

    private static func remove(at path: ArraySlice<String>, in document: JSONValue) throws(Failure) -> (document: JSONValue, removed: JSONValue) {
        guard let token = path.first else { throw Failure(message: "cannot remove the whole document") }
        let isLast = path.count == 1
        switch document {
        case var .object(members):
            guard let index = members.firstIndex(where: { $0.0 == token }) else { throw Failure(message: "no member \(token)") }
            if isLast { return (.object(members.filter { $0.0 != token }), members[index].1) }
            let (child, removed) = try remove(at: path.dropFirst(), in: members[index].1)
            members[index].1 = child
            return (.object(members), removed)
        case var .array(elements):
            let index = try arrayIndex(token, count: elements.count, allowEnd: false)
            if isLast {
                let removed = elements.remove(at: index)
                return (.array(elements), removed)
            }
            let (child, removed) = try remove(at: path.dropFirst(), in: elements[index])
            elements[index] = child
            return (.array(elements), removed)
        default:
            throw Failure(message: "cannot remove from a scalar at \(token)")
        }
    }
}
