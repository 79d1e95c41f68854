import CJSONScan

/// Standard base64 (RFC 4648, with padding). Whole 24-byte blocks go through AVX2 when the CPU
/// has it (`CJSONScan_base64EncodeBlocks`); the rest is table-driven: a 4096-entry table maps
/// each 12 bits of input to its two output characters, so six input bytes cost one load, four
/// lookups and one store.
enum Base64 {
    private static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    /// The two characters of every 12-bit value, first character in the low byte.
    private static let pairs: [UInt16] = (0..<4096).map { value in
        UInt16(alphabet.utf8Start[value >> 6]) | UInt16(alphabet.utf8Start[value & 0x3F]) << 8
    }

    /// The length of the encoding of `count` bytes.
    static func encodedCount(_ count: Int) -> Int {
        (count + 2) / 3 * 4
    }

    /// Writes the encoding of `source` to `destination`, which must have room for
    /// `encodedCount(source.count)` bytes.
    static func encode(_ source: UnsafeBufferPointer<UInt8>, to destination: UnsafeMutablePointer<UInt8>) {
        let output = UnsafeMutableRawPointer(destination)
        var index = source.baseAddress.map { CJSONScan_base64EncodeBlocks($0, source.count, destination) } ?? 0
        var out = index / 3 * 4
        let fullGroups = source.count / 3 * 3
        pairs.withUnsafeBufferPointer { pairs in
            guard let input = source.baseAddress.map(UnsafeRawPointer.init) else { return }
            // Six bytes per step from one 8-byte load, while two bytes of slack remain.
            while index + 8 <= source.count {
                let bits = UInt64(bigEndian: input.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let first = UInt64(pairs[Int(bits >> 52)])
                let second = UInt64(pairs[Int(bits >> 40 & 0xFFF)])
                let third = UInt64(pairs[Int(bits >> 28 & 0xFFF)])
                let fourth = UInt64(pairs[Int(bits >> 16 & 0xFFF)])
                let characters = first | second << 16 | third << 32 | fourth << 48
                output.storeBytes(of: characters.littleEndian, toByteOffset: out, as: UInt64.self)
                index += 6
                out += 8
            }
            while index < fullGroups {
                let group = Int(source[index]) << 16 | Int(source[index + 1]) << 8 | Int(source[index + 2])
                let characters = UInt32(pairs[group >> 12]) | UInt32(pairs[group & 0xFFF]) << 16
                output.storeBytes(of: characters.littleEndian, toByteOffset: out, as: UInt32.self)
                index += 3
                out += 4
            }
        }
        let remaining = source.count - fullGroups
        guard remaining > 0 else { return }
        let table = alphabet.utf8Start
        let second = remaining == 2 ? UInt32(source[index + 1]) : 0
        let group = UInt32(source[index]) << 16 | second << 8
        destination[out] = table[Int(group >> 18)]
        destination[out + 1] = table[Int(group >> 12 & 0x3F)]
        destination[out + 2] = remaining == 2 ? table[Int(group >> 6 & 0x3F)] : UInt8(ascii: "=")
        destination[out + 3] = UInt8(ascii: "=")
    }
}
