import COpenSSL
import COpenSSLShims
#if canImport(Glibc)
import Glibc
#endif

/// A configured OpenSSL `SSL_CTX`: protocol limits, ciphers, certificates and trust, from which
/// each `TLSConnection` is created.
///
/// Immutable after `init`, so it is shared freely across event loops (OpenSSL allows creating
/// `SSL` objects from one `SSL_CTX` on many threads). Building one reads and checks every file
/// and throws `TLSError` naming the file and OpenSSL's reason.
public final class TLSContext: @unchecked Sendable {
    /// The configuration this context was built from.
    public let configuration: TLSConfiguration
    /// When the leaf certificate stops being valid (its notAfter), in seconds since the Unix
    /// epoch; nil for a context without a certificate (a client without one).
    public private(set) var certificateExpiry: Int64?
    let pointer: OpaquePointer
    /// ALPN protocols in wire format (length-prefixed), owned here for the ALPN callback.
    fileprivate let applicationProtocolsWire: UnsafeMutableRawBufferPointer

    /// Builds and checks a context; throws `TLSError` on any bad file, key or setting.
    public init(configuration: TLSConfiguration) throws {
        ERR_clear_error()
        let method = configuration.role == .server ? TLS_server_method() : TLS_client_method()
        guard let pointer = SSL_CTX_new(method) else {
            throw TLSError.drainingErrorQueue(.invalidConfiguration, operation: "SSL_CTX_new")
        }
        self.configuration = configuration
        self.pointer = pointer
        self.applicationProtocolsWire = Self.wireFormat(configuration.applicationProtocols)
        try configureProtocol()
        try configureCertificates()
        try configureVerification()
        try configureApplicationProtocols()
    }

    deinit {
        SSL_CTX_free(pointer)
        applicationProtocolsWire.deallocate()
    }

