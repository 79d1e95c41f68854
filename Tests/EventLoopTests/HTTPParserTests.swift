import Testing
@testable import EventLoop

/// Parses one head from `text`; nil when incomplete.
private func parseHead(_ text: String, limits: HTTPParserLimits = HTTPParserLimits()) throws(HTTPParseError) -> (head: HTTPRequestHead, consumed: Int)? {
    var parser = HTTPRequestParser(limits: limits)
    let bytes = Array(text.utf8)
    do {
        return try bytes.withUnsafeBytes { buffer in try parser.parseHead(buffer) }
    } catch let error as HTTPParseError {
        throw error
    } catch {
        fatalError("unexpected \(error)")
    }
}

/// The status a malformed head is rejected with, or nil when accepted.
private func rejection(_ text: String, limits: HTTPParserLimits = HTTPParserLimits()) -> Int? {
    do {
        _ = try parseHead(text, limits: limits)
        return nil
    } catch {
        return error.status.code
    }
}

/// Decodes a stream of complete requests delivered in pieces ending at `cuts` (ascending
/// offsets; the rest follows the last); returns each request as method, target and body text.
private func decodeStream(_ bytes: [UInt8], cuts: [Int]) throws -> [String] {
    var parser = HTTPRequestParser()
    var buffered: [UInt8] = []
    var results: [String] = []
    var pendingHead: HTTPRequestHead?
    var decoder = ChunkedDecoder(maxBodySize: 1 << 20)
    var body: [UInt8] = []
    var pieceStart = 0
    for pieceEnd in cuts + [bytes.count] where pieceEnd > pieceStart {
        buffered += bytes[pieceStart..<pieceEnd]
        pieceStart = pieceEnd
        var progressed = true
        while progressed {
            progressed = false
            if pendingHead == nil, let (head, consumed) = try buffered.withUnsafeBytes({ try parser.parseHead($0) }) {
                buffered.removeFirst(consumed)
                pendingHead = head
                body = []
                decoder = ChunkedDecoder(maxBodySize: 1 << 20)
            }
            guard let head = pendingHead else { break }
            var complete = false
            switch head.framing {
            case .none, .untilClose:
                complete = true
            case .contentLength(let length):
                let take = min(length - body.count, buffered.count)
                body += buffered[0..<take]
                buffered.removeFirst(take)
                complete = body.count == length
            case .chunked:
                let consumed = try buffered.withUnsafeBytes { try decoder.decode($0, into: &body) }
                buffered.removeFirst(consumed)
                complete = decoder.isComplete
            }
            if complete {
                results.append("\(head.method) \(head.target) \(String(decoding: body, as: UTF8.self))")
                pendingHead = nil
                progressed = true
            }
        }
    }
    #expect(buffered.isEmpty && pendingHead == nil, "stream ended inside a request")
    return results
}

@Suite struct HTTPParserTests {
    @Test func parsesATypicalAdmissionRequest() throws {
        let text = "POST /mutate?timeout=10s HTTP/1.1\r\nHost: webhook.svc:443\r\nUser-Agent: kube-apiserver-admission\r\n"
            + "Accept: application/json, */*\r\nContent-Type: application/json\r\nContent-Length: 42\r\n\r\n"
        let (head, consumed) = try #require(try parseHead(text + "{\"body\"}"))
        #expect(consumed == text.utf8.count)
        #expect(head.method == .POST)
        #expect(head.target == "/mutate?timeout=10s")
        #expect(head.path == "/mutate")
        #expect(head.query == "timeout=10s")
        #expect(head.version == .http1_1)
        #expect(head.framing == .contentLength(42))
        #expect(head.keepAlive)
        #expect(!head.expectsContinue)
        #expect(head.headers["content-type"] == "application/json")
        #expect(head.headers["CONTENT-TYPE"] == "application/json")
        #expect(head.headers["Accept"] == "application/json, */*")
        #expect(head.headers.count == 5)
    }

