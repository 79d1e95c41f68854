/// Identifies a timer scheduled with `EventLoop.scheduleTimer`, for `EventLoop.cancelTimer`.
public struct TimerHandle: Hashable, Sendable {
    let id: UInt64
}

/// An object woken by the timer heap without a closure allocation (socket deadlines).
///
/// `deadline` is the instant the entry was scheduled for, so the target can tell its current
/// entry from stale ones it chose not to cancel.
protocol TimerTarget: AnyObject {
    func timerFired(tag: Int, deadline: Deadline)
}

/// A binary min-heap of deadlines, confined to one loop thread.
///
/// Cancellation is lazy: a cancelled closure leaves its heap entry behind, skipped when it
/// comes due; the heap is rebuilt once stale entries are the majority, so memory stays bounded.
/// Entries with the same deadline fire in the order they were scheduled.
struct TimerQueue {
    enum Action {
        case closure(TimerHandle)
        case target(any TimerTarget, tag: Int)
    }

    private struct Entry {
        var deadline: Deadline
        var sequence: UInt64
        var action: Action

        func precedes(_ other: Entry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : sequence < other.sequence
        }
    }

    private var heap: [Entry] = []
    private var closures: [UInt64: () -> Void] = [:]
    private var nextSequence: UInt64 = 0
    private var staleEntries = 0

    var isEmpty: Bool { heap.isEmpty }

    /// Schedules `work` at `deadline`.
    mutating func schedule(at deadline: Deadline, _ work: @escaping () -> Void) -> TimerHandle {
        let handle = TimerHandle(id: nextSequence)
        closures[handle.id] = work
        push(Entry(deadline: deadline, sequence: nextSequence, action: .closure(handle)))
        return handle
    }

    /// Schedules `target.timerFired(tag:deadline:)` at `deadline`. Not cancellable: targets ignore stale entries.
    mutating func schedule(at deadline: Deadline, target: any TimerTarget, tag: Int) {
        push(Entry(deadline: deadline, sequence: nextSequence, action: .target(target, tag: tag)))
    }

    /// Forgets the timer; does nothing if it already fired or was cancelled.
    mutating func cancel(_ handle: TimerHandle) {
        guard closures.removeValue(forKey: handle.id) != nil else { return }
        staleEntries += 1
        if staleEntries > 1024 && staleEntries * 2 > heap.count { compact() }
    }

    /// What a due entry asks the loop to do.
    enum Due {
        case work(() -> Void)
        case target(any TimerTarget, tag: Int, deadline: Deadline)
    }

    /// Removes and returns the earliest entry due at `now`, skipping cancelled ones.
    mutating func popExpired(now: Deadline) -> Due? {
        while let first = heap.first, first.deadline <= now {
            let entry = popFirst()
            switch entry.action {
            case .closure(let handle):
                guard let work = closures.removeValue(forKey: handle.id) else {
                    staleEntries -= 1
                    continue
                }
                return .work(work)
            case .target(let target, let tag):
                return .target(target, tag: tag, deadline: entry.deadline)
            }
        }
        return nil
    }

    /// The `epoll_wait` timeout until the earliest entry: -1 when empty, rounded up to whole ms.
    func timeoutMilliseconds(now: Deadline) -> Int32 {
        guard let first = heap.first else { return -1 }
        guard first.deadline > now else { return 0 }
        let nanoseconds = first.deadline.uptimeNanoseconds - now.uptimeNanoseconds
        let milliseconds = (nanoseconds + 999_999) / 1_000_000
        return milliseconds >= UInt64(Int32.max) ? Int32.max : Int32(milliseconds)
    }

    private mutating func push(_ entry: Entry) {
        nextSequence += 1
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popFirst() -> Entry {
        let first = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(from: 0)
        }
        return first
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count && heap[left + 1].precedes(heap[left]) { smallest = left + 1 }
            guard heap[smallest].precedes(heap[parent]) else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }

    private mutating func compact() {
        heap.removeAll { entry in
            if case .closure(let handle) = entry.action { return closures[handle.id] == nil }
            return false
        }
        staleEntries = 0
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(from: index) }
    }
}