    private func configureProtocol() throws {
        let configuration = self.configuration
        guard COpenSSLShims_SSL_CTX_set_min_proto_version(pointer, configuration.minimumVersion.openSSLValue) == 1,
              COpenSSLShims_SSL_CTX_set_max_proto_version(pointer, configuration.maximumVersion.openSSLValue) == 1
        else {
            throw TLSError.drainingErrorQueue(.invalidConfiguration, operation: "set protocol versions")
        }
        guard SSL_CTX_set_cipher_list(pointer, configuration.tls12Ciphers) == 1 else {
            throw TLSError.drainingErrorQueue(.invalidConfiguration, operation: "set TLS 1.2 ciphers \(configuration.tls12Ciphers)")
        }
        guard SSL_CTX_set_ciphersuites(pointer, configuration.tls13CipherSuites) == 1 else {
            throw TLSError.drainingErrorQueue(.invalidConfiguration, operation: "set TLS 1.3 cipher suites \(configuration.tls13CipherSuites)")
        }
        guard COpenSSLShims_SSL_CTX_set1_groups_list(pointer, configuration.groups) == 1 else {
            throw TLSError.drainingErrorQueue(.invalidConfiguration, operation: "set groups \(configuration.groups)")
        }
        var options = COpenSSLShims_SSL_OP_NO_COMPRESSION() | COpenSSLShims_SSL_OP_NO_RENEGOTIATION()
        if configuration.role == .server {
            options |= COpenSSLShims_SSL_OP_CIPHER_SERVER_PREFERENCE()
        }
        SSL_CTX_set_options(pointer, options)
        // Accept a retried write from a different address (the caller's buffer may move between
        // attempts). No SSL_MODE_RELEASE_BUFFERS: it frees and reallocates both 17 KB record
        // buffers around every record; `TLSConnection.releaseRecordBuffers()` frees them once
        // the connection is idle instead (`TLSStream.releaseIdleBuffers()`).
        _ = COpenSSLShims_SSL_CTX_set_mode(pointer, Int(SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        if configuration.role == .server {
            _ = COpenSSLShims_SSL_CTX_set_session_cache_mode(pointer, Int(SSL_SESS_CACHE_SERVER))
            _ = COpenSSLShims_SSL_CTX_sess_set_cache_size(pointer, configuration.sessionCacheSize)
            let sessionContext = Array("irsa-webhook".utf8)
            SSL_CTX_set_session_id_context(pointer, sessionContext, UInt32(sessionContext.count))
            // One TLS 1.3 ticket per handshake: enough for resumption, fewer bytes on the wire.
            SSL_CTX_set_num_tickets(pointer, 1)
        } else {
            _ = COpenSSLShims_SSL_CTX_set_session_cache_mode(pointer, Int(SSL_SESS_CACHE_OFF))
        }
    }

    private func configureCertificates() throws {
        let configuration = self.configuration
        switch (configuration.certificateChain, configuration.privateKey) {
        case (nil, nil) where configuration.role == .client:
            return
        case (nil, _), (_, nil):
            throw TLSError(
                code: configuration.certificateChain == nil ? .badCertificateFile : .badPrivateKey,
                operation: "configure \(configuration.role)",
                details: ["a certificate chain and its private key are both required"])
        case let (chainSource?, keySource?):
            let chain = try PEMReader.certificates(from: chainSource)
            defer { chain.dropFirst().forEach { X509_free($0) } }
            defer { X509_free(chain[0]) }
            guard SSL_CTX_use_certificate(pointer, chain[0]) == 1 else {
                throw TLSError.drainingErrorQueue(.badCertificateFile, operation: "use certificate from \(chainSource.name)")
            }
            certificateExpiry = Self.secondsSinceEpoch(X509_get0_notAfter(chain[0]))
            for intermediate in chain.dropFirst() {
                // add0 takes ownership on success; take a reference so the deferred free balances.
                X509_up_ref(intermediate)
                guard COpenSSLShims_SSL_CTX_add0_chain_cert(pointer, intermediate) == 1 else {
                    X509_free(intermediate)
                    throw TLSError.drainingErrorQueue(.badCertificateFile, operation: "add chain certificate from \(chainSource.name)")
                }
            }
            let key = try PEMReader.privateKey(from: keySource)
            defer { EVP_PKEY_free(key) }
            guard SSL_CTX_use_PrivateKey(pointer, key) == 1 else {
                throw TLSError.drainingErrorQueue(.badPrivateKey, operation: "use private key from \(keySource.name)")
            }
            guard SSL_CTX_check_private_key(pointer) == 1 else {
                throw TLSError.drainingErrorQueue(
                    .badPrivateKey, operation: "check private key",
                    extra: ["the private key in \(keySource.name) does not match the certificate in \(chainSource.name)"])
            }
        }
    }

    /// An ASN.1 time as seconds since the Unix epoch; nil when OpenSSL cannot read it.
    private static func secondsSinceEpoch(_ time: UnsafePointer<ASN1_TIME>?) -> Int64? {
        var parts = tm()
        guard let time, ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Int64(timegm(&parts))
    }

    private func configureVerification() throws {
        let configuration = self.configuration
        switch configuration.role {
        case .server:
            guard let authority = configuration.trustRoots else { return }
            let store = SSL_CTX_get_cert_store(pointer)
            let authorities = try PEMReader.certificates(from: authority)
            defer { authorities.forEach { X509_free($0) } }
            for certificate in authorities {
                guard X509_STORE_add_cert(store, certificate) == 1, SSL_CTX_add_client_CA(pointer, certificate) == 1 else {
                    throw TLSError.drainingErrorQueue(.badCertificateFile, operation: "trust client CA from \(authority.name)")
                }
            }
            SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        case .client:
            if configuration.insecureSkipVerify {
                SSL_CTX_set_verify(pointer, SSL_VERIFY_NONE, nil)
                return
            }
            if let roots = configuration.trustRoots {
                let store = SSL_CTX_get_cert_store(pointer)
                let authorities = try PEMReader.certificates(from: roots)
                defer { authorities.forEach { X509_free($0) } }
                for certificate in authorities {
                    guard X509_STORE_add_cert(store, certificate) == 1 else {
                        throw TLSError.drainingErrorQueue(.badCertificateFile, operation: "trust CA from \(roots.name)")
                    }
                }
            } else if SSL_CTX_set_default_verify_paths(pointer) != 1 {
                throw TLSError.drainingErrorQueue(.badCertificateFile, operation: "load the system trust store")
            }
            SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER, nil)
        }
    }

    private func configureApplicationProtocols() throws {
        guard applicationProtocolsWire.count > 0 else { return }
        switch configuration.role {
        case .client:
            // Inverted convention: 0 means success.
            let base = applicationProtocolsWire.baseAddress!.assumingMemoryBound(to: UInt8.self)
            guard SSL_CTX_set_alpn_protos(pointer, base, UInt32(applicationProtocolsWire.count)) == 0 else {
                throw TLSError.drainingErrorQueue(.invalidConfiguration, operation: "set ALPN protocols")
            }
        case .server:
            SSL_CTX_set_alpn_select_cb(pointer, selectApplicationProtocol, Unmanaged.passUnretained(self).toOpaque())
        }
    }

    /// ALPN protocols as OpenSSL wants them: each name prefixed by its one-byte length.
    private static func wireFormat(_ protocols: [String]) -> UnsafeMutableRawBufferPointer {
        let bytes = protocols.flatMap { [UInt8(truncatingIfNeeded: $0.utf8.count)] + Array($0.utf8) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        buffer.copyBytes(from: bytes)
        return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<bytes.count])
    }
}

