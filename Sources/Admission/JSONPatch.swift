/// A JSON Patch document (RFC 6902) written straight to bytes as operations are added.
///
/// The mutation only ever adds, so `add` is the only operation. Paths are built from fixed
/// tokens and array indexes, never from user data, so no JSON Pointer escaping is needed.
public struct JSONPatch: ~Copyable {
    private var writer: JSONWriter
    /// How many operations the patch holds.
    public private(set) var operationCount = 0

    /// An empty patch.
    public init() {
        self.init(capacity: 2048)
    }

    /// An empty patch with room for `capacity` bytes before its storage has to grow.
    init(capacity: Int) {
        writer = JSONWriter(capacity: capacity)
        writer.raw("[")
    }

    /// Whether the patch holds no operation.
    public var isEmpty: Bool { operationCount == 0 }

    /// The JSON text of the patch: an array of operations.
    public var bytes: [UInt8] {
        writer.bytes(appending: UInt8(ascii: "]"))
    }

    /// Adds `{"op":"add","path":"<prefix><index><suffix>","value":<value>}`; with `asArray`,
    /// the value is `[<values joined by commas>]`. The values must be JSON text.
    mutating func add(_ prefix: StaticString, index: Int? = nil, _ suffix: StaticString = "",
                      value: ArraySlice<UInt8>) {
        beginAdd(prefix, index, suffix)
        writer.raw(value)
        writer.raw("}")
    }

    /// Adds an operation whose value is the array of `values` (JSON text each).
    mutating func add(_ prefix: StaticString, index: Int? = nil, _ suffix: StaticString = "",
                      arrayOf values: some Sequence<ArraySlice<UInt8>>) {
        beginAdd(prefix, index, suffix)
        writer.raw("[")
        var first = true
        for value in values {
            if !first { writer.raw(",") }
            first = false
            writer.raw(value)
        }
        writer.raw("]}")
    }

    private mutating func beginAdd(_ prefix: StaticString, _ index: Int?, _ suffix: StaticString) {
        writer.raw(operationCount == 0 ? "{\"op\":\"add\",\"path\":\"" : ",{\"op\":\"add\",\"path\":\"")
        writer.raw(prefix)
        if let index { writer.integer(index) }
        writer.raw(suffix)
        writer.raw("\",\"value\":")
        operationCount += 1
    }
}
