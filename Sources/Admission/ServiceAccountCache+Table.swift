import EventLoop

extension ServiceAccountCache {
    /// What the cache remembers about one key: the account (nil for "does not exist") and when it
    /// was fetched.
    struct Entry {
        /// The account, or nil when the API said it does not exist.
        var account: ServiceAccount?
        /// When the upstream answer was stored.
        var storedAt: Deadline
        /// True while a background refresh for this key runs (at most one per key).
        var refreshing: Bool
    }

    /// A bounded map from key to entry with least-recently-used eviction, all operations O(1).
    ///
    /// Entries live in one array of slots linked into a doubly linked recency list by index
    /// (`head` is the most recently used, `tail` the least); a dictionary maps keys to slot indices.
    /// A hit moves its slot to the head by rewriting four indices: no allocation. A full table
    /// reuses the tail's slot for the new key.
    struct Table {
        private struct Slot {
            var key: ServiceAccountKey
            var entry: Entry
            var newer: Int
            var older: Int
        }

        private static let none = -1

        /// The most entries kept.
        let capacity: Int
        private var slots: [Slot] = []
        private var indexByKey: [ServiceAccountKey: Int] = [:]
        private var head = Table.none
        private var tail = Table.none

        init(capacity: Int) {
            precondition(capacity > 0, "a cache needs room for at least one entry")
            self.capacity = capacity
            slots.reserveCapacity(Swift.min(capacity, 4096))
            indexByKey.reserveCapacity(Swift.min(capacity, 4096))
        }

        /// The number of entries held.
        var count: Int { indexByKey.count }

        /// The slot holding `key`, marked as most recently used; nil when absent.
        mutating func use(_ key: ServiceAccountKey) -> Int? {
            guard let index = indexByKey[key] else { return nil }
            moveToHead(index)
            return index
        }

        /// The entry in slot `index` (from `use`).
        subscript(index: Int) -> Entry {
            get { slots[index].entry }
            set { slots[index].entry = newValue }
        }

        /// The entry for `key` without changing its recency.
        func peek(_ key: ServiceAccountKey) -> Entry? {
            indexByKey[key].map { slots[$0].entry }
        }

        /// Changes the entry for `key`, if present, without changing its recency.
        mutating func modify(_ key: ServiceAccountKey, _ change: (inout Entry) -> Void) {
            guard let index = indexByKey[key] else { return }
            change(&slots[index].entry)
        }

        /// Stores `entry` under `key` as the most recently used. Returns true when the least
        /// recently used entry was evicted to make room.
        @discardableResult
        mutating func store(_ entry: Entry, for key: ServiceAccountKey) -> Bool {
            if let index = indexByKey[key] {
                slots[index].entry = entry
                moveToHead(index)
                return false
            }
            if slots.count < capacity {
                slots.append(Slot(key: key, entry: entry, newer: Table.none, older: Table.none))
                let index = slots.count - 1
                indexByKey[key] = index
                linkAtHead(index)
                return false
            }
            let victim = tail
            unlink(victim)
            indexByKey[slots[victim].key] = nil
            slots[victim].key = key
            slots[victim].entry = entry
            indexByKey[key] = victim
            linkAtHead(victim)
            return true
        }

        private mutating func moveToHead(_ index: Int) {
            guard index != head else { return }
            unlink(index)
            linkAtHead(index)
        }

        private mutating func unlink(_ index: Int) {
            let newer = slots[index].newer
            let older = slots[index].older
            if newer != Table.none { slots[newer].older = older } else { head = older }
            if older != Table.none { slots[older].newer = newer } else { tail = newer }
            slots[index].newer = Table.none
            slots[index].older = Table.none
        }

        private mutating func linkAtHead(_ index: Int) {
            slots[index].older = head
            slots[index].newer = Table.none
            if head != Table.none { slots[head].newer = index }
            head = index
            if tail == Table.none { tail = index }
        }
    }
}
