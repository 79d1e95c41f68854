import COpenSSL
import COpenSSLShims

/// The two ciphertext queues of one TLS connection, shared with OpenSSL through `TLSCiphertextBIO`.
///
/// `inbound` holds bytes received from the transport that OpenSSL has not read yet; `outbound`
/// holds records OpenSSL produced that the transport has not sent yet. `borrowed` is ciphertext
/// in the caller's buffer, lent for the duration of one read (see `TLSConnection.read(into:decryptingInPlace:)`).
/// Used by one connection on one thread, never re-entrantly (OpenSSL calls the BIO from inside
/// the connection's own calls, which do not hold an access to these fields), so the fields skip
/// the runtime's exclusivity checks, several per request.
final class TLSCiphertextBuffers {
    /// Received ciphertext, consumed by OpenSSL's reads before `borrowed`.
    @exclusivity(unchecked) var inbound = TLSCiphertextBuffer()
    /// Received ciphertext in memory we do not own; OpenSSL's reads advance past what they copy.
    @exclusivity(unchecked) var borrowed = UnsafeRawBufferPointer(start: nil, count: 0)
    /// Produced ciphertext, consumed by the transport.
    @exclusivity(unchecked) var outbound = TLSCiphertextBuffer()
    /// The transport reported end of stream: once `inbound` is drained, reads report EOF
    /// instead of "retry later".
    @exclusivity(unchecked) var inboundEnded = false
}

/// A custom OpenSSL BIO whose reads and writes go straight to a connection's `TLSCiphertextBuffers`.
///
/// Why not a `BIO_s_mem` pair: with memory BIOs every record is copied twice on each side
/// (transport buffer into the BIO, BIO out to a transport buffer), and each memory BIO keeps its
/// own growing `BUF_MEM` per connection on top of ours. Here OpenSSL's write of a finished
/// record lands directly in `outbound`, which the transport then sends in one write, and its
/// reads copy directly out of the buffer the transport read into. The method table is built
/// once per process; every callback clears the retry flags on entry (as nio-ssl's
/// ByteBufferBIO does) so a stale "retry" never survives a successful call.
enum TLSCiphertextBIO {
    /// Creates a BIO over `buffers`. The BIO does not retain `buffers`: its owner must free the
    /// BIO (through `SSL_free`) before releasing `buffers`.
    static func make(over buffers: TLSCiphertextBuffers) -> OpaquePointer? {
        guard let method, let bio = BIO_new(method) else { return nil }
        BIO_set_data(bio, Unmanaged.passUnretained(buffers).toOpaque())
        return bio
    }

    nonisolated(unsafe) private static let method: OpaquePointer? = {
        let type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK
        guard let method = BIO_meth_new(type, "irsa-webhook ciphertext") else { return nil }
        BIO_meth_set_write_ex(method, writeCallback)
        BIO_meth_set_read_ex(method, readCallback)
        BIO_meth_set_ctrl(method, controlCallback)
        BIO_meth_set_create(method, createCallback)
        BIO_meth_set_destroy(method, destroyCallback)
        return method
    }()

    /// Runs `body` with the BIO's buffers without retaining them (OpenSSL calls the BIO several
    /// times per record; the connection that owns the buffers outlives every call).
    @inline(__always)
    private static func withBuffers<Result>(of bio: OpaquePointer?, _ body: (TLSCiphertextBuffers) -> Result) -> Result {
        Unmanaged<TLSCiphertextBuffers>.fromOpaque(BIO_get_data(bio)!)._withUnsafeGuaranteedRef(body)
    }

    private static let createCallback: @convention(c) (OpaquePointer?) -> Int32 = { bio in
        BIO_set_init(bio, 1)
        return 1
    }

    private static let destroyCallback: @convention(c) (OpaquePointer?) -> Int32 = { bio in
        BIO_set_data(bio, nil)
        return 1
    }

    private static let writeCallback: @convention(c) (
        OpaquePointer?, UnsafePointer<CChar>?, Int, UnsafeMutablePointer<Int>?
    ) -> Int32 = { bio, data, count, written in
        COpenSSLShims_BIO_clear_retry_flags(bio)
        TLSCiphertextBIO.withBuffers(of: bio) { $0.outbound.append(UnsafeRawBufferPointer(start: data, count: count)) }
        written?.pointee = count
        return 1
    }

    private static let readCallback: @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<CChar>?, Int, UnsafeMutablePointer<Int>?
    ) -> Int32 = { bio, destination, count, readCount in
        COpenSSLShims_BIO_clear_retry_flags(bio)
        let destination = UnsafeMutableRawBufferPointer(start: destination, count: count)
        return TLSCiphertextBIO.withBuffers(of: bio) { buffers in
            var copied = buffers.inbound.consume(into: destination)
            if copied == 0, buffers.borrowed.count > 0 {
                copied = min(count, buffers.borrowed.count)
                destination.baseAddress!.copyMemory(from: buffers.borrowed.baseAddress!, byteCount: copied)
                buffers.borrowed = UnsafeRawBufferPointer(rebasing: buffers.borrowed[copied...])
            }
            readCount?.pointee = copied
            if copied > 0 { return 1 }
            if !buffers.inboundEnded {
                COpenSSLShims_BIO_set_retry_read(bio)
            }
            return 0
        }
    }

    private static let controlCallback: @convention(c) (
        OpaquePointer?, Int32, Int, UnsafeMutableRawPointer?
    ) -> Int = { bio, command, argument, _ in
        switch command {
        case BIO_CTRL_FLUSH:
            return 1
        case BIO_CTRL_GET_CLOSE:
            return Int(BIO_get_shutdown(bio))
        case BIO_CTRL_SET_CLOSE:
            BIO_set_shutdown(bio, Int32(truncatingIfNeeded: argument))
            return 1
        case BIO_CTRL_PENDING:
            return TLSCiphertextBIO.withBuffers(of: bio) { $0.inbound.readableCount + $0.borrowed.count }
        case BIO_CTRL_WPENDING:
            return TLSCiphertextBIO.withBuffers(of: bio) { $0.outbound.readableCount }
        case BIO_CTRL_EOF:
            return TLSCiphertextBIO.withBuffers(of: bio) {
                $0.inboundEnded && $0.inbound.readableCount == 0 && $0.borrowed.isEmpty ? 1 : 0
            }
        default:
            return 0
        }
    }
}
