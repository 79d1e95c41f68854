import COpenSSL

/// A TLS failure: what went wrong, and the OpenSSL error queue at that moment as readable text.
///
/// A struct with static codes rather than an enum, so that new kinds can be added without
/// breaking callers that switch over it (as `IOError` and nio-ssl's `NIOSSLExtraError` do).
public struct TLSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The handshake failed for a reason other than the ones below (no shared cipher or
        /// protocol version, an alert from the peer, a malformed message).
        public static let handshakeFailed = Code(name: "handshake failed")
        /// The peer's certificate chain did not verify, or did not match the expected host or IP.
        public static let certificateVerificationFailed = Code(name: "certificate verification failed")
        /// The server requires a client certificate and the client sent none.
        public static let peerCertificateMissing = Code(name: "peer certificate missing")
        /// The peer rejected our certificate (an alert such as unknown CA or bad certificate).
        public static let certificateRejectedByPeer = Code(name: "certificate rejected by peer")
        /// The peer broke the protocol after the handshake (bad record MAC, unexpected message).
        public static let protocolError = Code(name: "protocol error")
        /// The transport ended without a close_notify (mid-handshake or mid-stream).
        public static let unexpectedEOF = Code(name: "unexpected EOF")
        /// A certificate (chain or CA) file or PEM text could not be read.
        public static let badCertificateFile = Code(name: "bad certificate file")
        /// A private key could not be read, or does not match the certificate.
        public static let badPrivateKey = Code(name: "bad private key")
        /// A configuration value OpenSSL refused (cipher list, groups, protocol versions).
        public static let invalidConfiguration = Code(name: "invalid configuration")
        /// The connection is shut down or failed earlier; no further I/O is possible.
        public static let connectionClosed = Code(name: "connection closed")
        public var description: String { name }
    }

    /// The kind of failure.
    public let code: Code
    /// What we were doing, e.g. `"handshake"` or `"load certificate chain /etc/tls/tls.crt"`.
    public let operation: String
    /// The drained OpenSSL error queue (one `library:function:reason` entry per error), plus the
    /// X.509 verification result when it explains the failure. Empty when OpenSSL said nothing.
    public let details: [String]

    public init(code: Code, operation: String, details: [String] = []) {
        self.code = code
        self.operation = operation
        self.details = details
    }

    public var description: String {
        details.isEmpty ? "TLS \(operation): \(code)" : "TLS \(operation): \(code): \(details.joined(separator: "; "))"
    }

    /// A failure of `code` carrying the calling thread's OpenSSL error queue, which it empties.
    static func drainingErrorQueue(_ code: Code, operation: String, extra: [String] = []) -> TLSError {
        TLSError(code: code, operation: operation, details: extra + drainOpenSSLErrorQueue())
    }
}

/// Empties the calling thread's OpenSSL error queue into readable strings, oldest first.
func drainOpenSSLErrorQueue() -> [String] {
    var messages: [String] = []
    while true {
        let error = ERR_get_error()
        if error == 0 { return messages }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(error, &text, text.count)
        messages.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
