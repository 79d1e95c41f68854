#if canImport(Glibc)
import Glibc
#endif

extension ServiceAccountStore {
    /// Every account the store knows, by key: an open-addressed hash table built for the lookup.
    ///
    /// One array of 64-byte records (key, entry and 31 bits of the key's `ServiceAccountKeyHash`;
    /// 0 marks an empty record), between 1/3 and 2/3 full, so that a hit reads 1.25 to 2 records
    /// on average (at 4/5 full it read up to 3, and the store hit took 8-10% longer). A probe
    /// starts where the hash bits point and goes linearly, comparing keys only where the hash
    /// bits match; a removal shifts the records after it back (no tombstones), so a miss ends at
    /// the first empty record.
    ///
    /// A hit therefore reads one or two adjacent cache lines, with no Swift
    /// `Hasher` and no allocation: on the development machine the lookup's time is the memory
    /// latency of that line, and a slot array in front of separate records doubled it. Built by
    /// LIST pages outside the store's lock, then swapped in.
    public struct Table: Sendable {
        private struct Record: Sendable {
            var key: ServiceAccountKey
            var entry: Entry
            /// The upper bits of the key's hash with the top bit set; 0 in an empty record.
            var hashBits: UInt32

            static let empty = Record(
                key: ServiceAccountKey(namespace: "", name: ""),
                entry: Entry(annotations: [:], resourceVersion: 0, fetchedAt: 0, exists: false, fetched: false), hashBits: 0)
        }

        private var records = RecordBuffer(capacity: 0)
        /// The records in use.
        public private(set) var count = 0
        /// This table's `ServiceAccountKeyHash` seed.
        private let seed = UInt64.random(in: .min ... .max)

        public init() {}

        /// Adds a listed account.
        public mutating func add(_ account: ServiceAccount) {
            let key = account.key
            upsert(key, Entry(
                annotations: account.annotations, resourceVersion: account.resourceVersion ?? 0, fetchedAt: 0, exists: true, fetched: false))
        }

        @inline(__always)
        private static func hashBits(_ hash: UInt64) -> UInt32 {
            UInt32(truncatingIfNeeded: hash >> 32) | 0x8000_0000
        }

        /// `key`'s hash in this table.
        @inline(__always)
        private func hash(_ key: ServiceAccountKey) -> UInt64 {
            ServiceAccountKeyHash.hash(key, seed: seed)
        }

        /// The index of `key`'s record, or nil.
        @inline(__always)
        func index(of key: ServiceAccountKey) -> Int? {
            index(of: key, hash: hash(key))
        }

        @inline(__always)
        private func index(of key: ServiceAccountKey, hash: UInt64) -> Int? {
            let records = records.base
            let mask = self.records.capacity - 1
            guard mask >= 0 else { return nil }
            let bits = Self.hashBits(hash)
            var position = Int(bits) & mask
            while true {
                let stored = records[position].hashBits
                if stored == 0 { return nil }
                if stored == bits && records[position].key == key { return position }
                position = (position + 1) & mask
            }
        }

        /// The entry for `key`, or nil.
        func entry(_ key: ServiceAccountKey) -> Entry? {
            index(of: key).map { records.base[$0].entry }
        }

        /// The entry of the record at `index` (from `index(of:)`).
        subscript(index: Int) -> Entry {
            records.base[index].entry
        }

        /// Stores `entry` under `key`, replacing any.
        mutating func upsert(_ key: ServiceAccountKey, _ entry: Entry) {
            let hash = hash(key)
            if let index = index(of: key, hash: hash) {
                makeUnique()
                records.base[index].entry = entry
                return
            }
            if (count + 1) * 3 > records.capacity * 2 { grow() } else { makeUnique() }
            place(Record(key: key, entry: entry, hashBits: Self.hashBits(hash)))
            count += 1
        }

        /// Removes `key`'s record, if any, and shifts back the records after it that may move
        /// closer to where their probe starts, so every probe still reaches its key before an
        /// empty record.
        mutating func remove(_ key: ServiceAccountKey) {
            guard var hole = index(of: key) else { return }
            makeUnique()
            let records = records.base
            records[hole] = .empty
            count -= 1
            let mask = self.records.capacity - 1
            var next = hole
            while true {
                next = (next + 1) & mask
                let bits = records[next].hashBits
                if bits == 0 { return }
                let start = Int(bits) & mask
                if (next - start) & mask >= (next - hole) & mask {
                    swap(&records[hole], &records[next])
                    hole = next
                }
            }
        }

        /// Writes `record` into the first empty record of its probe.
        private mutating func place(_ record: Record) {
            let records = records.base
            let mask = self.records.capacity - 1
            var position = Int(record.hashBits) & mask
            while records[position].hashBits != 0 { position = (position + 1) & mask }
            records[position] = record
        }

        /// Doubles the records (16 at first) and places every one again.
        private mutating func grow() {
            let old = records
            records = RecordBuffer(capacity: max(16, old.capacity * 2))
            for index in 0..<old.capacity where old.base[index].hashBits != 0 { place(old.base[index]) }
        }

        /// Copies the records before a change if another table shares them (copy on write).
        private mutating func makeUnique() {
            guard !isKnownUniquelyReferenced(&records) else { return }
            records = records.copy()
        }

        /// The records' memory, 64-byte aligned so that each record is one cache line; a buffer
        /// of 2 MiB or more is aligned to 2 MiB and advised to be backed by transparent huge pages
        /// (`MADV_HUGEPAGE`), so that lookups spread over 100,000 accounts (8 MB) do not miss the
        /// TLB on every probe (a page walk costs more than the cache miss in a virtual machine).
        private final class RecordBuffer: @unchecked Sendable {
            let base: UnsafeMutablePointer<Record>
            let capacity: Int

            init(capacity: Int) {
                self.capacity = capacity
                let bytes = max(capacity, 1) * MemoryLayout<Record>.stride
                let hugePage = 2 << 20
                let alignment = bytes >= hugePage ? hugePage : 64
                let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: alignment)
                if bytes >= hugePage { _ = madvise(raw, bytes - bytes % hugePage, MADV_HUGEPAGE) }
                base = raw.bindMemory(to: Record.self, capacity: max(capacity, 1))
                base.initialize(repeating: .empty, count: capacity)
            }

            func copy() -> RecordBuffer {
                let copy = RecordBuffer(capacity: capacity)
                copy.base.update(from: base, count: capacity)
                return copy
            }

            deinit {
                base.deinitialize(count: capacity)
                UnsafeMutableRawPointer(base).deallocate()
            }
        }
    }
}
