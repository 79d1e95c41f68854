#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import COpenSSLShims

/// One TLS session as a synchronous state machine over an OpenSSL `SSL` object: no sockets, no
/// awaiting. Whoever owns it moves ciphertext between it and a transport.
///
/// Six verbs, as in nio-ssl's SSLConnection: `handshake()`, `shutdown()`, `feedCiphertext(_:)`
/// (or `receiveSpace`/`didReceiveCiphertext` to read the transport straight into the inbound
/// buffer), `takeCiphertext()`/`didSendCiphertext(_:)`, `read(into:)` (or
/// `read(into:decryptingInPlace:)` for ciphertext already in the caller's buffer) and `write(_:)`.
/// Call order: call a verb; then send everything `takeCiphertext()` returns; if the verb was
/// `incomplete`, feed more ciphertext (or `feedEndOfInput()` at transport EOF) and call it again.
/// WANT_READ/WANT_WRITE are `incomplete`, never errors. After a failure every verb fails with
/// the same error (any alert OpenSSL queued is still in `takeCiphertext()`).
///
/// Ciphertext goes through `TLSCiphertextBIO`, straight into and out of this connection's own
/// buffers (see there for why not memory BIOs). Every SSL I/O call is preceded by emptying the
/// error queue and followed immediately by `SSL_get_error`, on the same thread.
/// Not thread-safe: confine it to one event loop.
public final class TLSConnection {
    /// The result of a handshake, shutdown or write.
    public enum Outcome: Sendable {
        /// Needs more ciphertext from the peer (or its output sent) before it can finish.
        case incomplete
        /// Done.
        case complete
        /// Failed for good; the connection is unusable.
        case failed(TLSError)
    }

    /// The result of `read(into:)`.
    public enum ReadOutcome: Sendable {
        /// This many plaintext bytes were placed at the start of the buffer (at least one).
        case bytes(Int)
        /// No plaintext yet: feed more ciphertext and read again.
        case incomplete
        /// The peer sent close_notify: a clean end of stream.
        case closed
        /// Failed for good (including EOF without close_notify).
        case failed(TLSError)
    }

    private enum State {
        case handshaking
        case established
        /// The peer's close_notify arrived; we may still write.
        case inputClosed
        /// Our close_notify was produced.
        case shutDown
        case failed(TLSError)
    }

    /// The context this connection was created from (kept alive with it).
    public let context: TLSContext
    private let ssl: OpaquePointer
    private let buffers: TLSCiphertextBuffers
    @exclusivity(unchecked) private var state = State.handshaking

