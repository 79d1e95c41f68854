/// RFC 6902 JSON Patch, applied to a `JSONValue`: written for the tests, independent of the
/// webhook's patch writer. Supports add, remove, replace and test; anything else is an error.
enum JSONPatchApplier {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func apply(_ patch: JSONValue, to document: JSONValue) throws -> JSONValue {
        guard let operations = patch.arrayValue else { throw Failure(description: "patch is not an array") }
        var result = document
        for operation in operations {
            guard let op = operation["op"]?.stringValue, let path = operation["path"]?.stringValue else {
                throw Failure(description: "operation without op or path: \(operation.serialized)")
            }
            let tokens = try pointerTokens(path)
            switch op {
            case "add":
                guard let value = operation["value"] else { throw Failure(description: "add without value") }
                try modify(&result, tokens[...], path: path) { parent, last in try add(value, to: &parent, at: last, path: path) }
            case "remove":
                try modify(&result, tokens[...], path: path) { parent, last in try remove(from: &parent, at: last, path: path) }
            case "replace":
                guard let value = operation["value"] else { throw Failure(description: "replace without value") }
                try modify(&result, tokens[...], path: path) { parent, last in
                    try remove(from: &parent, at: last, path: path)
                    try add(value, to: &parent, at: last, path: path)
                }
            case "test":
                guard try value(at: tokens[...], in: result, path: path) == operation["value"] else {
                    throw Failure(description: "test failed at \(path)")
                }
            default:
                throw Failure(description: "unsupported op \(op)")
            }
        }
        return result
    }

    /// The reference tokens of a JSON Pointer (RFC 6901), unescaped.
    static func pointerTokens(_ pointer: String) throws -> [String] {
        guard pointer.hasPrefix("/") else { throw Failure(description: "pointer \(pointer) must start with /") }
        return pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func modify(_ document: inout JSONValue, _ tokens: ArraySlice<String>, path: String,
                               _ body: (inout JSONValue, String) throws -> Void) throws {
        guard let first = tokens.first else { throw Failure(description: "cannot modify the root") }
        if tokens.count == 1 { return try body(&document, first) }
        switch document {
        case .object(var members):
            guard var child = members[first] else { throw Failure(description: "\(path): no member \(first)") }
            try modify(&child, tokens.dropFirst(), path: path, body)
            members[first] = child
            document = .object(members)
        case .array(var elements):
            guard let index = Int(first), elements.indices.contains(index) else { throw Failure(description: "\(path): bad index \(first)") }
            try modify(&elements[index], tokens.dropFirst(), path: path, body)
            document = .array(elements)
        default:
            throw Failure(description: "\(path): \(first) is inside a scalar")
        }
    }

    private static func add(_ value: JSONValue, to parent: inout JSONValue, at token: String, path: String) throws {
        switch parent {
        case .object(var members):
            members[token] = value
            parent = .object(members)
        case .array(var elements):
            if token == "-" {
                elements.append(value)
            } else {
                guard let index = Int(token), index >= 0, index <= elements.count, String(index) == token else {
                    throw Failure(description: "\(path): bad array index \(token)")
                }
                elements.insert(value, at: index)
            }
            parent = .array(elements)
        default:
            throw Failure(description: "\(path): parent is not a container")
        }
    }

    private static func remove(from parent: inout JSONValue, at token: String, path: String) throws {
        switch parent {
        case .object(var members):
            guard members.removeValue(forKey: token) != nil else { throw Failure(description: "\(path): nothing to remove") }
            parent = .object(members)
        case .array(var elements):
            guard let index = Int(token), elements.indices.contains(index) else { throw Failure(description: "\(path): bad index") }
            elements.remove(at: index)
            parent = .array(elements)
        default:
            throw Failure(description: "\(path): parent is not a container")
        }
    }

    private static func value(at tokens: ArraySlice<String>, in document: JSONValue, path: String) throws -> JSONValue {
        guard let first = tokens.first else { return document }
        switch document {
        case .object(let members):
            guard let child = members[first] else { throw Failure(description: "\(path): no member \(first)") }
            return try value(at: tokens.dropFirst(), in: child, path: path)
        case .array(let elements):
            guard let index = Int(first), elements.indices.contains(index) else { throw Failure(description: "\(path): bad index") }
            return try value(at: tokens.dropFirst(), in: elements[index], path: path)
        default:
            throw Failure(description: "\(path): \(first) is inside a scalar")
        }
    }
}
