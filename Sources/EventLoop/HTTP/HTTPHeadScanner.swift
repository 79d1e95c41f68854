#if canImport(Glibc)
import Glibc
#endif

/// Finds where a message head ends, resuming where the previous call stopped.
///
/// Shared by the request and response parsers. Lines must end in CRLF (a bare LF is an error,
/// as lenient line endings are a request smuggling vector). Empty lines before the start line
/// are skipped (RFC 9112 section 2.2). The limits apply while bytes arrive, so an endless head
/// is rejected as soon as it passes them, not when it ends; and the first limit the bytes pass,
/// in order, decides the answer, so it does not depend on how the bytes were segmented.
struct HTTPHeadScanner {
    /// The largest start line, in bytes without CRLF.
    let maxStartLineLength: Int
    /// The largest head, in bytes including empty leading lines and the final CRLF.
    let maxHeadSize: Int
    /// The most header fields.
    let maxFieldCount: Int
    /// The status answered when the start line is too long.
    let startLineTooLong: HTTPStatus

    /// Where the start line begins (after skipped empty lines).
    private(set) var headStart = 0
    /// Index of the LF that ends the start line, once seen.
    private(set) var startLineEnd: Int?
    private var lineStart = 0
    private var scanned = 0
    private var fieldCount = 0

    init(maxStartLineLength: Int, maxHeadSize: Int, maxFieldCount: Int, startLineTooLong: HTTPStatus) {
        self.maxStartLineLength = maxStartLineLength
        self.maxHeadSize = maxHeadSize
        self.maxFieldCount = maxFieldCount
        self.startLineTooLong = startLineTooLong
    }

    /// Forgets the previous head, for the next message at the start of the buffer.
    mutating func reset() {
        headStart = 0
        startLineEnd = nil
        lineStart = 0
        scanned = 0
        fieldCount = 0
    }

    /// Scans the bytes of `buffer` not yet seen; returns the head's length (through its empty
    /// line) once complete, or nil when more bytes are needed.
    ///
    /// `buffer` must start at the same byte on every call until the head completes or `reset()`.
    mutating func scan(_ buffer: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int? {
        guard let base = buffer.baseAddress else { return nil }
        let count = buffer.count
        var position = scanned
        while position < count {
            guard let found = memchr(base + position, 0x0A, count - position) else { break }
            let newline = UnsafeRawPointer(found) - base
            // Arriving one at a time, the bytes before this LF would have met the limits first.
            if let exceeded = limitExceeded(byteCount: newline) { throw exceeded }
            guard newline > 0, buffer[newline - 1] == 0x0D else {
                throw HTTPParseError(.badRequest, "line ends in a bare LF")
            }
            let lineLength = newline - 1 - lineStart
            position = newline + 1
            if startLineEnd == nil {
                if lineLength == 0 {
                    headStart = position
                } else {
                    guard lineLength <= maxStartLineLength else {
                        throw HTTPParseError(startLineTooLong, "start line longer than \(maxStartLineLength) bytes")
                    }
                    startLineEnd = newline
                }
            } else if lineLength == 0 {
                scanned = position
                return position
            } else {
                fieldCount += 1
                guard fieldCount <= maxFieldCount else {
                    throw HTTPParseError(.headerFieldsTooLarge, "more than \(maxFieldCount) header fields")
                }
            }
            lineStart = position
        }
        scanned = count
        if let exceeded = limitExceeded(byteCount: count) { throw exceeded }
        return nil
    }

    /// The limit an unfinished head of `byteCount` bytes has passed, if any: of the start line
    /// (more than its maximum plus a CR without the LF) and of the head (its maximum without the
    /// final LF); when both, the one passed at the earlier byte.
    private func limitExceeded(byteCount: Int) -> HTTPParseError? {
        let startLineLimit = startLineEnd == nil ? lineStart + maxStartLineLength + 2 : Int.max
        guard byteCount >= min(startLineLimit, maxHeadSize) else { return nil }
        if startLineLimit <= maxHeadSize {
            return HTTPParseError(startLineTooLong, "start line longer than \(maxStartLineLength) bytes")
        }
        return HTTPParseError(.headerFieldsTooLarge, "head larger than \(maxHeadSize) bytes")
    }
}

/// Byte classes of RFC 9110 used by the parsers.
enum HTTPBytes {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let comma: UInt8 = 0x2C

