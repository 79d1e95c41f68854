#if canImport(Glibc)
import Glibc
#endif

/// A growable heap byte buffer owned by one connection, for reads and for serialized writes.
///
/// Its memory stays put between growths, so it can be handed to `ByteStream.read`/`write`
/// across a suspension (which an `Array`'s `withUnsafeBytes` cannot). Bytes between
/// `readerIndex` and `writerIndex` are readable; the space after `writerIndex` is writable.
/// Confined to its connection's task, so its fields skip the runtime's exclusivity checks.
final class ConnectionBuffer {
    @exclusivity(unchecked) private var storage: UnsafeMutableRawBufferPointer
    /// The size allocated first, and again by the first write after `releaseStorage()`.
    private let initialCapacity: Int
    @exclusivity(unchecked) private(set) var readerIndex = 0
    @exclusivity(unchecked) private(set) var writerIndex = 0

    init(capacity: Int) {
        initialCapacity = max(capacity, 64)
        storage = .allocate(byteCount: initialCapacity, alignment: 16)
    }

    deinit {
        storage.deallocate()
    }

    var capacity: Int { storage.count }
    var readableCount: Int { writerIndex - readerIndex }
    var isEmpty: Bool { writerIndex == readerIndex }

    /// The unread bytes.
    var readable: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[readerIndex..<writerIndex])
    }

    /// Free space after the unread bytes, first moving them to the front when that makes room
    /// and growing to hold at least `minimum` free bytes.
    func writableSpace(minimum: Int = 1) -> UnsafeMutableRawBufferPointer {
        if storage.count - writerIndex < minimum, readerIndex > 0 { compact() }
        if storage.count - writerIndex < minimum { grow(to: writerIndex + minimum) }
        return UnsafeMutableRawBufferPointer(rebasing: storage[writerIndex...])
    }

    /// Marks `count` bytes after the readable ones as written.
    func didWrite(_ count: Int) {
        writerIndex += count
    }

    /// Marks `count` readable bytes as consumed.
    func consume(_ count: Int) {
        readerIndex += count
        if readerIndex == writerIndex {
            readerIndex = 0
            writerIndex = 0
        }
    }

    /// Drops every byte.
    func clear() {
        readerIndex = 0
        writerIndex = 0
    }

    /// Frees the memory of an empty buffer (an idle connection holds none); the next
    /// `writableSpace` or append allocates the initial capacity again.
    func releaseStorage() {
        precondition(isEmpty, "releasing a buffer with unread bytes")
        storage.deallocate()
        storage = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        readerIndex = 0
        writerIndex = 0
    }

    /// Moves the unread bytes to the front.
    func compact() {
        guard readerIndex > 0 else { return }
        let count = readableCount
        if count > 0 {
            memmove(storage.baseAddress!, storage.baseAddress! + readerIndex, count)
        }
        readerIndex = 0
        writerIndex = count
    }

    private func grow(to minimum: Int) {
        var newCapacity = max(storage.count, initialCapacity)
        while newCapacity < minimum { newCapacity *= 2 }
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: newCapacity, alignment: 16)
        if readableCount > 0 {
            bigger.baseAddress!.copyMemory(from: storage.baseAddress! + readerIndex, byteCount: readableCount)
        }
        writerIndex = readableCount
        readerIndex = 0
        storage.deallocate()
        storage = bigger
    }

    // MARK: Appending (serialization)

    func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        let space = writableSpace(minimum: bytes.count)
        space.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        writerIndex += bytes.count
    }

    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    func append(_ byte: UInt8) {
        let space = writableSpace(minimum: 1)
        space[0] = byte
        writerIndex += 1
    }

    /// Appends `text` with CR, LF and NUL replaced by spaces, so that no value can end a line.
    func appendFieldText(_ text: String) {
        let utf8 = text.utf8
        let count = utf8.count
        guard count > 0 else { return }
        let destination = writableSpace(minimum: count).baseAddress!.assumingMemoryBound(to: UInt8.self)
        // Copy in one go when the string is contiguous (native strings are), then patch.
        if utf8.withContiguousStorageIfAvailable({ destination.update(from: $0.baseAddress!, count: count) }) == nil {
            _ = UnsafeMutableBufferPointer(start: destination, count: count).initialize(from: utf8)
        }
        for index in 0..<count {
            let byte = destination[index]
            if byte == HTTPBytes.cr || byte == HTTPBytes.lf || byte == 0 { destination[index] = HTTPBytes.space }
        }
        writerIndex += count
    }

    /// Appends the decimal digits of a non-negative integer.
    func appendDecimal(_ value: Int) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { scratch in
            var remaining = value
            var position = scratch.count
            repeat {
                position -= 1
                scratch[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            } while remaining > 0
            append(UnsafeRawBufferPointer(rebasing: scratch[position...]))
        }
    }
}
