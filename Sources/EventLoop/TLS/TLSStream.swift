/// TLS over a transport `ByteStream` (normally the reactor's `Socket`), itself a `ByteStream`.
///
/// `read` decrypts into the caller's buffer, normally in place: ciphertext is read from the
/// transport into that same buffer, so a connection waiting for its next request holds no
/// ciphertext buffer (partial records and handshakes use the connection's inbound buffer).
/// `write` encrypts the caller's bytes into the connection's outbound buffer (kept while small)
/// and sends them with one transport write: up to 16 KB leave as one TLS record in one transport
/// write, and writes over 64 KB are flushed in 64 KB pieces. `releaseIdleBuffers()` frees
/// every buffer of an idle connection. `writev` does the same for a head
/// and body given separately.
///
/// The handshake runs explicitly with `handshake()`, or implicitly on the first `read` or
/// `write` (a server can simply start reading). Deadlines are the transport's.
///
/// Reading can make OpenSSL queue records of its own, such as the reply to a TLS 1.3
/// KeyUpdate that requests one. `read` returns decrypted bytes first and sends those records
/// before it next waits for input (or with the next `write`), each time under a fresh
/// deadline of `writeTimeoutWhileReading`: the `writeDeadline` left from the last write has
/// usually passed. A peer that keeps making it send without reading anything back (a flood of
/// KeyUpdate requests) is refused once `maximumOutputWhileReading` bytes were sent that way
/// since the last `write`.
///
/// Like every `ByteStream` it is confined to its event loop, and it expects one operation at a
/// time (request/response use, as HTTP/1.1 does): do not read in one task while writing in another.
public final class TLSStream<Transport: ByteStream>: ByteStream {
    /// The underlying stream carrying ciphertext.
    public let transport: Transport
    /// The TLS state machine (for inspection: ALPN, version, peer certificate).
    public let connection: TLSConnection
    /// Set by `close()` or `shutdown()`: no close_notify after either.
    private var isClosed = false
    /// How long a send made while reading may take; it fails with the transport's `.timedOut`.
    public var writeTimeoutWhileReading: Duration = .seconds(30)
    /// Bytes sent while reading since the last `write`.
    private var outputWhileReading = 0
    /// The most bytes reading may send between two writes (about 600 KeyUpdate replies).
    static var maximumOutputWhileReading: Int { 16_384 }

    /// Room requested for each transport read: one maximal TLS record (2^14 + 2048 + header).
    private static var receiveChunk: Int { 16_384 + 2_048 + 5 }
    /// Plaintext encrypted per transport write when a write is larger than this.
    private static var maximumFlush: Int { 65_536 }
    /// Caller buffers at least this large receive ciphertext directly (see `read(into:)`).
    private static var inPlaceMinimum: Int { 2_048 }
    /// An idle connection keeps an outbound buffer up to this size for its next response.
    private static var retainedOutboundCapacity: Int { 4_096 }

    /// Wraps `transport` in a new TLS connection from `context`. Clients pass the `serverName`
    /// they dialled (DNS name or IP literal) for SNI and verification.
    public init(transport: Transport, context: TLSContext, serverName: String? = nil) throws {
        self.transport = transport
        self.connection = try TLSConnection(context: context, serverName: serverName)
    }

    public var readDeadline: Deadline {
        get { transport.readDeadline }
        set { transport.readDeadline = newValue }
    }

    public var writeDeadline: Deadline {
        get { transport.writeDeadline }
        set { transport.writeDeadline = newValue }
    }

    /// Runs the handshake to completion. Throws `TLSError` (after sending any alert) or the
    /// transport's `IOError`; a peer that closes mid-handshake fails with `.unexpectedEOF`.
    nonisolated(nonsending) public func handshake() async throws {
        while true {
            let outcome = connection.handshake()
            switch outcome {
            case .complete:
                try await flush()
                connection.releaseIdleBuffers()
                return
            case .failed(let error):
                try? await flush()
                throw error
            case .incomplete:
                try await flush()
                try await receive()
            }
        }
    }

    /// Reads and decrypts at least one byte into `buffer`; returns 0 after the peer's close_notify.
    /// A transport EOF without close_notify throws `TLSError.unexpectedEOF`.
    ///
    /// When nothing is buffered and `buffer` is large enough, ciphertext is read from the
    /// transport straight into `buffer` and decrypted in place, so an idle connection waiting
    /// for its next request holds no ciphertext buffer of its own.
    nonisolated(nonsending) public func read(into buffer: UnsafeMutableRawBufferPointer) async throws -> Int {
        precondition(!buffer.isEmpty, "read into an empty buffer")
        if !connection.isHandshakeComplete {
            try await handshake()
        }
        var outcome = connection.needsCiphertextToRead ? .incomplete : connection.read(into: buffer)
        while true {
            switch outcome {
            case .bytes(let count):
                // Records of our own that reading queued (a KeyUpdate reply) leave before the
                // next wait for input or with the next write: the plaintext is returned first.
                connection.releaseIdleBuffers(retainingUpTo: Self.retainedOutboundCapacity)
                return count
            case .closed:
                return 0
            case .failed(let error):
                try? await flush()
                throw error
            case .incomplete:
                try await flushWhileReading()
                if connection.canDecryptInPlace, buffer.count >= Self.inPlaceMinimum {
                    let count = try await readTransport(into: buffer)
                    outcome = count == 0
                        ? connection.read(into: buffer)
                        : connection.read(into: buffer, decryptingInPlace: count)
                } else {
                    try await receive()
                    outcome = connection.read(into: buffer)
                }
            }
        }
    }