    /// tchar: the characters of a token (method, field name, coding): ASCII letters, digits
    /// and ``!#$%&'*+-.^_`|~``, as bit masks of the bytes 0-63 and 64-127.
    @inline(__always)
    static func isToken(_ byte: UInt8) -> Bool {
        let low: UInt64 = 0x03FF_6CFA_0000_0000
        let high: UInt64 = 0x57FF_FFFF_C7FF_FFFE
        guard byte < 128 else { return false }
        return ((byte < 64 ? low : high) >> UInt64(byte & 63)) & 1 != 0
    }

    /// A byte allowed inside a field value: HTAB, SP, visible ASCII, obs-text.
    @inline(__always)
    static func isFieldValue(_ byte: UInt8) -> Bool {
        byte == tab || (byte >= 0x20 && byte != 0x7F)
    }

    /// Whether every byte of `bytes` is allowed inside a field value. Eight bytes at a time: a
    /// word with no byte below 0x20 and none equal to 0x7F is valid as a whole; only a word
    /// with a tab (or an invalid byte) is checked byte by byte.
    static func areFieldValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        var index = 0
        while index + 8 <= bytes.count {
            let word = (base + index).loadUnaligned(as: UInt64.self)
            // A byte below 0x20, or a byte equal to 0x7F (zero after the XOR): exact tests for
            // "some byte is" (a borrow only starts at a byte that matches).
            let below = (word &- ones &* 0x20) & ~word & highBits
            let delete = word ^ (ones &* 0x7F)
            let isDelete = (delete &- ones) & ~delete & highBits
            if below | isDelete != 0 {
                for offset in index..<(index + 8) where !isFieldValue(bytes[offset]) { return false }
            }
            index += 8
        }
        while index < bytes.count {
            if !isFieldValue(bytes[index]) { return false }
            index += 1
        }
        return true
    }

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab
    }
}

/// The lines of a head found by `HTTPHeadScanner`, and the field syntax shared by both parsers.
struct HTTPHeadLines {
    /// Splits `head` (from the start line through the final CRLF) at CRLF and parses each field
    /// line into `headers`, calling `inspect` with each field's name and value bytes.
    static func parseFields(
        _ head: UnsafeRawBufferPointer,
        startLineEnd: Int,
        into headers: inout HTTPHeaders,
        inspect: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(HTTPParseError) -> Void
    ) throws(HTTPParseError) {
        try forEachField(head, startLineEnd: startLineEnd) { (name, value) throws(HTTPParseError) in
            try inspect(name, value)
            headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
        }
    }

    /// Splits `head` (from the start line through the final CRLF) at CRLF, validates each field
    /// line and calls `inspect` with its name and value bytes. Allocates nothing.
    @inline(__always)
    static func forEachField(
        _ head: UnsafeRawBufferPointer,
        startLineEnd: Int,
        inspect: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(HTTPParseError) -> Void
    ) throws(HTTPParseError) {
        guard let base = head.baseAddress else { return }
        var lineStart = startLineEnd + 1
        while lineStart < head.count {
            // The scanner saw a CRLF at the end of every line, so there is an LF to find.
            let lineEnd = UnsafeRawPointer(memchr(base + lineStart, 0x0A, head.count - lineStart)!) - base
            let line = UnsafeRawBufferPointer(rebasing: head[lineStart..<(lineEnd - 1)])
            lineStart = lineEnd + 1
            if line.isEmpty { break }
            let (name, value) = try parseField(line)
            try inspect(name, value)
        }
    }

