/// Standard base64 (RFC 4648, with padding), table-driven.
enum Base64 {
    private static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    /// The length of the encoding of `count` bytes.
    static func encodedCount(_ count: Int) -> Int {
        (count + 2) / 3 * 4
    }

    /// Writes the encoding of `source` to `destination`, which must have room for
    /// `encodedCount(source.count)` bytes.
    static func encode(_ source: UnsafeBufferPointer<UInt8>, to destination: UnsafeMutablePointer<UInt8>) {
        let table = alphabet.utf8Start
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
        guard remaining > 0 else { return }
        let second = remaining == 2 ? UInt32(source[index + 1]) : 0
        let group = UInt32(source[index]) << 16 | second << 8
        destination[out] = table[Int(group >> 18)]
        destination[out + 1] = table[Int(group >> 12 & 0x3F)]
        destination[out + 2] = remaining == 2 ? table[Int(group >> 6 & 0x3F)] : UInt8(ascii: "=")
        destination[out + 3] = UInt8(ascii: "=")
    }
}
