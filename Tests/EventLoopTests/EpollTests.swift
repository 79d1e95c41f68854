import CEventLoopShims
import Glibc
import Testing
@testable import EventLoop

@Suite struct EpollTests {
    /// epoll_event is packed on x86_64; Swift must import it that way (PLATFORM-NOTES).
    @Test func epollEventHasThePackedKernelLayout() {
        #expect(MemoryLayout<epoll_event>.size == 12)
        #expect(MemoryLayout<epoll_event>.offset(of: \epoll_event.data) == 4)
    }

    @Test func userDataRoundTripsThroughEpollWait() throws {
        let epoll = try Epoll()
        defer { epoll.close() }
        let eventFd = try EventFd()
        defer { eventFd.close() }
        let data: UInt64 = 0xDEAD_BEEF_0000_0000 | UInt64(eventFd.descriptor)
        try epoll.add(eventFd.descriptor, events: Epoll.Event.readable | Epoll.Event.edgeTriggered, data: data)
        eventFd.signal()
        let events = UnsafeMutableBufferPointer<epoll_event>.allocate(capacity: 4)
        defer { events.deallocate() }
        let count = try epoll.wait(into: events, timeoutMilliseconds: 1000)
        #expect(count == 1)
        #expect(events[0].data.u64 == data)
        #expect(events[0].events & Epoll.Event.readable != 0)
        eventFd.drain()
        #expect(try epoll.wait(into: events, timeoutMilliseconds: 0) == 0)
    }
}