    @Test func fieldChecksTheFirstFieldOfANameIgnoringCase() throws {
        let (head, _) = try #require(try parseHead(
            "POST /m HTTP/1.1\r\nHost: a\r\ncontent-TYPE:  application/json \r\nX: 1\r\nX: 2\r\n\r\n"))
        #expect(head.field("Content-Type") { String(decoding: $0, as: UTF8.self) == "application/json" })
        #expect(head.field("x") { String(decoding: $0, as: UTF8.self) == "1" })
        #expect(!head.field("x") { String(decoding: $0, as: UTF8.self) == "2" })
        #expect(!head.field("Accept") { _ in true })
        #expect(!head.field("Host:") { _ in true })
    }

    /// Every byte value at every offset of an 8-byte word (the value check reads words): only
    /// HTAB, SP, visible ASCII and obs-text are accepted, wherever they sit.
    @Test func fieldValueBytesAreCheckedAtEveryOffset() throws {
        for byte in UInt8.min...UInt8.max where byte != HTTPBytes.lf {
            let valid = byte == HTTPBytes.tab || (byte >= 0x20 && byte != 0x7F)
            for offset in 1..<19 {
                var value = [UInt8](repeating: UInt8(ascii: "v"), count: 20)
                value[offset] = byte
                let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\nX: ".utf8) + value + Array("\r\n\r\n".utf8)
                var parser = HTTPRequestParser()
                let accepted: Bool
                do {
                    accepted = try bytes.withUnsafeBytes { buffer throws(HTTPParseError) in try parser.parseHead(buffer) } != nil
                } catch let error as HTTPParseError {
                    #expect(error.status == .badRequest)
                    accepted = false
                } catch {
                    Issue.record("unexpected \(error)")
                    accepted = false
                }
                #expect(accepted == valid, "byte \(byte) at \(offset)")
            }
        }
    }

    @Test func incompleteHeadNeedsMoreData() throws {
        #expect(try parseHead("GET / HTTP/1.1\r\nHost: a\r\n") == nil)
        #expect(try parseHead("GET / HTTP/1.1\r\nHost: a\r\n\r") == nil)
        #expect(try parseHead("") == nil)
    }

    @Test func trimsOptionalWhitespaceAroundValues() throws {
        let (head, _) = try #require(try parseHead("GET / HTTP/1.1\r\nHost:a\r\nX-A: \t spaced value \t\r\nX-Empty:\r\n\r\n"))
        #expect(head.headers["host"] == "a")
        #expect(head.headers["x-a"] == "spaced value")
        #expect(head.headers["x-empty"] == "")
    }

    @Test func skipsEmptyLinesBeforeTheRequestLine() throws {
        let (head, consumed) = try #require(try parseHead("\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(head.path == "/x")
        #expect(consumed == 32)
    }

    struct KeepAliveCase: Sendable, CustomTestStringConvertible {
        let version: String
        let connection: String?
        let keepAlive: Bool
        var testDescription: String { "\(version) Connection: \(connection ?? "-")" }
    }

    @Test(arguments: [
        KeepAliveCase(version: "1.1", connection: nil, keepAlive: true),
        KeepAliveCase(version: "1.1", connection: "close", keepAlive: false),
        KeepAliveCase(version: "1.1", connection: "Keep-Alive, CLOSE", keepAlive: false),
        KeepAliveCase(version: "1.1", connection: "keep-alive", keepAlive: true),
        KeepAliveCase(version: "1.0", connection: nil, keepAlive: false),
        KeepAliveCase(version: "1.0", connection: "Keep-Alive", keepAlive: true),
        KeepAliveCase(version: "1.0", connection: "keep-alive, close", keepAlive: false),
    ])
    func connectionSemantics(_ row: KeepAliveCase) throws {
        var text = "GET / HTTP/\(row.version)\r\nHost: a\r\n"
        if let connection = row.connection { text += "Connection: \(connection)\r\n" }
        let (head, _) = try #require(try parseHead(text + "\r\n"))
        #expect(head.keepAlive == row.keepAlive)
    }

    @Test func http10NeedsNoHost() throws {
        let (head, _) = try #require(try parseHead("GET / HTTP/1.0\r\n\r\n"))
        #expect(head.version == .http1_0)
    }

    @Test func expectContinue() throws {
        let (withBody, _) = try #require(try parseHead("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n"))
        #expect(withBody.expectsContinue)
        let (noBody, _) = try #require(try parseHead("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n"))
        #expect(!noBody.expectsContinue)
        let (http10, _) = try #require(try parseHead("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"))
        #expect(!http10.expectsContinue)
    }

    @Test func chunkedFraming() throws {
        let (head, _) = try #require(try parseHead("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"))
        #expect(head.framing == .chunked)
    }

    @Test func equalContentLengthDuplicatesAreAccepted() throws {
        let (head, _) = try #require(try parseHead("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5, 5\r\n\r\n"))
        #expect(head.framing == .contentLength(5))
        let (empty, _) = try #require(try parseHead("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"))
        #expect(empty.framing == .none)
    }

    @Test(arguments: [
        ("/a/b?c=d&e", "/a/b", "c=d&e"),
        ("/", "/", ""),
        ("/?", "/", ""),
        ("http://host:8080/p?q=1", "/p", "q=1"),
        ("http://host", "/", ""),
    ])
    func splitsTargets(_ target: String, _ path: String, _ query: String) throws {
        let (head, _) = try #require(try parseHead("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(head.path == path)
        #expect(head.query == Substring(query))
    }

    struct Rejection: Sendable, CustomTestStringConvertible {
        let name: String
        let text: String
        let status: Int
        var testDescription: String { name }
    }

    private static let host = "Host: a\r\n"

    @Test(arguments: [
        // Request line.
        Rejection(name: "method with a slash", text: "GE/T / HTTP/1.1\r\n\(host)\r\n", status: 400),
        Rejection(name: "empty method", text: " / HTTP/1.1\r\n\(host)\r\n", status: 400),
        Rejection(name: "two spaces", text: "GET  / HTTP/1.1\r\n\(host)\r\n", status: 400),
        Rejection(name: "missing version", text: "GET /\r\n\(host)\r\n", status: 400),
        Rejection(name: "lower-case version", text: "GET / http/1.1\r\n\(host)\r\n", status: 400),
        Rejection(name: "version with trailing space", text: "GET / HTTP/1.1 \r\n\(host)\r\n", status: 400),
        Rejection(name: "HTTP/2.0", text: "GET / HTTP/2.0\r\n\(host)\r\n", status: 505),
        Rejection(name: "HTTP/1.2", text: "GET / HTTP/1.2\r\n\(host)\r\n", status: 505),
        Rejection(name: "HTTP/0.9", text: "GET / HTTP/0.9\r\n\(host)\r\n", status: 505),
        Rejection(name: "control byte in target", text: "GET /\u{1}x HTTP/1.1\r\n\(host)\r\n", status: 400),
        Rejection(name: "non-ASCII target", text: "GET /é HTTP/1.1\r\n\(host)\r\n", status: 400),
        Rejection(name: "relative target", text: "GET x HTTP/1.1\r\n\(host)\r\n", status: 400),
        Rejection(name: "asterisk for GET", text: "GET * HTTP/1.1\r\n\(host)\r\n", status: 400),
        // Line endings and fields.
        Rejection(name: "bare LF after request line", text: "GET / HTTP/1.1\n\(host)\r\n", status: 400),
        Rejection(name: "bare LF in fields", text: "GET / HTTP/1.1\r\nHost: a\n\r\n", status: 400),
        Rejection(name: "obs-fold", text: "GET / HTTP/1.1\r\n\(host)X-A: b\r\n c\r\n\r\n", status: 400),
        Rejection(name: "space before colon", text: "GET / HTTP/1.1\r\n\(host)X-A : b\r\n\r\n", status: 400),
        Rejection(name: "no colon", text: "GET / HTTP/1.1\r\n\(host)X-A\r\n\r\n", status: 400),
        Rejection(name: "empty name", text: "GET / HTTP/1.1\r\n\(host): b\r\n\r\n", status: 400),
        Rejection(name: "NUL in value", text: "GET / HTTP/1.1\r\n\(host)X-A: b\u{0}c\r\n\r\n", status: 400),
        Rejection(name: "CR in value", text: "GET / HTTP/1.1\r\n\(host)X-A: b\rc\r\n\r\n", status: 400),
        Rejection(name: "missing Host", text: "GET / HTTP/1.1\r\n\r\n", status: 400),
        Rejection(name: "two Hosts", text: "GET / HTTP/1.1\r\n\(host)\(host)\r\n", status: 400),
        Rejection(name: "unknown expectation", text: "GET / HTTP/1.1\r\n\(host)Expect: 200-ok\r\n\r\n", status: 417),
        // Content-Length.
        Rejection(name: "CL+CL differing", text: "POST / HTTP/1.1\r\n\(host)Content-Length: 5\r\nContent-Length: 6\r\n\r\n", status: 400),
        Rejection(name: "CL list differing", text: "POST / HTTP/1.1\r\n\(host)Content-Length: 5, 6\r\n\r\n", status: 400),
        Rejection(name: "negative CL", text: "POST / HTTP/1.1\r\n\(host)Content-Length: -5\r\n\r\n", status: 400),
        Rejection(name: "plus-signed CL", text: "POST / HTTP/1.1\r\n\(host)Content-Length: +5\r\n\r\n", status: 400),
        Rejection(name: "hex CL", text: "POST / HTTP/1.1\r\n\(host)Content-Length: 0x10\r\n\r\n", status: 400),
        Rejection(name: "CL with inner space", text: "POST / HTTP/1.1\r\n\(host)Content-Length: 1 0\r\n\r\n", status: 400),
        Rejection(name: "empty CL", text: "POST / HTTP/1.1\r\n\(host)Content-Length: \r\n\r\n", status: 400),
        Rejection(name: "overflowing CL", text: "POST / HTTP/1.1\r\n\(host)Content-Length: 99999999999999999999999\r\n\r\n", status: 400),
        Rejection(name: "CL above the body limit", text: "POST / HTTP/1.1\r\n\(host)Content-Length: 8388609\r\n\r\n", status: 413),
        // Transfer-Encoding.
        Rejection(name: "CL+TE", text: "POST / HTTP/1.1\r\n\(host)Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400),
        Rejection(name: "TE+CL", text: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", status: 400),
        Rejection(name: "TE chunked not last", text: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked, gzip\r\n\r\n", status: 400),
        Rejection(name: "TE chunked not last over two fields", text: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", status: 400),
        Rejection(name: "TE chunked twice", text: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked, chunked\r\n\r\n", status: 400),
        Rejection(name: "TE without chunked", text: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: gzip\r\n\r\n", status: 400),
        Rejection(name: "TE empty", text: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: \r\n\r\n", status: 400),
        Rejection(name: "TE misspelt", text: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: xchunked\r\n\r\n", status: 400),
        Rejection(name: "TE unknown coding before chunked", text: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: gzip, chunked\r\n\r\n", status: 501),
        Rejection(name: "TE in HTTP/1.0", text: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400),
    ])
    func rejectsMalformedAndAmbiguousRequests(_ row: Rejection) {
        #expect(rejection(row.text) == row.status)
    }

    struct LimitCase: Sendable, CustomTestStringConvertible {
        let name: String
        let text: String
        let status: Int?
        var testDescription: String { name }
    }

    private static func fields(_ count: Int) -> String {
        (0..<count).map { "X-\($0): v\r\n" }.joined()
    }

    @Test(arguments: [
        LimitCase(name: "100 fields", text: "GET / HTTP/1.1\r\n\(host)\(fields(99))\r\n", status: nil),
        LimitCase(name: "101 fields", text: "GET / HTTP/1.1\r\n\(host)\(fields(100))\r\n", status: 431),
        LimitCase(name: "head of 16 KiB", text: "GET / HTTP/1.1\r\n\(host)X: \(String(repeating: "a", count: 16384 - 32))\r\n\r\n", status: nil),
        LimitCase(name: "head over 16 KiB", text: "GET / HTTP/1.1\r\n\(host)X: \(String(repeating: "a", count: 16384 - 31))\r\n\r\n", status: 431),
        LimitCase(name: "unterminated head over 16 KiB", text: "GET / HTTP/1.1\r\n\(host)X: \(String(repeating: "a", count: 16384))", status: 431),
        LimitCase(name: "request line of 8 KiB", text: "GET /\(String(repeating: "a", count: 8192 - 14)) HTTP/1.1\r\n\(host)\r\n", status: nil),
        LimitCase(name: "request line over 8 KiB", text: "GET /\(String(repeating: "a", count: 8192 - 13)) HTTP/1.1\r\n\(host)\r\n", status: 414),
        LimitCase(name: "unterminated request line over 8 KiB", text: "GET /\(String(repeating: "a", count: 9000))", status: 414),
    ])
    func limits(_ row: LimitCase) throws {
        #expect(rejection(row.text) == row.status)
    }

    @Test func acceptedLimitCasesAreComplete() throws {
        #expect(try parseHead("GET / HTTP/1.1\r\n\(Self.host)\(Self.fields(99))\r\n")?.head.headers.count == 100)
    }

    @Test func unterminatedHeadBelowTheLimitWaits() throws {
        #expect(try parseHead("GET / HTTP/1.1\r\n\(Self.host)X: \(String(repeating: "a", count: 1000))") == nil)
    }

    @Test func smallerConfiguredLimitsApply() {
        var limits = HTTPParserLimits()
        limits.maxHeaderCount = 2
        limits.maxHeadSize = 64
        limits.maxBodySize = 10
        #expect(rejection("GET / HTTP/1.1\r\n\(Self.host)A: b\r\nC: d\r\n\r\n", limits: limits) == 431)
        #expect(rejection("GET / HTTP/1.1\r\n\(Self.host)A: \(String(repeating: "b", count: 50))\r\n\r\n", limits: limits) == 431)
        #expect(rejection("POST / HTTP/1.1\r\n\(Self.host)Content-Length: 11\r\n\r\n", limits: limits) == 413)
        #expect(rejection("POST / HTTP/1.1\r\n\(Self.host)Content-Length: 10\r\n\r\n", limits: limits) == nil)
    }

    /// The status a head is rejected with when its bytes arrive in pieces ending at `cuts`
    /// (ascending offsets; the rest follows the last), or nil when accepted or incomplete.
    private static func rejectionInPieces(_ bytes: [UInt8], cuts: [Int], limits: HTTPParserLimits) -> Int? {
        var parser = HTTPRequestParser(limits: limits)
        for end in cuts + [bytes.count] {
            do {
                if try Array(bytes[..<end]).withUnsafeBytes({ try parser.parseHead($0) }) != nil { return nil }
            } catch {
                return (error as? HTTPParseError)?.status.code ?? -1
            }
        }
        return nil
    }

    /// Regression (fuzzing, Tests/Fuzz/Regressions/http): a head past a limit was rejected for
    /// the limit when it arrived in pieces but, arriving at once, for what came after the limit
    /// (a bare LF; a start line too long after the head had already outgrown its limit). The
    /// answer must not depend on how TCP segments the bytes.
    @Test(arguments: [
        ("long start line ending in a bare LF", "GET /\(String(repeating: "a", count: 300)) HTTP/1.1\n\r\n", 414),
        ("large head ending in a bare LF", "GET / HTTP/1.1\r\n\(host)X: \(String(repeating: "a", count: 1100))\n\r\n", 431),
        ("empty lines then a long start line", String(repeating: "\r\n", count: 400) + "GET /\(String(repeating: "a", count: 300)) HTTP/1.1\r\n\r\n", 431),
    ])
    func limitsGiveTheSameAnswerHoweverTheHeadArrives(_ name: String, _ text: String, _ status: Int) {
        var limits = HTTPParserLimits()
        limits.maxRequestLineLength = 256
        limits.maxHeadSize = 1024
        let bytes = Array(text.utf8)
        #expect(Self.rejectionInPieces(bytes, cuts: [], limits: limits) == status, "whole")
        #expect(Self.rejectionInPieces(bytes, cuts: Array(1..<bytes.count), limits: limits) == status, "byte by byte")
        for split in stride(from: 1, to: bytes.count, by: 7) {
            #expect(Self.rejectionInPieces(bytes, cuts: [split], limits: limits) == status, "split at \(split)")
        }
    }

    private static let pipelined = Array((
        "POST /mutate HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        + "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
        + "POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n"
        + "\r\nDELETE /x?y HTTP/1.0\r\n\r\n"
    ).utf8)

    @Test func pipelinedStreamParsesWhole() throws {
        #expect(try decodeStream(Self.pipelined, cuts: []) == [
            "POST /mutate hello", "GET /healthz ", "POST /chunked abc0123456789abcdef", "DELETE /x?y ",
        ])
    }

    @Test func pipelinedStreamSplitAtEveryBoundaryGivesTheSameRequests() throws {
        let whole = try decodeStream(Self.pipelined, cuts: [])
        for split in 1..<Self.pipelined.count {
            #expect(try decodeStream(Self.pipelined, cuts: [split]) == whole, "split at \(split)")
        }
        let everyByte = Array(1..<Self.pipelined.count)
        #expect(try decodeStream(Self.pipelined, cuts: everyByte) == whole)
    }
}

/// `HTTPRequestHead.field(_:hasMediaType:)`, which the webhook's Content-Type check uses.
@Suite struct HTTPRequestHeadMediaTypeTests {
    @Test(arguments: [
        ("Content-Type: application/json", true),
        ("content-type: Application/JSON; charset=utf-8", true),
        ("Content-Type: application/json ;charset=utf-8", true),
        ("Content-Type:\tapplication/json\t", true),
        ("Content-Type: application/jsonx", false),
        ("Content-Type: application/json-patch+json", false),
        ("Content-Type: text/plain; application/json", false),
        ("Content-Type: ", false),
        ("Content-Typo: application/json", false),
    ])
    func mediaTypeOfTheField(_ field: String, _ matches: Bool) throws {
        let parsed = try #require(try parseHead("POST /mutate HTTP/1.1\r\nHost: x\r\n\(field)\r\nContent-Length: 0\r\n\r\n"))
        #expect(parsed.head.field("Content-Type", hasMediaType: "application/json") == matches)
    }

    @Test func firstOfRepeatedFieldsDecides() throws {
        let text = "POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n"
        let parsed = try #require(try parseHead(text))
        #expect(!parsed.head.field("Content-Type", hasMediaType: "application/json"))
        #expect(parsed.head.field("CONTENT-TYPE", hasMediaType: "text/plain"))
    }
}
