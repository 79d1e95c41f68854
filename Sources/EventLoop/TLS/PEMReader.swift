#if canImport(Glibc)
import Glibc
#endif
import COpenSSL

/// Reads certificates and private keys from PEM files or PEM text, with errors that name the
/// source and OpenSSL's reason. Used only while building a `TLSContext` (cold path).
enum PEMReader {
    /// Every certificate in `source`, in order (leaf first for a chain). Never empty; the caller
    /// owns one reference to each (`X509_free`).
    static func certificates(from source: TLSConfiguration.PEMSource) throws -> [OpaquePointer] {
        try withBIO(reading: source, failure: .badCertificateFile) { bio in
            var certificates: [OpaquePointer] = []
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
                certificates.append(certificate)
            }
            guard !certificates.isEmpty else {
                throw TLSError.drainingErrorQueue(
                    .badCertificateFile, operation: "read certificates from \(source.name)",
                    extra: ["no PEM certificate found"])
            }
            // The loop ends on a "no start line" error at the end of input: not a failure.
            ERR_clear_error()
            return certificates
        }
    }

    /// The first private key (RSA or ECDSA, unencrypted) in `source`; the caller owns it
    /// (`EVP_PKEY_free`). An encrypted key fails instead of prompting for a passphrase.
    static func privateKey(from source: TLSConfiguration.PEMSource) throws -> OpaquePointer {
        try withBIO(reading: source, failure: .badPrivateKey) { bio in
            guard let key = PEM_read_bio_PrivateKey(bio, nil, refusePassphrase, nil) else {
                throw TLSError.drainingErrorQueue(
                    .badPrivateKey, operation: "read private key from \(source.name)",
                    extra: ["no unencrypted PEM private key found"])
            }
            return key
        }
    }

    private static func withBIO<Result>(
        reading source: TLSConfiguration.PEMSource,
        failure code: TLSError.Code,
        _ body: (OpaquePointer) throws -> Result
    ) throws -> Result {
        ERR_clear_error()
        switch source {
        case .file(let path):
            guard let bio = BIO_new_file(path, "r") else {
                let reason = String(cString: strerror(errno))
                ERR_clear_error()
                throw TLSError(code: code, operation: "open \(path)", details: [reason])
            }
            defer { BIO_free(bio) }
            return try body(bio)
        case .pem(let text):
            var bytes = Array(text.utf8)
            return try bytes.withUnsafeMutableBytes { buffer in
                guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else {
                    throw TLSError.drainingErrorQueue(code, operation: "read inline PEM")
                }
                defer { BIO_free(bio) }
                return try body(bio)
            }
        }
    }
}

/// A passphrase callback that supplies none, so an encrypted key fails instead of prompting.
private let refusePassphrase: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = { _, _, _, _ in
    0
}