    /// Calls `body` with each field's name and value in `fields` (field lines already validated
    /// by `forEachField`, each ending in CRLF) until it returns false.
    static func forEachValidatedField(
        _ fields: UnsafeRawBufferPointer,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool
    ) {
        guard let base = fields.baseAddress else { return }
        var lineStart = 0
        while lineStart < fields.count, let found = memchr(base + lineStart, 0x0A, fields.count - lineStart) {
            let lineEnd = UnsafeRawPointer(found) - base
            let line = UnsafeRawBufferPointer(rebasing: fields[lineStart..<max(lineStart, lineEnd - 1)])
            lineStart = lineEnd + 1
            guard !line.isEmpty, let (name, value) = try? parseField(line) else { continue }
            if !body(name, value) { return }
        }
    }

    /// Splits one field line into name and OWS-trimmed value, validating both.
    static func parseField(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        if HTTPBytes.isWhitespace(line[0]) {
            throw HTTPParseError(.badRequest, "obsolete line folding")
        }
        var colon = 0
        while colon < line.count, line[colon] != HTTPBytes.colon {
            guard HTTPBytes.isToken(line[colon]) else {
                throw HTTPParseError(.badRequest, "invalid character in field name")
            }
            colon += 1
        }
        guard colon > 0, colon < line.count else {
            throw HTTPParseError(.badRequest, "field line without a name and colon")
        }
        var start = colon + 1
        var end = line.count
        while start < end, HTTPBytes.isWhitespace(line[start]) { start += 1 }
        while end > start, HTTPBytes.isWhitespace(line[end - 1]) { end -= 1 }
        guard HTTPBytes.areFieldValue(UnsafeRawBufferPointer(rebasing: line[start..<end])) else {
            throw HTTPParseError(.badRequest, "invalid character in the value of a field")
        }
        return (UnsafeRawBufferPointer(rebasing: line[0..<colon]), UnsafeRawBufferPointer(rebasing: line[start..<end]))
    }

    /// Whether `bytes` equal the lower-case ASCII `name`, ignoring case.
    @inline(__always)
    static func bytes(_ bytes: UnsafeRawBufferPointer, equalLowercased name: StaticString) -> Bool {
        guard bytes.count == name.utf8CodeUnitCount else { return false }
        let expected = name.utf8Start
        for index in 0..<bytes.count where bytes[index].asciiLowercased != expected[index] {
            return false
        }
        return true
    }

    /// Whether `bytes` equal `other`, ignoring the case of ASCII letters.
    @inline(__always)
    static func bytes(_ bytes: UnsafeRawBufferPointer, equalIgnoringCase other: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == other.count else { return false }
        for index in 0..<bytes.count where bytes[index].asciiLowercased != other[index].asciiLowercased {
            return false
        }
        return true
    }

    /// Calls `body` with each comma-separated element of a list value, OWS-trimmed; empty
    /// elements are skipped (RFC 9110 section 5.6.1).
    static func forEachListElement(
        _ value: UnsafeRawBufferPointer,
        _ body: (UnsafeRawBufferPointer) throws(HTTPParseError) -> Void
    ) throws(HTTPParseError) {
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count, value[end] != HTTPBytes.comma { end += 1 }
            var elementStart = start
            var elementEnd = end
            while elementStart < elementEnd, HTTPBytes.isWhitespace(value[elementStart]) { elementStart += 1 }
            while elementEnd > elementStart, HTTPBytes.isWhitespace(value[elementEnd - 1]) { elementEnd -= 1 }
            if elementEnd > elementStart {
                try body(UnsafeRawBufferPointer(rebasing: value[elementStart..<elementEnd]))
            }
            start = end + 1
        }
    }

    /// Parses a Content-Length value: one or more equal lists of decimal digits.
    static func parseContentLength(_ value: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int {
        var result: Int?
        try forEachListElement(value) { (element) throws(HTTPParseError) in
            guard element.count <= 18 else { throw HTTPParseError(.badRequest, "Content-Length too large") }
            var length = 0
            for byte in element {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                    throw HTTPParseError(.badRequest, "Content-Length is not a decimal number")
                }
                length = length * 10 + Int(byte - UInt8(ascii: "0"))
            }
            if let previous = result, previous != length {
                throw HTTPParseError(.badRequest, "conflicting Content-Length values")
            }
            result = length
        }
        guard let length = result else {
            throw HTTPParseError(.badRequest, "empty Content-Length")
        }
        return length
    }
}
