import Testing
@testable import EventLoop

@Suite struct ConnectionBufferTests {
    @Test func releasedStorageIsAllocatedAgainAtTheInitialCapacityOnTheNextWrite() {
        let buffer = ConnectionBuffer(capacity: 1024)
        buffer.append(Array("hello".utf8))
        buffer.consume(5)
        buffer.releaseStorage()
        #expect(buffer.capacity == 0)
        #expect(buffer.isEmpty)
        #expect(buffer.readable.isEmpty)
        #expect(buffer.writableSpace(minimum: 10).count == 1024)
        buffer.append(Array("again".utf8))
        #expect(Array(buffer.readable) == Array("again".utf8))
    }

    @Test func aReleasedBufferGrowsPastItsInitialCapacityWhenAWriteNeedsIt() {
        let buffer = ConnectionBuffer(capacity: 64)
        buffer.releaseStorage()
        let text = [UInt8](repeating: 0x61, count: 200)
        buffer.append(text)
        #expect(buffer.capacity >= 200)
        #expect(Array(buffer.readable) == text)
    }
}
