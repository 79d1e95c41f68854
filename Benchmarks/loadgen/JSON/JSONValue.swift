/// A JSON document held in memory, with object members in insertion order.
///
/// Order matters here: the corpus is written the way the kube-apiserver writes it (compact, in
/// Go struct field order), and the patch applier keeps members where they were.
enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number kept as its source text, so it serializes back byte for byte.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// An integer number.
    static func int(_ value: Int) -> JSONValue { .number(String(value)) }

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b || (Double(a) != nil && Double(a) == Double(b))
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            // RFC 6902 `test`: objects are equal when they hold the same members, in any order.
            guard a.count == b.count else { return false }
            for (key, value) in a {
                guard let other = b.first(where: { $0.0 == key }), other.1 == value else { return false }
            }
            return true
        default: return false
        }
    }

    /// The member `key` of an object, or nil.
    subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.first(where: { $0.0 == key })?.1
    }

    /// The string, or nil when this is not a string.
    var stringValue: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    /// The elements, or nil when this is not an array.
    var arrayValue: [JSONValue]? {
        if case let .array(elements) = self { return elements }
        return nil
    }
}
