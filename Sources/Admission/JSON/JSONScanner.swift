import CJSONScan
import Glibc

/// Why a byte sequence is not an acceptable JSON document, and where the scanner stopped.
struct JSONSyntaxError: Error, Equatable, CustomStringConvertible {
    /// Byte offset of the offending input.
    var offset: Int
    /// What was wrong, in a few words.
    var reason: String

    var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A strict, single-pass, non-allocating JSON cursor over borrowed bytes (RFC 8259).
///
/// The caller walks the document top-down: `beginObject`/`nextMember` and
/// `beginArray`/`nextElement` step through containers, `readString` returns a
/// lazily decoded `JSONString`, and `skipValue` validates and steps over anything the caller
/// does not need. Strings are checked for valid escapes, control characters and UTF-8; `finish`
/// rejects trailing bytes. Nesting deeper than `maximumDepth` is an error, so hostile input cannot
/// exhaust the stack. The bytes must stay valid while the scanner and the `JSONString`s it
/// returned are used.
///
/// Hot loops work on a local index and store `offset` back once: the compiler cannot keep a
/// field of an `inout` struct in a register across a loop.
struct JSONScanner {
    /// The deepest nesting of objects and arrays accepted.
    static let maximumDepth = 64

    /// Progress through one object or array: whether the next member is the first.
    struct Container {
        fileprivate var isFirst = true
    }

    /// What the next value is, judged by its first byte.
    enum ValueKind {
        case object, array, string, number, bool, null
    }

