import Testing
@testable import EventLoop

@Suite struct TLSCiphertextBufferTests {
    @Test func appendsConsumesAndKeepsOrderAcrossGrowthAndCompaction() {
        var buffer = TLSCiphertextBuffer()
        var expected: [UInt8] = []
        var nextByte: UInt8 = 0
        for round in 0..<200 {
            let chunk = (0..<(round * 37 % 500 + 1)).map { _ in nextByte &+= 1; return nextByte }
            chunk.withUnsafeBytes { buffer.append($0) }
            expected += chunk
            let take = min(expected.count, round * 53 % 600)
            var out = [UInt8](repeating: 0, count: take)
            let copied = out.withUnsafeMutableBytes { buffer.consume(into: $0) }
            #expect(copied == take)
            #expect(out == Array(expected.prefix(take)))
            expected.removeFirst(take)
            #expect(buffer.readableCount == expected.count)
            #expect(Array(buffer.readableBytes) == expected)
        }
    }

    @Test func writableSpaceIsAtLeastTheRequestedSize() {
        var buffer = TLSCiphertextBuffer()
        let space = buffer.writableSpace(minimumCount: 18_437)
        #expect(space.count >= 18_437)
        space.storeBytes(of: 7, as: UInt8.self)
        buffer.didWrite(1)
        #expect(Array(buffer.readableBytes) == [7])
    }

    @Test func releaseFreesOnlyEmptyBuffersAboveTheLimit() {
        var buffer = TLSCiphertextBuffer()
        ([1, 2, 3] as [UInt8]).withUnsafeBytes { buffer.append($0) }
        buffer.releaseIfEmpty()
        #expect(buffer.readableCount == 3)
        buffer.consume(3)
        buffer.releaseIfEmpty(retainingUpTo: 4_096)
        #expect(buffer.capacity > 0)
        buffer.releaseIfEmpty()
        #expect(buffer.capacity == 0)
        ([9] as [UInt8]).withUnsafeBytes { buffer.append($0) }
        #expect(Array(buffer.readableBytes) == [9])
    }
}
