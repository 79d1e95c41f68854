/// An incremental decoder of the chunked transfer coding (RFC 9112 section 7.1).
///
/// Feed it whatever bytes arrived; it appends the chunk data to the body and reports how many
/// input bytes it consumed, stopping right after the last chunk's trailer section so that a
/// pipelined message after it stays in the buffer. Chunk extensions and trailer fields are
/// skipped, within limits. Malformed sizes, size overflow, a missing CRLF or a bare LF are
/// 400; a body over `maxBodySize` is 413.
public struct ChunkedDecoder: Sendable {
    private enum State: Sendable {
        case size(digits: Int)
        case sizeExtension
        case sizeLF
        case data
        case dataCR
        case dataLF
        case trailerLineStart
        case trailerLine
        case trailerLF
        case finalLF
        case done
    }

    /// The largest decoded body.
    public let maxBodySize: Int
    /// The longest accepted chunk extension, per chunk.
    public let maxExtensionLength: Int
    /// The largest accepted trailer section.
    public let maxTrailerSize: Int

    private var state = State.size(digits: 0)
    private var chunkSize: UInt64 = 0
    private var remaining = 0
    private var skipped = 0
    /// Bytes of body decoded so far.
    public private(set) var bodySize = 0

    public init(maxBodySize: Int, maxExtensionLength: Int = 256, maxTrailerSize: Int = 8 * 1024) {
        self.maxBodySize = maxBodySize
        self.maxExtensionLength = maxExtensionLength
        self.maxTrailerSize = maxTrailerSize
    }

    /// Whether the last chunk and its trailer section have been decoded.
    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Decodes from `input`, appending chunk data to `body`; returns the bytes consumed.
    ///
    /// Consumes all of `input` unless the body completes first.
    public mutating func decode(_ input: UnsafeRawBufferPointer, into body: inout [UInt8]) throws(HTTPParseError) -> Int {
        try decode(input) { body.append(contentsOf: $0) }
    }

    /// Decodes from `input`, passing each run of chunk data to `onData`; returns the bytes consumed.
    public mutating func decode(
        _ input: UnsafeRawBufferPointer,
        onData: (UnsafeRawBufferPointer) -> Void
    ) throws(HTTPParseError) -> Int {
        var index = 0
        while index < input.count {
            let byte = input[index]
            switch state {
            case .size(let digits):
                if let value = Self.hexValue(byte) {
                    guard digits < 16 else { throw HTTPParseError(.badRequest, "chunk size overflows") }
                    chunkSize = chunkSize << 4 | UInt64(value)
                    state = .size(digits: digits + 1)
                } else {
                    guard digits > 0 else { throw HTTPParseError(.badRequest, "invalid chunk size") }
                    switch byte {
                    case HTTPBytes.cr: state = .sizeLF
                    case UInt8(ascii: ";"), HTTPBytes.space, HTTPBytes.tab:
                        skipped = 0
                        state = .sizeExtension
                    default: throw HTTPParseError(.badRequest, "invalid chunk size")
                    }
                }
                index += 1
            case .sizeExtension:
                if byte == HTTPBytes.cr {
                    state = .sizeLF
                } else {
                    guard byte == HTTPBytes.tab || (byte >= 0x20 && byte != 0x7F) else {
                        throw HTTPParseError(.badRequest, "invalid character in chunk extension")
                    }
                    skipped += 1
                    guard skipped <= maxExtensionLength else {
                        throw HTTPParseError(.badRequest, "chunk extension too long")
                    }
                }
                index += 1
            case .sizeLF:
                guard byte == HTTPBytes.lf else { throw HTTPParseError(.badRequest, "chunk size without CRLF") }
                index += 1
                if chunkSize == 0 {
                    skipped = 0
                    state = .trailerLineStart
                } else {
                    guard chunkSize <= UInt64(maxBodySize - bodySize) else {
                        throw HTTPParseError(.payloadTooLarge, "body larger than \(maxBodySize) bytes")
                    }
                    remaining = Int(chunkSize)
                    bodySize += remaining
                    state = .data
                }
            case .data:
                let count = min(remaining, input.count - index)
                onData(UnsafeRawBufferPointer(rebasing: input[index..<(index + count)]))
                remaining -= count
                index += count
                if remaining == 0 { state = .dataCR }
            case .dataCR:
                guard byte == HTTPBytes.cr else { throw HTTPParseError(.badRequest, "chunk data without CRLF") }
                state = .dataLF
                index += 1
            case .dataLF:
                guard byte == HTTPBytes.lf else { throw HTTPParseError(.badRequest, "chunk data without CRLF") }
                chunkSize = 0
                state = .size(digits: 0)
                index += 1
            case .trailerLineStart:
                state = byte == HTTPBytes.cr ? .finalLF : .trailerLine
                if byte != HTTPBytes.cr { try countTrailer(byte) }
                index += 1
            case .trailerLine:
                if byte == HTTPBytes.cr { state = .trailerLF } else { try countTrailer(byte) }
                index += 1
            case .trailerLF:
                guard byte == HTTPBytes.lf else { throw HTTPParseError(.badRequest, "trailer line without CRLF") }
                state = .trailerLineStart
                index += 1
            case .finalLF:
                guard byte == HTTPBytes.lf else { throw HTTPParseError(.badRequest, "chunked body without final CRLF") }
                state = .done
                return index + 1
            case .done:
                return index
            }
        }
        return index
    }

    private mutating func countTrailer(_ byte: UInt8) throws(HTTPParseError) {
        guard byte != HTTPBytes.lf else { throw HTTPParseError(.badRequest, "trailer line ends in a bare LF") }
        skipped += 1
        guard skipped <= maxTrailerSize else { throw HTTPParseError(.badRequest, "trailer section too large") }
    }

    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