    /// Returns at once when a `read` would not need the transport (plaintext or ciphertext
    /// already buffered, the handshake still to run, the input ended); otherwise waits until the
    /// transport is readable. Consumes nothing; call `releaseIdleBuffers()` first for a wait
    /// that holds no buffer.
    nonisolated(nonsending) public func waitUntilReadable() async throws {
        if connection.needsCiphertextToRead {
            try await transport.waitUntilReadable()
        }
    }

    /// Frees the empty ciphertext buffers and OpenSSL's record buffers: a connection waiting
    /// for its next request then holds no TLS buffer. Buffered data is kept.
    public func releaseIdleBuffers() {
        connection.releaseIdleBuffers()
        connection.releaseRecordBuffers()
    }

    /// Encrypts and sends all of `bytes`.
    nonisolated(nonsending) public func write(_ bytes: UnsafeRawBufferPointer) async throws {
        if !connection.isHandshakeComplete {
            try await handshake()
        }
        outputWhileReading = 0
        var offset = 0
        while offset < bytes.count {
            let count = min(Self.maximumFlush, bytes.count - offset)
            switch connection.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])) {
            case .complete:
                offset += count
                try await flush()
                connection.releaseIdleBuffers(retainingUpTo: Self.retainedOutboundCapacity)
            case .failed(let error):
                try? await flush()
                throw error
            case .incomplete:
                // Only a handshake message from the peer can be outstanding: fetch it, retry.
                try await flush()
                try await receive()
            }
        }
    }

    /// Encrypts and sends `buffers` as if they were one: up to 64 KB in total are gathered first,
    /// so a response head and body of up to 16 KB together still leave as one TLS record in one
    /// transport write. Larger totals are written buffer by buffer.
    nonisolated(nonsending) public func writev(_ buffers: [UnsafeRawBufferPointer]) async throws {
        let total = buffers.reduce(0) { $0 + $1.count }
        guard buffers.count > 1, total <= Self.maximumFlush else {
            for buffer in buffers { try await write(buffer) }
            return
        }
        let gathered = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 16)
        defer { gathered.deallocate() }
        var offset = 0
        for buffer in buffers where buffer.count > 0 {
            (gathered.baseAddress! + offset).copyMemory(from: buffer.baseAddress!, byteCount: buffer.count)
            offset += buffer.count
        }
        try await write(UnsafeRawBufferPointer(gathered))
    }

    /// Sends close_notify (within `writeDeadline`, errors ignored), then closes the transport.
    nonisolated(nonsending) public func shutdown() async {
        guard !isClosed else { return }
        isClosed = true
        if case .complete = connection.shutdown() {
            try? await flush()
        }
        transport.close()
    }

    /// Closes the transport at once, without close_notify: `ByteStream.close()` cannot wait for
    /// a write, and a close_notify sent later could race with whoever closes the socket next
    /// (`TCPServer` closes it as soon as the handler returns). Use `shutdown()` for a clean close.
    /// Calling it twice is harmless.
    public func close() {
        isClosed = true
        transport.close()
    }

    /// The ALPN protocol agreed on in the handshake, or nil.
    public var negotiatedALPN: String? { connection.negotiatedALPN }

    /// The negotiated protocol version, e.g. `"TLSv1.3"`.
    public var negotiatedProtocolVersion: String { connection.negotiatedProtocolVersion }

    /// The subject of the peer's certificate (`/CN=...`), or nil if it sent none.
    public var peerCertificateSubject: String? { connection.peerCertificateSubject }

    /// Sends all queued ciphertext in one transport write.
    nonisolated(nonsending) private func flush() async throws {
        let pending = connection.takeCiphertext()
        guard !pending.isEmpty else { return }
        try await transport.write(pending)
        connection.didSendCiphertext(pending.count)
    }

    /// Sends the records reading queued, under a fresh deadline; refuses a peer that made the
    /// stream send more than `maximumOutputWhileReading` bytes this way since the last write.
    nonisolated(nonsending) private func flushWhileReading() async throws {
        let pending = connection.takeCiphertext()
        guard !pending.isEmpty else { return }
        outputWhileReading += pending.count
        guard outputWhileReading <= Self.maximumOutputWhileReading else {
            throw TLSError(code: .protocolError, operation: "read", details: [
                "the peer made the server send \(outputWhileReading) bytes (KeyUpdate replies?) without a request",
            ])
        }
        transport.writeDeadline = Deadline.now() + writeTimeoutWhileReading
        try await transport.write(pending)
        connection.didSendCiphertext(pending.count)
    }

    /// Reads one chunk of ciphertext from the transport into the connection's inbound buffer.
    nonisolated(nonsending) private func receive() async throws {
        let space = connection.receiveSpace(minimumCount: Self.receiveChunk)
        connection.didReceiveCiphertext(try await readTransport(into: space))
    }

    /// Reads ciphertext from the transport into `space`; at end of stream tells the connection
    /// and returns 0. A second end of stream means the connection ignored the first: fail.
    nonisolated(nonsending) private func readTransport(into space: UnsafeMutableRawBufferPointer) async throws -> Int {
        guard !connection.hasInputEnded else {
            throw TLSError(code: .unexpectedEOF, operation: "read", details: ["the transport already ended"])
        }
        let count = try await transport.read(into: space)
        if count == 0 { connection.feedEndOfInput() }
        return count
    }
}
