/// Standard base64 (RFC 4648, with padding), table-driven, appending to a byte buffer.
enum Base64 {
    private static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    /// The length of the encoding of `count` bytes.
    static func encodedCount(_ count: Int) -> Int {
        (count + 2) / 3 * 4
    }

    /// Appends the base64 encoding of `input` to `output`.
    static func encode(_ input: [UInt8], into output: inout [UInt8]) {
        let encodedLength = encodedCount(input.count)
        let table = alphabet.utf8Start
        let encoded = [UInt8](unsafeUninitializedCapacity: encodedLength) { destination, initialized in
            input.withUnsafeBufferPointer { source in
                var out = 0
                var index = 0
                let fullGroups = source.count / 3 * 3
                while index < fullGroups {
                    let group = UInt32(source[index]) << 16 | UInt32(source[index + 1]) << 8 | UInt32(source[index + 2])
                    destination[out] = table[Int(group >> 18)]
                    destination[out + 1] = table[Int(group >> 12 & 0x3F)]
                    destination[out + 2] = table[Int(group >> 6 & 0x3F)]
                    destination[out + 3] = table[Int(group & 0x3F)]
                    index += 3
                    out += 4
                }
                let remaining = source.count - fullGroups
                if remaining > 0 {
                    let second = remaining == 2 ? UInt32(source[index + 1]) : 0
                    let group = UInt32(source[index]) << 16 | second << 8
                    destination[out] = table[Int(group >> 18)]
                    destination[out + 1] = table[Int(group >> 12 & 0x3F)]
                    destination[out + 2] = remaining == 2 ? table[Int(group >> 6 & 0x3F)] : UInt8(ascii: "=")
                    destination[out + 3] = UInt8(ascii: "=")
                }
            }
            initialized = encodedLength
        }
        output.append(contentsOf: encoded)
    }
}
