import Glibc

/// Appends JSON text to an owned byte buffer: literals, escaped strings, integers and base64.
///
/// Structure (braces, commas) is the caller's job; this type gets the bytes of each token right.
/// It manages its own storage because the many small appends of a response cost several times
/// more through `Array.append(contentsOf:)`; `finish` hands the bytes over as an array.
public struct JSONWriter: ~Copyable {
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// How many bytes have been written.
    private(set) var count = 0

    /// An empty writer with room for `capacity` bytes before it has to grow.
    public init(capacity: Int = 512) {
        self.capacity = max(capacity, 16)
        storage = .allocate(capacity: self.capacity)
    }

    deinit {
        storage.deallocate()
    }

    /// The bytes written, as an array.
    public consuming func finish() -> [UInt8] {
        Array(UnsafeBufferPointer(start: storage, count: count))
    }

    /// The bytes written followed by `suffix`, leaving the writer as it is.
    func bytes(appending suffix: UInt8) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count + 1) { buffer, initialized in
            buffer.baseAddress!.update(from: storage, count: count)
            buffer[count] = suffix
            initialized = count + 1
        }
    }

    /// Appends `text` verbatim; it must already be valid JSON text.
    @inline(__always)
    public mutating func raw(_ text: StaticString) {
        append(text.utf8Start, text.utf8CodeUnitCount)
    }

    /// Appends `text` verbatim; it must already be valid JSON text.
    mutating func raw(_ text: ArraySlice<UInt8>) {
        text.withUnsafeBufferPointer { append($0.baseAddress, $0.count) }
    }

    /// Appends `value`, then `suffix` (which needs no escaping), as one quoted JSON string.
    public mutating func string(_ value: String, appending suffix: StaticString = "") {
        byte(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            if !Self.needsEscaping(utf8) {
                append(utf8.baseAddress, utf8.count)
                return
            }
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                append(utf8.baseAddress! + runStart, index - runStart)
                appendEscape(byte)
                runStart = index + 1
            }
            append(utf8.baseAddress.map { $0 + runStart }, utf8.count - runStart)
        }
        raw(suffix)
        byte(UInt8(ascii: "\""))
    }

    /// Whether some byte is a quote, a backslash or a control character; eight bytes at a time.
    private static func needsEscaping(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = utf8.baseAddress else { return false }
        let ones: UInt64 = 0x0101_0101_0101_0101
        var index = 0
        while index + 8 <= utf8.count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            let quotes = word ^ (ones &* 0x22)
            let backslashes = word ^ (ones &* 0x5C)
            let special = ((quotes &- ones) & ~quotes) | ((backslashes &- ones) & ~backslashes) | ((word &- ones &* 0x20) & ~word)
            if special & (ones &* 0x80) != 0 { return true }
            index += 8
        }
        while index < utf8.count {
            let byte = base[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return true }
            index += 1
        }
        return false
    }

    /// Appends a decimal integer.
    public mutating func integer(_ value: Int) {
        reserve(20)
        if value < 0 {
            storage[count] = UInt8(ascii: "-")
            count += 1
        }
        var magnitude = value.magnitude
        var digits = 1
        var power: UInt = 10
        while digits < 20, magnitude >= power {
            digits += 1
            let (next, overflow) = power.multipliedReportingOverflow(by: 10)
            if overflow { break }
            power = next
        }
        var position = count + digits - 1
        repeat {
            storage[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            position -= 1
        } while magnitude > 0
        count += digits
    }

    /// Appends a finite number in JSON's notation (Swift's shortest round-tripping form, e.g.
    /// `0.000123` or `1e-07`); NaN and infinities, which JSON cannot hold, become `null`.
    public mutating func number(_ value: Double) {
        guard value.isFinite else { return raw("null") }
        raw(ArraySlice(value.description.utf8))
    }

    /// Appends the standard base64 encoding (RFC 4648, padded) of `input`.
    mutating func base64(_ input: [UInt8]) {
        let length = Base64.encodedCount(input.count)
        reserve(length)
        input.withUnsafeBufferPointer { Base64.encode($0, to: storage + count) }
        count += length
    }

    @inline(__always)
    private mutating func byte(_ value: UInt8) {
        reserve(1)
        storage[count] = value
        count += 1
    }

    @inline(__always)
    private mutating func append(_ source: UnsafePointer<UInt8>?, _ length: Int) {
        guard length > 0, let source else { return }
        reserve(length)
        (storage + count).update(from: source, count: length)
        count += length
    }

    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private mutating func grow(to needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let newStorage = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newStorage.update(from: storage, count: count)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
    }

    private mutating func appendEscape(_ value: UInt8) {
        byte(UInt8(ascii: "\\"))
        switch value {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): byte(value)
        case 0x0A: byte(UInt8(ascii: "n"))
        case 0x0D: byte(UInt8(ascii: "r"))
        case 0x09: byte(UInt8(ascii: "t"))
        default:
            let hex: StaticString = "0123456789abcdef"
            raw("u00")
            byte(hex.utf8Start[Int(value >> 4)])
            byte(hex.utf8Start[Int(value & 0xF)])
        }
    }
}
