/// Everything needed to build a `TLSContext`: the role, certificates, trust and protocol limits.
///
/// Build one with `server(...)` or `client(...)`; the defaults are the hardened settings described
/// on each property, and tests may narrow them (for example `maximumVersion = .tls12`).
public struct TLSConfiguration: Sendable, Hashable {
    /// Which end of the handshake contexts built from this configuration play.
    public enum Role: Sendable, Hashable {
        case server
        case client
    }

    /// Where PEM text comes from: a file path (read when the context is built) or the text itself.
    public enum PEMSource: Sendable, Hashable {
        case file(String)
        case pem(String)
    }

    /// A TLS protocol version usable as a minimum or maximum.
    public enum ProtocolVersion: Sendable, Hashable, Comparable {
        case tls12
        case tls13
    }

    /// Which end of the handshake this is.
    public var role: Role
    /// The certificate chain, leaf first: required for servers, optional for clients (mTLS).
    public var certificateChain: PEMSource?
    /// The private key of the leaf certificate (RSA or ECDSA), unencrypted PEM.
    public var privateKey: PEMSource?
    /// Servers: CA certificates that client certificates must chain to; when set, every client
    /// must present a valid certificate (mTLS). Clients: the CA bundle that verifies servers;
    /// `nil` means the system's default trust store.
    public var trustRoots: PEMSource?
    /// Clients only: accept any server certificate and host. For tests and debugging only.
    public var insecureSkipVerify: Bool
    /// The lowest protocol version accepted. Default TLS 1.2.
    public var minimumVersion: ProtocolVersion
    /// The highest protocol version offered. Default TLS 1.3 (preferred when both ends have it).
    public var maximumVersion: ProtocolVersion
    /// TLS 1.2 cipher list: ECDHE key exchange with AEAD ciphers only (forward secrecy, no CBC).
    public var tls12Ciphers: String
    /// TLS 1.3 cipher suites (OpenSSL's default set).
    public var tls13CipherSuites: String
    /// Key exchange groups in preference order.
    public var groups: String
    /// ALPN protocols: offered by clients in order; servers select the first one the client
    /// also offers, and accept clients that send no ALPN at all.
    public var applicationProtocols: [String]
    /// Servers: how many sessions the in-memory session cache holds (for session-ID resumption;
    /// session tickets are on as well).
    public var sessionCacheSize: Int

    /// The hardened defaults shared by both roles.
    public static let defaultTLS12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")
    public static let defaultTLS13CipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
    public static let defaultGroups = "X25519:P-256:P-384"

    init(role: Role, certificateChain: PEMSource?, privateKey: PEMSource?, trustRoots: PEMSource?, insecureSkipVerify: Bool) {
        self.role = role
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.trustRoots = trustRoots
        self.insecureSkipVerify = insecureSkipVerify
        self.minimumVersion = .tls12
        self.maximumVersion = .tls13
        self.tls12Ciphers = Self.defaultTLS12Ciphers
        self.tls13CipherSuites = Self.defaultTLS13CipherSuites
        self.groups = Self.defaultGroups
        self.applicationProtocols = ["http/1.1"]
        self.sessionCacheSize = 1024
    }

    /// A server presenting `certificateChain` with `privateKey`; with `clientCertificateAuthority`
    /// it requires and verifies client certificates against those CAs (mTLS).
    public static func server(
        certificateChain: PEMSource,
        privateKey: PEMSource,
        clientCertificateAuthority: PEMSource? = nil
    ) -> TLSConfiguration {
        TLSConfiguration(
            role: .server, certificateChain: certificateChain, privateKey: privateKey,
            trustRoots: clientCertificateAuthority, insecureSkipVerify: false)
    }

    /// A client verifying servers against `trustRoots` (nil: the system trust store), optionally
    /// presenting a client certificate. `insecureSkipVerify` turns verification off entirely.
    public static func client(
        trustRoots: PEMSource? = nil,
        certificateChain: PEMSource? = nil,
        privateKey: PEMSource? = nil,
        insecureSkipVerify: Bool = false
    ) -> TLSConfiguration {
        TLSConfiguration(
            role: .client, certificateChain: certificateChain, privateKey: privateKey,
            trustRoots: trustRoots, insecureSkipVerify: insecureSkipVerify)
    }
}
