import Yams

/// A YAML document as JSON text, as `kubectl` converts manifests: each scalar becomes the JSON
/// type YAML resolves it to (int, float, bool, null; everything else a string), mapping keys
/// become strings, and the order of members is kept.
struct NodeJSON: ~Copyable {
    /// Where each value starts in the text, with its path (`spec.containers[0].env`), in order:
    /// an offset in the text maps back to the field it is in.
    private(set) var locations: [(offset: Int, path: String)] = []
    private var writer = JSONWriter(capacity: 4096)
    private let indent: Int?

    /// `node` as JSON text: compact, or indented by `indent` spaces per level.
    static func text(_ node: Node, indent: Int? = nil) throws(ManifestFieldError) -> [UInt8] {
        var json = NodeJSON(indent: indent)
        try json.write(node, path: "", depth: 0)
        return json.writer.finish()
    }

    /// `node` as compact JSON text and the start of each value in it, by path.
    static func located(_ node: Node) throws(ManifestFieldError) -> (text: [UInt8], locations: [(offset: Int, path: String)]) {
        var json = NodeJSON(indent: nil)
        try json.write(node, path: "", depth: 0)
        let locations = json.locations
        return (json.writer.finish(), locations)
    }

    private init(indent: Int?) {
        self.indent = indent
    }

    /// The path of the innermost value that starts at or before `offset`.
    static func path(at offset: Int, in locations: [(offset: Int, path: String)]) -> String {
        locations.last { $0.offset <= offset }?.path ?? ""
    }

    private mutating func write(_ node: Node, path: String, depth: Int) throws(ManifestFieldError) {
        locations.append((writer.count, path))
        switch node {
        case .scalar(let scalar):
            try writeScalar(scalar, node: node, path: path)
        case .mapping(let mapping):
            writer.raw("{")
            for (index, pair) in mapping.enumerated() {
                guard let key = pair.key.scalar?.string else { throw ManifestFieldError(path, "a mapping key is not a string") }
                if index > 0 { writer.raw(",") }
                newline(depth + 1)
                writer.string(key)
                writer.raw(indent == nil ? ":" : ": ")
                try write(pair.value, path: path.isEmpty ? key : path + "." + key, depth: depth + 1)
            }
            if !mapping.isEmpty { newline(depth) }
            writer.raw("}")
        case .sequence(let sequence):
            writer.raw("[")
            for (index, element) in sequence.enumerated() {
                if index > 0 { writer.raw(",") }
                newline(depth + 1)
                try write(element, path: path + "[\(index)]", depth: depth + 1)
            }
            if !sequence.isEmpty { newline(depth) }
            writer.raw("]")
        case .alias:
            throw ManifestFieldError(path, "an unresolved YAML alias")
        }
    }

    private mutating func writeScalar(_ scalar: Node.Scalar, node: Node, path: String) throws(ManifestFieldError) {
        switch Resolver.default.resolveTag(of: node) {
        case .null:
            writer.raw("null")
        case .bool:
            guard let value = node.bool else { throw ManifestFieldError(path, "not a boolean") }
            writer.raw(value ? "true" : "false")
        case .int:
            guard let value = node.int else { throw ManifestFieldError(path, "\(scalar.string) does not fit a 64-bit integer") }
            writer.integer(value)
        case .float:
            guard let value = node.float, value.isFinite else { throw ManifestFieldError(path, "\(scalar.string) is not a JSON number") }
            writer.raw(ArraySlice(Self.isJSONNumber(scalar.string) ? scalar.string.utf8 : "\(value)".utf8))
        default:
            writer.string(scalar.string)
        }
    }

    private mutating func newline(_ depth: Int) {
        guard let indent else { return }
        writer.raw("\n")
        writer.raw(ArraySlice(repeating: UInt8(ascii: " "), count: depth * indent))
    }

    /// Whether `text` is already a number in JSON's grammar (so it is written as it is).
    private static func isJSONNumber(_ text: String) -> Bool {
        var bytes = text.utf8[...]
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        let digit = { (byte: UInt8) in (0x30...0x39).contains(byte) }
        let integer = bytes.prefix(while: digit)
        guard !integer.isEmpty, integer.count == 1 || integer.first != UInt8(ascii: "0") else { return false }
        bytes = bytes.dropFirst(integer.count)
        if bytes.first == UInt8(ascii: ".") {
            let fraction = bytes.dropFirst().prefix(while: digit)
            guard !fraction.isEmpty else { return false }
            bytes = bytes.dropFirst(1 + fraction.count)
        }
        if let first = bytes.first, first == UInt8(ascii: "e") || first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            let exponent = bytes.prefix(while: digit)
            guard !exponent.isEmpty else { return false }
            bytes = bytes.dropFirst(exponent.count)
        }
        return bytes.isEmpty
    }
}

/// A field of a manifest that cannot be used: where (`spec.template.spec.containers[0]`) and why.
public struct ManifestFieldError: Error, CustomStringConvertible {
    /// The field's path in the document; empty for the document itself.
    public var path: String
    /// What is wrong.
    public var problem: String

    init(_ path: String, _ problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { path.isEmpty ? problem : "\(path): \(problem)" }
}