/// The server's ALPN choice: the first of our protocols (in preference order) that the client
/// also offers. A client offering none of ours continues without ALPN rather than failing
/// (`NOACK`); a client sending no ALPN never gets here. `argument` is the unretained
/// `TLSContext`, which outlives its `SSL_CTX` and so every connection.
private let selectApplicationProtocol: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
    UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { _, selected, selectedLength, offered, offeredLength, argument in
    guard let offered, let argument, let selected, let selectedLength else { return SSL_TLSEXT_ERR_NOACK }
    let ours = Unmanaged<TLSContext>.fromOpaque(argument).takeUnretainedValue().applicationProtocolsWire
    let theirs = UnsafeRawBufferPointer(start: offered, count: Int(offeredLength))
    var ourIndex = 0
    while ourIndex < ours.count {
        let ourLength = Int(ours[ourIndex])
        let ourName = UnsafeRawBufferPointer(rebasing: ours[(ourIndex + 1)..<(ourIndex + 1 + ourLength)])
        var theirIndex = 0
        while theirIndex < theirs.count {
            let theirLength = Int(theirs[theirIndex])
            let theirEnd = theirIndex + 1 + theirLength
            if theirEnd <= theirs.count, theirs[(theirIndex + 1)..<theirEnd].elementsEqual(ourName) {
                selected.pointee = ourName.baseAddress!.assumingMemoryBound(to: UInt8.self)
                selectedLength.pointee = UInt8(ourLength)
                return SSL_TLSEXT_ERR_OK
            }
            theirIndex = theirEnd
        }
        ourIndex += 1 + ourLength
    }
    return SSL_TLSEXT_ERR_NOACK
}

extension TLSConfiguration.ProtocolVersion {
    var openSSLValue: Int32 {
        switch self {
        case .tls12: return TLS1_2_VERSION
        case .tls13: return TLS1_3_VERSION
        }
    }
}

extension TLSConfiguration.PEMSource {
    /// The file path, or a short label for inline PEM, for error messages.
    var name: String {
        switch self {
        case .file(let path): return path
        case .pem: return "inline PEM"
        }
    }
}
