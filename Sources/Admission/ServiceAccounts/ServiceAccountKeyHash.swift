/// A seeded 64-bit hash of a ServiceAccount key's UTF-8 bytes, for the store's table: wyhash's
/// mixing (a 64x64->128-bit multiply folded to 64 bits), two or three multiplies for a name of
/// up to 16 bytes, where Swift's `Hasher` (SipHash-1-3) needs a few dozen rounds per string.
///
/// Each table draws its own seed, so names chosen to collide in one table do not collide in the
/// next; the table's probe compares whole keys, so a collision only costs time. The seed is the
/// table's, not a lazily initialised global: reading one of those calls `swift_once` on Linux.
enum ServiceAccountKeyHash {
    private static let secret: (UInt64, UInt64) = (0xa076_1d64_78bd_642f, 0xe703_7ed1_a0b4_28db)

    /// The hash of `key` under `seed`: its namespace's bytes, then its name's, each with its length.
    @inline(__always)
    static func hash(_ key: ServiceAccountKey, seed: UInt64) -> UInt64 {
        let namespaceHash = withUTF8(key.namespace) { hash($0, seed: seed) }
        return withUTF8(key.name) { hash($0, seed: namespaceHash) }
    }

    /// The bytes of `string` without copying it (a native string is contiguous; a small one is
    /// spilled to the stack).
    @inline(__always)
    private static func withUTF8<Result>(_ string: String, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        if let result = string.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        var contiguous = string
        return contiguous.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    @inline(__always)
    private static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let count = bytes.count
        var seed = seed ^ mix(seed ^ secret.0, secret.1)
        var a: UInt64 = 0
        var b: UInt64 = 0
        if let base = bytes.baseAddress {
            func word32(_ offset: Int) -> UInt64 { UInt64(base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
            func word64(_ offset: Int) -> UInt64 { base.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
            /// 1 to 3 bytes from `offset`: the first, the middle and the last.
            func short(_ offset: Int, _ count: Int) -> UInt64 {
                UInt64(bytes[offset]) << 16 | UInt64(bytes[offset + count >> 1]) << 8 | UInt64(bytes[offset + count - 1])
            }
            // Up to 16 bytes, no load crosses byte 8: a small string reaches us spilled to the
            // stack by two 8-byte stores, and a load spanning both cannot be forwarded from them
            // (a store-forwarding stall, a sixth of the whole lookup in perf before).
            if count > 8 && count <= 16 {
                a = word64(0)
                b = count >= 12 ? word32(8) << 32 | word32(count - 4) : short(8, count - 8)
            } else if count >= 4 && count <= 8 {
                a = word32(0) << 32 | word32(count - 4)
            } else if count > 0 && count < 4 {
                a = short(0, count)
            } else if count > 16 {
                var offset = 0
                while count - offset > 16 {
                    seed = mix(word64(offset) ^ secret.1, word64(offset + 8) ^ seed)
                    offset += 16
                }
                a = word64(count - 16)
                b = word64(count - 8)
            }
        }
        let product = (a ^ secret.1).multipliedFullWidth(by: b ^ seed)
        return mix(product.low ^ secret.0 ^ UInt64(count), product.high ^ secret.1)
    }
}
