/// A growable byte queue over one heap allocation: bytes are appended at the writer index and
/// consumed from the reader index. Owned by exactly one `TLSCiphertextBuffers`; not copyable.
///
/// The storage is reused for the life of the connection (no allocation per record) and is
/// compacted only when the free tail is too small, so appends and consumption never copy
/// the readable bytes except to make room.
struct TLSCiphertextBuffer: ~Copyable {
    private var storage: UnsafeMutableRawPointer?
    private(set) var capacity = 0
    private var readerIndex = 0
    private var writerIndex = 0

    init() {}

    deinit {
        storage?.deallocate()
    }

    /// How many bytes are waiting to be consumed.
    var readableCount: Int { writerIndex - readerIndex }

    /// The bytes waiting to be consumed, valid until the next mutating call.
    var readableBytes: UnsafeRawBufferPointer {
        guard let storage else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: storage + readerIndex, count: readableCount)
    }

    /// Free space after the readable bytes, at least `minimumCount` bytes, valid until the next
    /// mutating call. Call `didWrite(_:)` with how many bytes were placed there.
    mutating func writableSpace(minimumCount: Int) -> UnsafeMutableRawBufferPointer {
        if capacity - writerIndex < minimumCount {
            makeRoom(for: minimumCount)
        }
        return UnsafeMutableRawBufferPointer(start: storage! + writerIndex, count: capacity - writerIndex)
    }

    /// Marks `count` bytes of the space returned by `writableSpace` as readable.
    mutating func didWrite(_ count: Int) {
        precondition(count >= 0 && writerIndex + count <= capacity, "wrote past the writable space")
        writerIndex += count
    }

    /// Appends a copy of `bytes`.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        let space = writableSpace(minimumCount: bytes.count)
        space.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        didWrite(bytes.count)
    }

    /// Consumes `count` readable bytes.
    mutating func consume(_ count: Int) {
        precondition(count >= 0 && count <= readableCount, "consumed more than is readable")
        readerIndex += count
        if readerIndex == writerIndex {
            readerIndex = 0
            writerIndex = 0
        }
    }

    /// Copies up to `destination.count` readable bytes into `destination` and consumes them.
    mutating func consume(into destination: UnsafeMutableRawBufferPointer) -> Int {
        let count = min(destination.count, readableCount)
        if count > 0 {
            destination.baseAddress!.copyMemory(from: storage! + readerIndex, byteCount: count)
            consume(count)
        }
        return count
    }

    /// Frees the storage when nothing is readable and it is larger than `retainedCapacity`, so
    /// an idle connection holds no (or only a small) buffer.
    mutating func releaseIfEmpty(retainingUpTo retainedCapacity: Int = 0) {
        guard readableCount == 0, capacity > retainedCapacity, let storage else { return }
        storage.deallocate()
        self.storage = nil
        capacity = 0
    }

    private mutating func makeRoom(for minimumCount: Int) {
        let readable = readableCount
        if let storage, capacity - readable >= minimumCount {
            // Enough room once the consumed prefix is dropped.
            storage.copyMemory(from: storage + readerIndex, byteCount: readable)
        } else {
            let newCapacity = max(readable + minimumCount, capacity * 2)
            let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            if let storage {
                newStorage.copyMemory(from: storage + readerIndex, byteCount: readable)
                storage.deallocate()
            }
            storage = newStorage
            capacity = newCapacity
        }
        readerIndex = 0
        writerIndex = readable
    }
}
