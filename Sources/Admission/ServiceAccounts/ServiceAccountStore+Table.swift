extension ServiceAccountStore {
    /// Every account the store knows, by key: an open-addressed hash table built for the lookup.
    ///
    /// - Records (key and entry, 64 bytes) sit in one array, in insertion order; a removal moves
    ///   the last record into the hole.
    /// - Slots (8 bytes each, at most 3/4 full) hold the upper 32 bits of the key's
    ///   `ServiceAccountKeyHash` and the record's index + 1 (0: empty). The probe starts at
    ///   those hash bits and goes linearly, comparing keys only where the hash bits match; a
    ///   removal shifts the following slots back (no tombstones), so a miss ends at the first
    ///   empty slot.
    ///
    /// A hit therefore reads one slot and one record, with no Swift `Hasher` and no allocation.
    /// Built by LIST pages outside the store's lock, then swapped in.
    public struct Table: Sendable {
        private struct Record: Sendable {
            var key: ServiceAccountKey
            var entry: Entry
        }

        private var records: [Record] = []
        private var slots: [UInt64] = []

        public init() {}

        /// Adds a listed account.
        public mutating func add(_ account: ServiceAccount) {
            let key = account.key
            upsert(key, hash: ServiceAccountKeyHash.hash(key), Entry(
                annotations: account.annotations, resourceVersion: account.resourceVersion ?? 0, fetchedAt: 0, exists: true, fetched: false))
        }

        /// The accounts held (and "does not exist" answers of GETs).
        public var count: Int { records.count }

        /// The index of `key`'s record (`hash` is its `ServiceAccountKeyHash`), or nil.
        @inline(__always)
        func index(of key: ServiceAccountKey, hash: UInt64) -> Int? {
            guard !slots.isEmpty else { return nil }
            let mask = slots.count - 1
            let hashBits = hash >> 32
            var position = Int(truncatingIfNeeded: hashBits) & mask
            while true {
                let slot = slots[position]
                if slot == 0 { return nil }
                if slot >> 32 == hashBits {
                    let index = Int(truncatingIfNeeded: slot & 0xffff_ffff) - 1
                    if records[index].key == key { return index }
                }
                position = (position + 1) & mask
            }
        }

        /// The entry for `key`, or nil.
        func entry(_ key: ServiceAccountKey) -> Entry? {
            index(of: key, hash: ServiceAccountKeyHash.hash(key)).map { records[$0].entry }
        }

        /// The entry of the record at `index` (from `index(of:hash:)`).
        subscript(index: Int) -> Entry {
            records[index].entry
        }

        /// Stores `entry` under `key`, replacing any.
        mutating func upsert(_ key: ServiceAccountKey, hash: UInt64, _ entry: Entry) {
            if let index = index(of: key, hash: hash) {
                records[index].entry = entry
                return
            }
            if (records.count + 1) * 4 > slots.count * 3 { grow() }
            records.append(Record(key: key, entry: entry))
            place(hash >> 32, index: records.count - 1)
        }

        /// Stores `entry` under `key`, replacing any.
        mutating func upsert(_ key: ServiceAccountKey, _ entry: Entry) {
            upsert(key, hash: ServiceAccountKeyHash.hash(key), entry)
        }

        /// Removes `key`'s record, if any.
        mutating func remove(_ key: ServiceAccountKey) {
            let hash = ServiceAccountKeyHash.hash(key)
            guard let index = index(of: key, hash: hash) else { return }
            removeSlot(hash >> 32, index: index)
            let last = records.count - 1
            if index != last {
                let moved = records[last].key
                let movedBits = ServiceAccountKeyHash.hash(moved) >> 32
                slots[position(of: movedBits, index: last)] = movedBits << 32 | UInt64(index + 1)
                records[index] = records[last]
            }
            records.removeLast()
        }

        /// The slot position holding record `index`, whose hash bits are `hashBits`.
        private func position(of hashBits: UInt64, index: Int) -> Int {
            let mask = slots.count - 1
            let slot = hashBits << 32 | UInt64(index + 1)
            var position = Int(truncatingIfNeeded: hashBits) & mask
            while slots[position] != slot { position = (position + 1) & mask }
            return position
        }

        /// Empties record `index`'s slot and shifts back the slots after it that may move closer
        /// to where their probe starts, so every probe still reaches its key before an empty slot.
        private mutating func removeSlot(_ hashBits: UInt64, index: Int) {
            let mask = slots.count - 1
            var hole = position(of: hashBits, index: index)
            slots[hole] = 0
            var next = hole
            while true {
                next = (next + 1) & mask
                let slot = slots[next]
                if slot == 0 { return }
                let start = Int(truncatingIfNeeded: slot >> 32) & mask
                if (next - start) & mask >= (next - hole) & mask {
                    slots[hole] = slot
                    slots[next] = 0
                    hole = next
                }
            }
        }

        /// Writes record `index`'s slot at the first empty position of its probe.
        private mutating func place(_ hashBits: UInt64, index: Int) {
            let mask = slots.count - 1
            var position = Int(truncatingIfNeeded: hashBits) & mask
            while slots[position] != 0 { position = (position + 1) & mask }
            slots[position] = hashBits << 32 | UInt64(index + 1)
        }

        /// Doubles the slots (16 at first) and places every record again.
        private mutating func grow() {
            let old = slots
            slots = Array(repeating: 0, count: max(16, old.count * 2))
            for slot in old where slot != 0 {
                place(slot >> 32, index: Int(truncatingIfNeeded: slot & 0xffff_ffff) - 1)
            }
        }
    }
}
