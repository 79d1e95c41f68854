/// A JSON document held in memory, with object members in insertion order.
///
/// Order matters here: the load generator's corpus is written the way the kube-apiserver writes
/// it (compact, in Go struct field order), and the patch applier keeps members where they were.
/// Equality is semantic: objects compare as sets of members, numbers by value.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number kept as its source text, so it serializes back byte for byte.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// An integer number.
    public static func int(_ value: Int) -> JSONValue { .number(String(value)) }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
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

    /// The member `key` of an object, or nil. Setting replaces the first member of that name in
    /// place, or appends one; setting nil removes every member of that name. Non-objects ignore sets.
    public subscript(key: String) -> JSONValue? {
        get {
            guard case let .object(members) = self else { return nil }
            return members.first(where: { $0.0 == key })?.1
        }
        set {
            guard case var .object(members) = self else { return }
            if let newValue {
                if let index = members.firstIndex(where: { $0.0 == key }) {
                    members[index].1 = newValue
                } else {
                    members.append((key, newValue))
                }
            } else {
                members.removeAll { $0.0 == key }
            }
            self = .object(members)
        }
    }

    /// The string, or nil when this is not a string.
    public var stringValue: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    /// The elements, or nil when this is not an array.
    public var arrayValue: [JSONValue]? {
        if case let .array(elements) = self { return elements }
        return nil
    }

    /// The members in order, or nil when this is not an object.
    public var objectValue: [(String, JSONValue)]? {
        if case let .object(members) = self { return members }
        return nil
    }

    /// The number as an `Int` when it is an integer that fits, else nil.
    public var intValue: Int? {
        guard case let .number(text) = self else { return nil }
        if let value = Int(text) { return value }
        guard let value = Double(text) else { return nil }
        return Int(exactly: value)
    }

    /// Whether some object, at any depth, holds two members with the same name (RFC 8259
    /// leaves their meaning open, so documents like that have no single patched form).
    public var hasDuplicateMemberNames: Bool {
        switch self {
        case .null, .bool, .number, .string: return false
        case let .array(elements): return elements.contains { $0.hasDuplicateMemberNames }
        case let .object(members):
            var names = Set<String>()
            for (name, value) in members {
                guard names.insert(name).inserted, !value.hasDuplicateMemberNames else { return true }
            }
            return false
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// An object with the members in the literal's order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }
    public init(nilLiteral: ()) { self = .null }
}
