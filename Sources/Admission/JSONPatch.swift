/// A JSON Patch document (RFC 6902) written straight to bytes as operations are added.
///
/// The mutation only ever adds, so `add` is the only operation. Paths are built from fixed
/// tokens and array indexes, never from user data, so no JSON Pointer escaping is needed.
public struct JSONPatch: ~Copyable {
    private var writer = JSONWriter(capacity: 2048)
    /// How many operations the patch holds.
    public private(set) var operationCount = 0

    /// An empty patch.
    public init() {
        writer.raw("[")
    }

    /// Whether the patch holds no operation.
    public var isEmpty: Bool { operationCount == 0 }

    /// The JSON text of the patch: an array of operations.
    public var bytes: [UInt8] {
        writer.bytes(appending: UInt8(ascii: "]"))
    }

    /// Adds `{"op":"add","path":"<prefix><index><suffix>","value":…}`, the value written by `value`.
    mutating func add(_ prefix: StaticString, index: Int? = nil, _ suffix: StaticString = "",
                      value: (inout JSONWriter) -> Void) {
        writer.raw(operationCount == 0 ? "{\"op\":\"add\",\"path\":\"" : ",{\"op\":\"add\",\"path\":\"")
        writer.raw(prefix)
        if let index { writer.integer(index) }
        writer.raw(suffix)
        writer.raw("\",\"value\":")
        value(&writer)
        writer.raw("}")
        operationCount += 1
    }
}
