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
/// Hot loops copy `offset` into a local and store it back once: the compiler cannot keep a
/// field of an `inout` struct in a register across the loop.
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
    mutating func beginObject() throws(JSONSyntaxError) -> Container {
        try expectOpening(UInt8(ascii: "{"), "expected an object")
        return Container()
    }

    /// The key of the next member (the cursor is then on its value), or nil after consuming `}`.
    mutating func nextMember(_ container: inout Container) throws(JSONSyntaxError) -> JSONString? {
        guard try continueContainer(&container, closing: UInt8(ascii: "}")) else { return nil }
        let key = try readString()
        skipWhitespace()
        guard offset < end, base[offset] == UInt8(ascii: ":") else { throw error("expected ':'") }
        offset += 1
        return key
    }

    /// Consumes `[` and enters the array.
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
        skipWhitespace()
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
        try expectLiteral("null")
        return true
    }

    /// Validates and steps over the next value of any kind.
    mutating func skipValue() throws(JSONSyntaxError) {
        switch try peekKind() {
        case .string: try skipString()
        case .object:
            var container = try beginObject()
            while try continueContainer(&container, closing: UInt8(ascii: "}")) {
                try skipString()
                skipWhitespace()
                guard offset < end, base[offset] == UInt8(ascii: ":") else { throw error("expected ':'") }
                offset += 1
                try skipValue()
            }
        case .array:
            var container = try beginArray()
            while try nextElement(&container) { try skipValue() }
        case .number: try skipNumber()
        case .bool: try expectLiteral(base[offset] == UInt8(ascii: "t") ? "true" : "false")
        case .null: try expectLiteral("null")
        }
    }

    /// Requires that only whitespace is left.
    mutating func finish() throws(JSONSyntaxError) {
        skipWhitespace()
        guard offset == end else { throw error("trailing characters after the document") }
    }

    /// A syntax error at the current offset.
    func error(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: offset, reason: reason)
    }

    // MARK: - Strings

    /// Reads a string, validating it, without decoding it.
    mutating func readString() throws(JSONSyntaxError) -> JSONString {
        let (start, hasEscapes) = try scanString()
        return JSONString(bytes: UnsafeRawBufferPointer(start: base + start, count: offset - 1 - start), hasEscapes: hasEscapes)
    }

    /// Reads a string, or nil for `null`.
    mutating func readOptionalString() throws(JSONSyntaxError) -> JSONString? {
        if try consumeNull() { return nil }
        return try readString()
    }

    private mutating func skipString() throws(JSONSyntaxError) {
        _ = try scanString()
    }

    /// Validates the string at the cursor and steps past its closing quote. Returns the index of
    /// its first content byte and whether it contains escapes.
    ///
    /// Eight bytes at a time: a word is skipped when none of its bytes is a quote, a backslash,
    /// a control character or non-ASCII; otherwise the lowest flagged byte is exact (borrows
    /// only propagate towards higher bytes) and is handled on its own.
    private mutating func scanString() throws(JSONSyntaxError) -> (start: Int, hasEscapes: Bool) {
        skipWhitespace()
        guard offset < end, base[offset] == UInt8(ascii: "\"") else { throw error("expected a string") }
        let start = offset + 1
        var index = start
        var hasEscapes = false
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let raw = UnsafeRawPointer(base)
        while true {
            while index + 8 <= end {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let quotes = word ^ (ones &* 0x22)
                let backslashes = word ^ (ones &* 0x5C)
                let special = (((quotes &- ones) & ~quotes)
                    | ((backslashes &- ones) & ~backslashes)
                    | ((word &- ones &* 0x20) & ~word)
                    | word) & highs
                if special != 0 {
                    index += special.trailingZeroBitCount >> 3
                    break
                }
                index += 8
            }
            guard index < end else {
                offset = index
                throw error("unterminated string")
            }
            let byte = base[index]
            if byte == UInt8(ascii: "\"") {
                offset = index + 1
                return (start, hasEscapes)
            } else if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                offset = index
                try skipEscape()
                index = offset
            } else if byte >= 0x80 {
                offset = index
                try skipUTF8Sequence()
                index = offset
            } else if byte < 0x20 {
                offset = index
                throw error("control character in string")
            } else {
                index += 1
            }
        }
    }

    /// Validates one escape sequence starting at the backslash.
    private mutating func skipEscape() throws(JSONSyntaxError) {
        guard offset + 1 < end else { throw error("unterminated escape") }
        switch base[offset + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            offset += 2
        case UInt8(ascii: "u"):
            guard offset + 6 <= end else { throw error("unterminated \\u escape") }
            for index in offset + 2..<offset + 6 where JSONString.hexValue(base[index]) == nil {
                offset = index
                throw error("bad hex digit in \\u escape")
            }
            offset += 6
        default:
            throw error("bad escape")
        }
    }

    /// Validates one multi-byte UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
    /// nothing above U+10FFFF) and steps over it.
    private mutating func skipUTF8Sequence() throws(JSONSyntaxError) {
        let lead = base[offset]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw error("invalid UTF-8")
        }
        guard offset + length <= end, secondRange.contains(base[offset + 1]) else { throw error("invalid UTF-8") }
        for index in offset + 2..<offset + length where base[index] & 0xC0 != 0x80 {
            throw error("invalid UTF-8")
        }
        offset += length
    }

    // MARK: - Scalars

    private mutating func skipNumber() throws(JSONSyntaxError) {
        var index = offset
        defer { offset = index }
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

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let length = literal.utf8CodeUnitCount
        guard offset + length <= end, memcmp(base + offset, literal.utf8Start, length) == 0 else { throw error("bad literal") }
        offset += length
    }

    // MARK: - Helpers

    @inline(__always)
    private mutating func skipWhitespace() {
        var index = offset
        while index < end {
            switch base[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default:
                offset = index
                return
            }
        }
        offset = index
    }

    @inline(__always)
    private mutating func expectOpening(_ opening: UInt8, _ reason: String) throws(JSONSyntaxError) {
        skipWhitespace()
        guard offset < end, base[offset] == opening else { throw error(reason) }
        guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth)") }
        depth += 1
        offset += 1
    }

    @inline(__always)
    private mutating func continueContainer(_ container: inout Container, closing: UInt8) throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
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
        skipWhitespace()
        guard offset < end, base[offset] != closing else { throw error("trailing comma") }
        return true
    }
}