    private let base: UnsafePointer<UInt8>
    private let end: Int
    /// Index of the next byte to look at.
    private(set) var offset = 0
    private var depth = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        // An empty buffer may have no address; nothing is ever read from it then.
        base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)!
        end = bytes.count
    }

    // MARK: - Structure

    /// Consumes `{` and enters the object.
    @inline(__always)
    mutating func beginObject() throws(JSONSyntaxError) -> Container {
        try expectOpening(UInt8(ascii: "{"), "expected an object")
        return Container()
    }

    /// The key of the next member (the cursor is then on its value), or nil after consuming `}`.
    @inline(__always)
    mutating func nextMember(_ container: inout Container) throws(JSONSyntaxError) -> JSONString? {
        guard try continueContainer(&container, closing: UInt8(ascii: "}")) else { return nil }
        var index = offset
        defer { offset = index }
        guard index < end, base[index] == UInt8(ascii: "\"") else { throw JSONSyntaxError(offset: index, reason: "expected a string") }
        index += 1
        let start = index
        let hasEscapes = try scanStringContent(from: &index)
        let key = JSONString(bytes: UnsafeRawBufferPointer(start: base + start, count: index - 1 - start), hasEscapes: hasEscapes)
        index = skipWhitespace(from: index)
        guard index < end, base[index] == UInt8(ascii: ":") else { throw JSONSyntaxError(offset: index, reason: "expected ':'") }
        index += 1
        return key
    }

    /// Consumes `[` and enters the array.
    @inline(__always)
    mutating func beginArray() throws(JSONSyntaxError) -> Container {
        try expectOpening(UInt8(ascii: "["), "expected an array")
        return Container()
    }

    /// True when another element follows (the cursor is then on it), false after consuming `]`.
    @inline(__always)
    mutating func nextElement(_ container: inout Container) throws(JSONSyntaxError) -> Bool {
        try continueContainer(&container, closing: UInt8(ascii: "]"))
    }

    /// The kind of the next value, without consuming it.
    @inline(__always)
    mutating func peekKind() throws(JSONSyntaxError) -> ValueKind {
        offset = skipWhitespace(from: offset)
        guard offset < end else { throw error("unexpected end of input") }
        switch base[offset] {
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw error("unexpected character")
        }
    }

    /// Consumes a `null` if one is next and says so.
    @inline(__always)
    mutating func consumeNull() throws(JSONSyntaxError) -> Bool {
        guard try peekKind() == .null else { return false }
        try expectLiteral("null", at: &offset)
        return true
    }

    /// Validates and steps over the next value of any kind.
    ///
    /// A string right at the cursor, the most common value skipped inside a pod, is scanned
    /// inline; anything else goes to `skipSubtree`.
    @inline(__always)
    mutating func skipValue() throws(JSONSyntaxError) {
        var index = offset
        guard index < end, base[index] == UInt8(ascii: "\"") else { return try skipSubtree() }
        index &+= 1
        defer { offset = index }
        _ = try scanStringContent(from: &index)
    }

    /// Validates and steps over the next value of any kind.
    ///
    /// One loop over the bytes, the open containers kept as bits (1: object, 0: array), so
    /// skipping a subtree costs no call per token.
    private mutating func skipSubtree() throws(JSONSyntaxError) {
        var index = offset
        defer { offset = index }
        var kinds: UInt64 = 0
        var level = 0
        var expectingValue = true
        while true {
            index = skipWhitespace(from: index)
            guard index < end else { throw JSONSyntaxError(offset: index, reason: "unexpected end of input") }
            let byte = base[index]
            if expectingValue {
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    _ = try scanStringContent(from: &index)
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    guard depth + level < Self.maximumDepth else {
                        throw JSONSyntaxError(offset: index, reason: "nesting deeper than \(Self.maximumDepth)")
                    }
                    let isObject = byte == UInt8(ascii: "{")
                    index = skipWhitespace(from: index + 1)
                    if index < end, base[index] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                        index += 1 // empty container: a complete value
                    } else {
                        kinds = kinds << 1 | (isObject ? 1 : 0)
                        level += 1
                        if isObject { try scanKey(from: &index) }
                        continue
                    }
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    try skipNumber(from: &index)
                case UInt8(ascii: "t"):
                    try expectLiteral("true", at: &index)
                case UInt8(ascii: "f"):
                    try expectLiteral("false", at: &index)
                case UInt8(ascii: "n"):
                    try expectLiteral("null", at: &index)
                default:
                    throw JSONSyntaxError(offset: index, reason: "unexpected character")
                }
                if level == 0 { return }
                expectingValue = false
            } else {
                let inObject = kinds & 1 == 1
                if byte == UInt8(ascii: ",") {
                    index += 1
                    if inObject {
                        try scanKey(from: &index)
                    } else {
                        index = skipWhitespace(from: index)
                        if index < end, base[index] == UInt8(ascii: "]") {
                            throw JSONSyntaxError(offset: index, reason: "trailing comma")
                        }
                    }
                    expectingValue = true
                } else if byte == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    index += 1
                    kinds >>= 1
                    level -= 1
                    if level == 0 { return }
                } else {
                    throw JSONSyntaxError(offset: index, reason: "expected ',' or a closing bracket")
                }
            }
        }
    }

    /// Requires that only whitespace is left.
    mutating func finish() throws(JSONSyntaxError) {
        offset = skipWhitespace(from: offset)
        guard offset == end else { throw error("trailing characters after the document") }
    }

    /// A syntax error at the current offset.
    func error(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: offset, reason: reason)
    }

    // MARK: - Strings

    /// Reads a string, validating it, without decoding it.
    @inline(__always)
    mutating func readString() throws(JSONSyntaxError) -> JSONString {
        var index = skipWhitespace(from: offset)
        guard index < end, base[index] == UInt8(ascii: "\"") else {
            offset = index
            throw error("expected a string")
        }
        index += 1
        let start = index
        let hasEscapes = try scanStringContent(from: &index)
        offset = index
        return JSONString(bytes: UnsafeRawBufferPointer(start: base + start, count: index - 1 - start), hasEscapes: hasEscapes)
    }

    /// Reads a string, or nil for `null`.
    @inline(__always)
    mutating func readOptionalString() throws(JSONSyntaxError) -> JSONString? {
        if try consumeNull() { return nil }
        return try readString()
    }

    /// Steps over `"key"` and the `:` after it.
    @inline(__always)
    private func scanKey(from index: inout Int) throws(JSONSyntaxError) {
        index = skipWhitespace(from: index)
        guard index < end, base[index] == UInt8(ascii: "\"") else {
            let trailingComma = index < end && base[index] == UInt8(ascii: "}")
            throw JSONSyntaxError(offset: index, reason: trailingComma ? "trailing comma" : "expected a string")
        }
        index += 1
        _ = try scanStringContent(from: &index)
        index = skipWhitespace(from: index)
        guard index < end, base[index] == UInt8(ascii: ":") else { throw JSONSyntaxError(offset: index, reason: "expected ':'") }
        index += 1
    }

    /// Validates string content from `index` (just after the opening quote) and leaves `index`
    /// just after the closing quote. Returns whether the string contains escapes.
    ///
    /// Sixteen bytes at a time (`CJSONScan_findStringSpecial`, SSE2): plain ASCII is skipped up to
    /// the next quote, backslash, control character or non-ASCII byte, which is handled here.
    @inline(__always)
    private func scanStringContent(from index: inout Int) throws(JSONSyntaxError) -> Bool {
        var hasEscapes = false
        while true {
            index = CJSONScan_findStringSpecial(base, index, end)
            guard index < end else { throw JSONSyntaxError(offset: index, reason: "unterminated string") }
            let byte = base[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return hasEscapes
            } else if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                try skipEscape(at: &index)
            } else if byte >= 0x80 {
                try skipUTF8Sequence(at: &index)
            } else if byte < 0x20 {
                throw JSONSyntaxError(offset: index, reason: "control character in string")
            } else {
                index += 1
            }
        }
    }

    /// Validates one escape sequence starting at the backslash.
    private func skipEscape(at index: inout Int) throws(JSONSyntaxError) {
        guard index + 1 < end else { throw JSONSyntaxError(offset: index, reason: "unterminated escape") }
        switch base[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
        case UInt8(ascii: "u"):
            guard index + 6 <= end else { throw JSONSyntaxError(offset: index, reason: "unterminated \\u escape") }
            for digit in index + 2..<index + 6 where JSONString.hexValue(base[digit]) == nil {
                throw JSONSyntaxError(offset: digit, reason: "bad hex digit in \\u escape")
            }
            index += 6
        default:
            throw JSONSyntaxError(offset: index, reason: "bad escape")
        }
    }

    /// Validates one multi-byte UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
    /// nothing above U+10FFFF) and steps over it.
    private func skipUTF8Sequence(at index: inout Int) throws(JSONSyntaxError) {
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch base[index] {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw JSONSyntaxError(offset: index, reason: "invalid UTF-8")
        }
        guard index + length <= end, secondRange.contains(base[index + 1]) else {
            throw JSONSyntaxError(offset: index, reason: "invalid UTF-8")
        }
        for continuation in index + 2..<index + length where base[continuation] & 0xC0 != 0x80 {
            throw JSONSyntaxError(offset: index, reason: "invalid UTF-8")
        }
        index += length
    }

    // MARK: - Scalars

    private func skipNumber(from index: inout Int) throws(JSONSyntaxError) {
        if base[index] == UInt8(ascii: "-") { index += 1 }
        guard index < end, Self.isDigit(base[index]) else { throw JSONSyntaxError(offset: index, reason: "bad number") }
        if base[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < end, Self.isDigit(base[index]) { index += 1 }
        }
        if index < end, base[index] == UInt8(ascii: ".") {
            index += 1
            guard index < end, Self.isDigit(base[index]) else { throw JSONSyntaxError(offset: index, reason: "bad number fraction") }
            while index < end, Self.isDigit(base[index]) { index += 1 }
        }
        if index < end, base[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < end, base[index] == UInt8(ascii: "+") || base[index] == UInt8(ascii: "-") { index += 1 }
            guard index < end, Self.isDigit(base[index]) else { throw JSONSyntaxError(offset: index, reason: "bad number exponent") }
            while index < end, Self.isDigit(base[index]) { index += 1 }
        }
    }

    @inline(__always)
    private static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    @inline(__always)
    private func expectLiteral(_ literal: StaticString, at index: inout Int) throws(JSONSyntaxError) {
        let length = literal.utf8CodeUnitCount
        guard index + length <= end, memcmp(base + index, literal.utf8Start, length) == 0 else {
            throw JSONSyntaxError(offset: index, reason: "bad literal")
        }
        index += length
    }

    // MARK: - Helpers

    /// The index of the first non-whitespace byte at or after `index`.
    @inline(__always)
    private func skipWhitespace(from index: Int) -> Int {
        var index = index
        while index < end {
            switch base[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return index
            }
        }
        return index
    }

    @inline(__always)
    private mutating func expectOpening(_ opening: UInt8, _ reason: String) throws(JSONSyntaxError) {
        offset = skipWhitespace(from: offset)
        guard offset < end, base[offset] == opening else { throw error(reason) }
        guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth)") }
        depth += 1
        offset += 1
    }

    @inline(__always)
    private mutating func continueContainer(_ container: inout Container, closing: UInt8) throws(JSONSyntaxError) -> Bool {
        offset = skipWhitespace(from: offset)
        guard offset < end else { throw error("unexpected end of input") }
        if base[offset] == closing {
            offset += 1
            depth -= 1
            return false
        }
        if container.isFirst {
            container.isFirst = false
            return true
        }
        guard base[offset] == UInt8(ascii: ",") else { throw error("expected ',' or a closing bracket") }
        offset += 1
        offset = skipWhitespace(from: offset)
        guard offset < end, base[offset] != closing else { throw error("trailing comma") }
        return true
    }
}
