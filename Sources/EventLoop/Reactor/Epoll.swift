import CEventLoopShims
#if canImport(Glibc)
import Glibc
#endif

/// epoll(7): the only file that speaks to epoll and eventfd.
///
/// Timers do not use timerfd: the loop's timer heap turns its earliest deadline into the
/// `epoll_wait` timeout in milliseconds, rounded up, so a timer never fires early and at most
/// about one millisecond late. Deadlines in this server are seconds long; the saved timerfd
/// syscalls matter more than sub-millisecond precision.
struct Epoll {
    /// Readiness bits as delivered in `epoll_event.events`.
    enum Event {
        static let readable = EPOLLIN.rawValue
        static let writable = EPOLLOUT.rawValue
        /// TCP urgent data arrived (out of band: a `recv` stops at its mark).
        static let priority = EPOLLPRI.rawValue
        static let readHangUp = EPOLLRDHUP.rawValue
        static let hangUp = EPOLLHUP.rawValue
        static let error = EPOLLERR.rawValue
        static let edgeTriggered = EPOLLET.rawValue
        static let exclusive = EPOLLEXCLUSIVE.rawValue
    }

    /// The epoll instance.
    let descriptor: Int32

    init() throws(IOError) {
        descriptor = try Syscall.runBlocking("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    }

    /// Registers `fd` for `events`; `data` comes back with each of its events.
    func add(_ fd: Int32, events: UInt32, data: UInt64) throws(IOError) {
        var event = epoll_event()
        event.events = events
        event.data.u64 = data
        _ = try Syscall.runBlocking("epoll_ctl(ADD)") { epoll_ctl(descriptor, EPOLL_CTL_ADD, fd, &event) }
    }

    /// Unregisters `fd` (needed only while another descriptor still refers to the same file).
    func remove(_ fd: Int32) throws(IOError) {
        var event = epoll_event()
        _ = try Syscall.runBlocking("epoll_ctl(DEL)") { epoll_ctl(descriptor, EPOLL_CTL_DEL, fd, &event) }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever, 0: poll) and returns the number of events.
    func wait(into events: UnsafeMutableBufferPointer<epoll_event>, timeoutMilliseconds: Int32) throws(IOError) -> Int {
        switch try Syscall.run("epoll_wait", {
            epoll_wait(descriptor, events.baseAddress, Int32(events.count), timeoutMilliseconds)
        }) {
        case .completed(let count): return Int(count)
        case .wouldBlock: return 0
        }
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}

/// eventfd(2), used to wake a loop blocked in `epoll_wait` from another thread.
struct EventFd {
    let descriptor: Int32

    init() throws(IOError) {
        descriptor = try Syscall.runBlocking("eventfd") {
            eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
        }
    }

    /// Makes the descriptor readable. Safe from any thread.
    func signal() {
        var one: UInt64 = 1
        _ = try? Syscall.run("eventfd write") { Glibc.write(descriptor, &one, MemoryLayout<UInt64>.size) }
    }

    /// Resets the counter so that the descriptor is no longer readable.
    func drain() {
        var value: UInt64 = 0
        _ = try? Syscall.run("eventfd read") { Glibc.read(descriptor, &value, MemoryLayout<UInt64>.size) }
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}
