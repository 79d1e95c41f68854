import EventLoop

/// Fuzz harness for the HTTP/1.1 request parser: the input is a byte stream of pipelined
/// requests. It is read whole, one byte at a time, and in segments whose lengths derive from
/// the input; every way must yield the same requests, errors and leftover, nothing may crash
/// or buffer beyond the limits (small ones, so the fuzzer reaches them).
public enum HTTPRequestStreamHarness {
    /// Limits small enough for short inputs to exceed each of them.
    public static let limits: HTTPParserLimits = {
        var limits = HTTPParserLimits()
        limits.maxRequestLineLength = 256
        limits.maxHeadSize = 1024
        limits.maxHeaderCount = 12
        limits.maxBodySize = 2048
        return limits
    }()

    /// Checks one stream, fed whole, byte by byte and in input-derived segments.
    public static func check(_ input: [UInt8]) throws(FuzzViolation) {
        let whole = try events(input, segmentLengths: [input.count])
        try expectSame(whole, try events(input, segmentLengths: Array(repeating: 1, count: input.count)), "byte by byte")
        try expectSame(whole, try events(input, segmentLengths: derivedSegments(input)), "in derived segments")
    }

    /// `check`, plus every split of the stream into two segments (quadratic: for replaying
    /// seeds and regression inputs, not for fuzzing).
    public static func checkEverySplit(_ input: [UInt8]) throws(FuzzViolation) {
        try check(input)
        let whole = try events(input, segmentLengths: [input.count])
        for split in 1..<max(input.count, 1) {
            try expectSame(whole, try events(input, segmentLengths: [split, input.count - split]), "split at byte \(split)")
        }
    }

    private static func events(_ input: [UInt8], segmentLengths: [Int]) throws(FuzzViolation) -> [HTTPRequestStreamReader.Event] {
        var reader = HTTPRequestStreamReader(limits: limits)
        var start = 0
        for length in segmentLengths where start < input.count {
            let end = min(start + length, input.count)
            try reader.receive(input[start..<end])
            start = end
        }
        return reader.finish()
    }

    /// Segment lengths from 1 to 64 bytes, chosen by a SplitMix64 sequence seeded with the
    /// input's FNV-1a hash, so each input is split the same way every time.
    private static func derivedSegments(_ input: [UInt8]) -> [Int] {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in input { state = (state ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var lengths: [Int] = []
        var total = 0
        while total < input.count {
            state &+= 0x9e37_79b9_7f4a_7c15
            var mixed = (state ^ (state >> 30)) &* 0xbf58_476d_1ce4_e5b9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
            let length = Int((mixed ^ (mixed >> 31)) % 64) + 1
            lengths.append(length)
            total += length
        }
        return lengths
    }

    private static func expectSame(_ whole: [HTTPRequestStreamReader.Event], _ other: [HTTPRequestStreamReader.Event],
                                   _ how: String) throws(FuzzViolation) {
        guard whole != other else { return }
        throw FuzzViolation("fed whole: \(whole)\nfed \(how): \(other)")
    }
}
