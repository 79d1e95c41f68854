/// An incremental decoder of the chunked transfer coding (RFC 9112 section 7.1).
///
/// Feed it whatever bytes arrived; it appends the chunk data to the body and reports how many
/// input bytes it consumed, stopping right after the last chunk's trailer section so that a
/// pipelined message after it stays in the buffer. Chunk extensions are checked against RFC
/// 9112's grammar (section 7.1.1) and skipped; trailer fields are skipped; both within limits.
/// Malformed sizes or extensions, size overflow, a missing CRLF or a bare LF are 400 (a lenient
/// reading of `5 xyz` as size 5 is a request smuggling vector); a body over `maxBodySize` is 413.
public struct ChunkedDecoder: Sendable {
    private enum State: Sendable {
        case size(digits: Int)
        case sizeExtension(ChunkExtensionGrammar.Position)
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
                    if byte == HTTPBytes.cr {
                        state = .sizeLF
                    } else {
                        skipped = 0
                        state = .sizeExtension(try ChunkExtensionGrammar.start(byte))
                    }
                }
                index += 1
            case .sizeExtension(let position):
                if let next = try ChunkExtensionGrammar.advance(position, byte) {
                    skipped += 1
                    guard skipped <= maxExtensionLength else {
                        throw HTTPParseError(.badRequest, "chunk extension too long")
                    }
                    state = .sizeExtension(next)
                } else {
                    state = .sizeLF
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

/// The chunk extensions after a chunk size (RFC 9112 section 7.1.1), read one byte at a time:
/// `*( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )` before the CRLF, with
/// `ext-val = token / quoted-string` and BWS spaces and tabs.
enum ChunkExtensionGrammar {
    /// Where in the extensions the last byte was.
    enum Position: Sendable {
        /// Whitespace after the size or a value: only more whitespace or `;` may follow.
        case beforeSemicolon
        /// After `;` (and whitespace): a name must start.
        case beforeName
        case name
        /// Whitespace after a name: `=` or `;` must follow.
        case afterName
        /// After `=` (and whitespace): a token or quoted string must start.
        case beforeValue
        case tokenValue
        case quotedValue
        /// After a backslash in a quoted string.
        case quotedPair
        /// After the closing quote.
        case afterQuotedValue
    }

    /// The position after the first byte following the size digits (not CR).
    static func start(_ byte: UInt8) throws(HTTPParseError) -> Position {
        switch byte {
        case UInt8(ascii: ";"): return .beforeName
        case HTTPBytes.space, HTTPBytes.tab: return .beforeSemicolon
        default: throw HTTPParseError(.badRequest, "invalid chunk size")
        }
    }

    /// The position after `byte`, or nil when `byte` is the CR that ends the extensions.
    static func advance(_ position: Position, _ byte: UInt8) throws(HTTPParseError) -> Position? {
        let isWhitespace = byte == HTTPBytes.space || byte == HTTPBytes.tab
        switch position {
        case .beforeSemicolon:
            if isWhitespace { return .beforeSemicolon }
            if byte == UInt8(ascii: ";") { return .beforeName }
        case .beforeName:
            if isWhitespace { return .beforeName }
            if HTTPBytes.isToken(byte) { return .name }
        case .name:
            if HTTPBytes.isToken(byte) { return .name }
            if byte == UInt8(ascii: "=") { return .beforeValue }
            if byte == UInt8(ascii: ";") { return .beforeName }
            if isWhitespace { return .afterName }
            if byte == HTTPBytes.cr { return nil }
        case .afterName:
            if isWhitespace { return .afterName }
            if byte == UInt8(ascii: "=") { return .beforeValue }
            if byte == UInt8(ascii: ";") { return .beforeName }
        case .beforeValue:
            if isWhitespace { return .beforeValue }
            if byte == UInt8(ascii: "\"") { return .quotedValue }
            if HTTPBytes.isToken(byte) { return .tokenValue }
        case .tokenValue:
            if HTTPBytes.isToken(byte) { return .tokenValue }
            if byte == UInt8(ascii: ";") { return .beforeName }
            if isWhitespace { return .beforeSemicolon }
            if byte == HTTPBytes.cr { return nil }
        case .quotedValue:
            // qdtext: HTAB, SP, visible ASCII but `"` and `\`, obs-text.
            if byte == UInt8(ascii: "\"") { return .afterQuotedValue }
            if byte == UInt8(ascii: "\\") { return .quotedPair }
            if HTTPBytes.isFieldValue(byte) { return .quotedValue }
        case .quotedPair:
            if HTTPBytes.isFieldValue(byte) { return .quotedValue }
        case .afterQuotedValue:
            if byte == UInt8(ascii: ";") { return .beforeName }
            if isWhitespace { return .beforeSemicolon }
            if byte == HTTPBytes.cr { return nil }
        }
        throw HTTPParseError(.badRequest, "invalid chunk extension")
    }
}