    /// A connection playing `context`'s role. Clients pass the `serverName` they dialled: a DNS
    /// name is sent as SNI and checked against the certificate's DNS SANs; an IP literal is not
    /// sent as SNI and is checked against its IP SANs. A verifying client needs a server name.
    public init(context: TLSContext, serverName: String? = nil) throws {
        ERR_clear_error()
        guard let ssl = SSL_new(context.pointer) else {
            throw TLSError.drainingErrorQueue(.invalidConfiguration, operation: "SSL_new")
        }
        let buffers = TLSCiphertextBuffers()
        guard let bio = TLSCiphertextBIO.make(over: buffers) else {
            SSL_free(ssl)
            throw TLSError.drainingErrorQueue(.invalidConfiguration, operation: "create ciphertext BIO")
        }
        SSL_set_bio(ssl, bio, bio)
        self.context = context
        self.ssl = ssl
        self.buffers = buffers
        switch context.configuration.role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            try configureClient(serverName: serverName)
        }
    }

    deinit {
        // Frees the BIO too, before `buffers` (which it points at) is released.
        SSL_free(ssl)
    }

    private func configureClient(serverName: String?) throws {
        let verifying = !context.configuration.insecureSkipVerify
        guard let serverName else {
            if verifying {
                throw TLSError(code: .invalidConfiguration, operation: "create client connection",
                               details: ["a verifying client needs the server's name or IP address"])
            }
            return
        }
        let isIPAddress = Self.isIPAddressLiteral(serverName)
        if !isIPAddress, COpenSSLShims_SSL_set_tlsext_host_name(ssl, serverName) != 1 {
            throw TLSError.drainingErrorQueue(.invalidConfiguration, operation: "set SNI \(serverName)")
        }
        guard verifying else { return }
        // As Go's crypto/tls: a wildcard only stands for a whole left-most label.
        SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        let accepted = isIPAddress
            ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName)
            : SSL_set1_host(ssl, serverName)
        if accepted != 1 {
            throw TLSError.drainingErrorQueue(.invalidConfiguration, operation: "expect peer name \(serverName)")
        }
    }

    // MARK: Ciphertext in and out

    /// Copies ciphertext received from the peer into the inbound buffer.
    public func feedCiphertext(_ bytes: UnsafeRawBufferPointer) {
        buffers.inbound.append(bytes)
    }

    /// Free space (at least `minimumCount` bytes) to read ciphertext into without a copy; then
    /// call `didReceiveCiphertext(_:)`. Valid until the next call on this connection.
    public func receiveSpace(minimumCount: Int) -> UnsafeMutableRawBufferPointer {
        buffers.inbound.writableSpace(minimumCount: minimumCount)
    }

    /// Marks `count` bytes read into `receiveSpace` as received.
    public func didReceiveCiphertext(_ count: Int) {
        buffers.inbound.didWrite(count)
    }

    /// The transport reached end of stream: no more ciphertext will come.
    public func feedEndOfInput() {
        buffers.inboundEnded = true
    }

    /// Whether `feedEndOfInput()` was called.
    public var hasInputEnded: Bool { buffers.inboundEnded }

    /// Ciphertext waiting to be sent to the peer (empty when none), valid until the next call on
    /// this connection. Call `didSendCiphertext(_:)` with how much was sent.
    public func takeCiphertext() -> UnsafeRawBufferPointer {
        buffers.outbound.readableBytes
    }

    /// Marks `count` bytes from `takeCiphertext()` as sent.
    public func didSendCiphertext(_ count: Int) {
        buffers.outbound.consume(count)
    }

    /// Whether received ciphertext is waiting in the inbound buffer (OpenSSL has not read it).
    public var hasBufferedCiphertext: Bool { buffers.inbound.readableCount > 0 }

    /// Frees whichever ciphertext buffers are empty and larger than `retainedCapacity`, so an
    /// idle connection holds as little memory as possible (the next use allocates them again).
    public func releaseIdleBuffers(retainingUpTo retainedCapacity: Int = 0) {
        buffers.inbound.releaseIfEmpty(retainingUpTo: retainedCapacity)
        buffers.outbound.releaseIfEmpty(retainingUpTo: retainedCapacity)
    }

    /// Frees OpenSSL's record buffers (about 17 KB each way) when they hold nothing, so an idle
    /// connection keeps none; OpenSSL allocates them again for the next record.
    public func releaseRecordBuffers() {
        _ = SSL_free_buffers(ssl)
    }

    // MARK: Handshake and shutdown

    /// Advances the handshake. `complete` once both sides are authenticated.
    public func handshake() -> Outcome {
        switch state {
        case .handshaking:
            break
        case .failed(let error):
            return .failed(error)
        case .established, .inputClosed, .shutDown:
            return .complete
        }
        Self.clearErrorQueue()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            state = .established
            return .complete
        }
        switch classify(result, operation: "handshake") {
        case .retry:
            return .incomplete
        case .peerClosed:
            return .failed(fail(TLSError(code: .handshakeFailed, operation: "handshake", details: ["peer sent close_notify during the handshake"])))
        case .failure(let error):
            return .failed(fail(error))
        }
    }

    /// Produces our close_notify. `complete` once it is queued in `takeCiphertext()`; we do not
    /// wait for the peer's (HTTP does not need it, and the transport closes next).
    public func shutdown() -> Outcome {
        switch state {
        case .shutDown:
            return .complete
        case .failed(let error):
            return .failed(error)
        case .handshaking:
            // Nothing to protect yet: no close_notify before the handshake finished.
            state = .shutDown
            return .complete
        case .established, .inputClosed:
            break
        }
        Self.clearErrorQueue()
        let result = SSL_shutdown(ssl)
        if result >= 0 {
            state = .shutDown
            return .complete
        }
        switch classify(result, operation: "shutdown") {
        case .retry, .peerClosed:
            // Our close_notify cannot block on a memory BIO; treat any retry as done.
            state = .shutDown
            return .complete
        case .failure(let error):
            return .failed(fail(error))
        }
    }

    // MARK: Plaintext

    /// Decrypts up to `buffer.count` bytes into `buffer`. Drives the handshake first if needed.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadOutcome {
        switch state {
        case .failed(let error):
            return .failed(error)
        case .inputClosed:
            return .closed
        case .shutDown:
            return .failed(TLSError(code: .connectionClosed, operation: "read", details: ["the connection was shut down"]))
        case .handshaking, .established:
            break
        }
        precondition(!buffer.isEmpty, "read into an empty buffer")
        var count = 0
        Self.clearErrorQueue()
        let result = SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count)
        if result == 1 {
            if case .handshaking = state { state = .established }
            return .bytes(count)
        }
        switch classify(result, operation: "read") {
        case .retry:
            return .incomplete
        case .peerClosed:
            state = .inputClosed
            return .closed
        case .failure(let error):
            return .failed(fail(error))
        }
    }

    /// Whether `read(into:decryptingInPlace:)` may be used now: no ciphertext is buffered, neither
    /// here nor inside OpenSSL (such as the first part of a record).
    public var canDecryptInPlace: Bool {
        !hasBufferedCiphertext && SSL_has_pending(ssl) == 0
    }

    /// Whether `read(into:)` could now only answer `incomplete`: the session is established, its
    /// input has not ended, and no ciphertext is buffered here or inside OpenSSL. The caller can
    /// then read the transport first and skip a read that is bound to fail.
    public var needsCiphertextToRead: Bool {
        guard case .established = state, !buffers.inboundEnded else { return false }
        return canDecryptInPlace
    }

    /// Decrypts ciphertext that the caller read into the first `ciphertextCount` bytes of
    /// `buffer`, writing the plaintext into the same `buffer`: no inbound buffer, no extra copy.
    ///
    /// Safe only when `canDecryptInPlace`: then every record OpenSSL decrypts in this call was
    /// read whole from `buffer` (OpenSSL copies it out of the BIO before decrypting, and without
    /// read-ahead reads no further than the record it needs), and its plaintext is shorter than
    /// its ciphertext, so plaintext only overwrites ciphertext already consumed. Ciphertext
    /// OpenSSL did not read (further records) is copied into the inbound buffer before returning.
    public func read(into buffer: UnsafeMutableRawBufferPointer, decryptingInPlace ciphertextCount: Int) -> ReadOutcome {
        precondition(canDecryptInPlace, "in-place decryption with ciphertext already buffered")
        precondition(ciphertextCount <= buffer.count, "more ciphertext than buffer")
        buffers.borrowed = UnsafeRawBufferPointer(rebasing: buffer[0..<ciphertextCount])
        defer {
            buffers.inbound.append(buffers.borrowed)
            buffers.borrowed = UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return read(into: buffer)
    }

    /// Encrypts all of `bytes` into `takeCiphertext()`. Up to 16 KB becomes a single TLS record;
    /// more becomes several, all queued before returning. Drives the handshake first if needed.
    public func write(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        switch state {
        case .failed(let error):
            return .failed(error)
        case .shutDown:
            return .failed(TLSError(code: .connectionClosed, operation: "write", details: ["the connection was shut down"]))
        case .handshaking, .established, .inputClosed:
            break
        }
        guard bytes.count > 0 else { return .complete }
        var written = 0
        Self.clearErrorQueue()
        let result = SSL_write_ex(ssl, bytes.baseAddress, bytes.count, &written)
        if result == 1 {
            if case .handshaking = state { state = .established }
            return .complete
        }
        switch classify(result, operation: "write") {
        case .retry:
            return .incomplete
        case .peerClosed:
            return .failed(fail(TLSError(code: .connectionClosed, operation: "write", details: ["the peer closed the connection"])))
        case .failure(let error):
            return .failed(fail(error))
        }
    }

    // MARK: Inspection

    /// Whether the handshake has completed.
    public var isHandshakeComplete: Bool {
        switch state {
        case .established, .inputClosed, .shutDown: return true
        case .handshaking, .failed: return false
        }
    }

    /// The ALPN protocol both sides agreed on, or nil.
    public var negotiatedALPN: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The negotiated protocol version, e.g. `"TLSv1.3"`.
    public var negotiatedProtocolVersion: String {
        String(cString: SSL_get_version(ssl))
    }

    /// The negotiated cipher, e.g. `"TLS_AES_128_GCM_SHA256"`, or nil before the handshake.
    public var negotiatedCipher: String? {
        guard let cipher = SSL_get_current_cipher(ssl) else { return nil }
        return String(cString: SSL_CIPHER_get_name(cipher))
    }

    /// The peer certificate's subject in OpenSSL's one-line form (`/CN=...`), or nil.
    public var peerCertificateSubject: String? {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        var text = [CChar](repeating: 0, count: 512)
        guard X509_NAME_oneline(X509_get_subject_name(certificate), &text, Int32(text.count)) != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether this session was resumed from an earlier one (ticket or session ID).
    public var isSessionReused: Bool {
        SSL_session_reused(ssl) == 1
    }

    // MARK: Errors

    private enum Classification {
        case retry
        case peerClosed
        case failure(TLSError)
    }

    /// Maps a failed SSL call's result to what it means for us. Must directly follow the call.
    private func classify(_ result: Int32, operation: String) -> Classification {
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .retry
        case SSL_ERROR_ZERO_RETURN:
            return .peerClosed
        case SSL_ERROR_SYSCALL:
            // With our BIO there are no system calls: this is EOF from the transport.
            return .failure(TLSError.drainingErrorQueue(
                .unexpectedEOF, operation: operation, extra: ["the peer closed the transport without close_notify"]))
        default:
            return .failure(describeFailure(operation: operation))
        }
    }

    private func describeFailure(operation: String) -> TLSError {
        let reason = ERR_GET_REASON(ERR_peek_error())
        var extra: [String] = []
        let verifyResult = SSL_get_verify_result(ssl)
        if verifyResult != Int(X509_V_OK) {
            extra.append("certificate verify: \(String(cString: X509_verify_cert_error_string(verifyResult)))")
        }
        let code: TLSError.Code
        switch reason {
        case SSL_R_UNEXPECTED_EOF_WHILE_READING:
            code = .unexpectedEOF
            extra.append("the peer closed the transport without close_notify")
        case SSL_R_CERTIFICATE_VERIFY_FAILED:
            code = .certificateVerificationFailed
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
            code = .peerCertificateMissing
        case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, SSL_R_TLSV1_ALERT_UNKNOWN_CA, SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN,
             SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED, SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
            code = .certificateRejectedByPeer
        default:
            if case .handshaking = state { code = .handshakeFailed } else { code = .protocolError }
        }
        return TLSError.drainingErrorQueue(code, operation: operation, extra: extra)
    }

    /// Empties this thread's OpenSSL error queue before an SSL I/O call, so that `SSL_get_error`
    /// sees only that call's errors. The queue is almost always empty already (failures drain
    /// it): peeking is cheaper than `ERR_clear_error`, which resets every slot of the queue.
    /// `SSL_get_error` itself tells an error apart by peeking, so a queue that peeks empty is
    /// empty for it.
    @inline(__always)
    private static func clearErrorQueue() {
        if ERR_peek_error() != 0 { ERR_clear_error() }
    }

    private func fail(_ error: TLSError) -> TLSError {
        state = .failed(error)
        return error
    }

    private static func isIPAddressLiteral(_ name: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET, name, &address) == 1 || inet_pton(AF_INET6, name, &address) == 1
    }
}
