import Glibc

/// A JSON string as it appears in the document (without the quotes), decoded only on demand.
///
/// The scanner has already validated its escapes. It borrows the scanned bytes: use it only
/// while they are alive. Comparisons with plain keys avoid decoding when the string has no escapes.
struct JSONString {
    /// The raw bytes between the quotes.
    let bytes: UnsafeRawBufferPointer
    /// Whether the raw bytes contain a backslash escape.
    let hasEscapes: Bool

    /// The decoded value. Lone UTF-16 surrogates in `\u` escapes and invalid UTF-8 become U+FFFD.
    var value: String {
        if !hasEscapes { return String(decoding: bytes, as: UTF8.self) }
        return String(decoding: unescapedBytes(), as: UTF8.self)
    }

    /// Whether the decoded value equals `literal`.
    func equals(_ literal: StaticString) -> Bool {
        equals(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Whether the decoded value equals the UTF-8 bytes `other`.
    func equals(_ other: [UInt8]) -> Bool {
        other.withUnsafeBytes { equals($0) }
    }

    /// Whether the decoded value equals the UTF-8 bytes `other`.
    func equals(_ other: UnsafeRawBufferPointer) -> Bool {
        if hasEscapes {
            return unescapedBytes().withUnsafeBytes { Self.same($0, other) }
        }
        return Self.same(bytes, other)
    }

    /// Whether the decoded value starts with `literal`.
    func hasPrefix(_ literal: StaticString) -> Bool {
        if hasEscapes { return value.utf8.starts(with: UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)) }
        let length = literal.utf8CodeUnitCount
        return bytes.count >= length && memcmp(bytes.baseAddress!, literal.utf8Start, length) == 0
    }

    private static func same(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        guard lhs.count == rhs.count else { return false }
        guard lhs.count > 0 else { return true }
        return memcmp(lhs.baseAddress!, rhs.baseAddress!, lhs.count) == 0
    }

    /// The UTF-8 bytes of the decoded value.
    func unescapedBytes() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                index += 1
                continue
            }
            let escape = bytes[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hexQuad(at: index)
                index += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    if index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
                       case let low = hexQuad(at: index + 2), (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        index += 6
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00..<0xE000).contains(scalar) {
                    scalar = 0xFFFD
                }
                Self.appendUTF8(scalar, to: &output)
            default: output.append(escape) // `"`, `\` and `/` stand for themselves
            }
        }
        return output
    }

    private func hexQuad(at index: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in index..<index + 4 {
            value = value << 4 | UInt32(Self.hexValue(bytes[offset]) ?? 0)
        }
        return value
    }

    /// The value of one hexadecimal digit, or nil.
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func appendUTF8(_ scalar: UInt32, to output: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            output.append(UInt8(scalar))
        case 0x80..<0x800:
            output.append(UInt8(0xC0 | scalar >> 6))
            output.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            output.append(UInt8(0xE0 | scalar >> 12))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        default:
            output.append(UInt8(0xF0 | scalar >> 18))
            output.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
