import CEventLoopShims
import Synchronization

/// A loop's registrations over its epoll instance, and its cross-thread wake-up.
///
/// Each registered descriptor is added once, and its epoll user data packs the descriptor
/// (low 32 bits) with a registration generation (high 32 bits): an event that arrives for a
/// descriptor closed and reused within the same batch no longer matches and is dropped.
final class Selector {
    private struct Slot {
        var generation: UInt32 = 0
        var registration: SelectorRegistration?
    }

    private static let wakeupData = UInt64.max
    private static let batchSize = 256

    /// Immutable after init.
    private let epoll: Epoll
    /// Immutable after init; signalled from any thread through `wake()`.
    private let wakeup: EventFd
    /// Any thread: true from the first `wake()` until the loop has consumed the eventfd.
    private let wakePending = Atomic<Bool>(false)
    /// Loop thread only: indexed by descriptor.
    private var slots: [Slot] = []
    /// Loop thread only.
    private var nextGeneration: UInt32 = 0
    /// Loop thread only: the `epoll_wait` output buffer.
    private let events: UnsafeMutableBufferPointer<epoll_event>

    init() throws(IOError) {
        epoll = try Epoll()
        do {
            wakeup = try EventFd()
        } catch {
            epoll.close()
            throw error
        }
        events = .allocate(capacity: Self.batchSize)
        do {
            try epoll.add(wakeup.descriptor, events: Epoll.Event.readable | Epoll.Event.edgeTriggered, data: Self.wakeupData)
        } catch {
            wakeup.close()
            epoll.close()
            events.deallocate()
            throw error
        }
    }

    deinit {
        wakeup.close()
        epoll.close()
        events.deallocate()
    }

    /// Adds `registration`'s descriptor for `events`. Loop thread only.
    func register(_ registration: SelectorRegistration, events: UInt32) throws(IOError) {
        let fd = Int(registration.descriptor)
        if fd >= slots.count { slots.append(contentsOf: repeatElement(Slot(), count: max(fd + 1 - slots.count, slots.count))) }
        nextGeneration &+= 1
        let generation = nextGeneration
        let data = UInt64(generation) << 32 | UInt64(UInt32(bitPattern: registration.descriptor))
        try epoll.add(registration.descriptor, events: events, data: data)
        slots[fd] = Slot(generation: generation, registration: registration)
        registration.generation = generation
    }

    /// Forgets `registration`. `removeFromEpoll` is needed only when the descriptor stays open
    /// (closing the last reference removes it from epoll by itself). Loop thread only.
    func deregister(_ registration: SelectorRegistration, removeFromEpoll: Bool) {
        let fd = Int(registration.descriptor)
        guard fd < slots.count, slots[fd].generation == registration.generation, slots[fd].registration != nil else { return }
        slots[fd].registration = nil
        if removeFromEpoll { try? epoll.remove(registration.descriptor) }
    }

    /// Forgets every registration (the loop has stopped). Loop thread only.
    func removeAllRegistrations() {
        slots.removeAll()
    }

    /// True from a `wake()` until the loop consumes the eventfd: jobs from other threads may be waiting. Any thread.
    var isWakePending: Bool { wakePending.load(ordering: .acquiring) }

    /// Wakes the loop from `epoll_wait`; writes the eventfd only if no wake-up is pending. Any thread.
    func wake() {
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            wakeup.signal()
        }
    }

    /// Waits for events and hands each live one to its registration. Returns true when the
    /// loop was woken through `wake()`, so that its remote jobs must be collected. Loop thread only.
    func poll(timeoutMilliseconds: Int32) throws(IOError) -> Bool {
        let count = try epoll.wait(into: events, timeoutMilliseconds: timeoutMilliseconds)
        var woken = false
        for index in 0..<count {
            let event = events[index]
            let data = event.data.u64
            if data == Self.wakeupData {
                wakeup.drain()
                wakePending.store(false, ordering: .releasing)
                woken = true
                continue
            }
            let fd = Int(Int32(bitPattern: UInt32(truncatingIfNeeded: data)))
            let generation = UInt32(truncatingIfNeeded: data >> 32)
            guard fd < slots.count, slots[fd].generation == generation, let registration = slots[fd].registration else { continue }
            registration.handle(events: event.events)
        }
        return woken
    }
}
