import Foundation
@testable import EventLoop

/// Certificates generated once per test process with the `openssl` CLI into a temporary
/// directory: a CA, servers (ECDSA P-256 and RSA-2048) for localhost/127.0.0.1, a client
/// certificate for mTLS, a wrong-host certificate, and a second, untrusted CA with a client.
struct TestCertificates: Sendable {
    let directory: String

    var caCertificate: String { path("ca.crt") }
    var ecdsaServerCertificate: String { path("server-ec.crt") }
    var ecdsaServerKey: String { path("server-ec.key") }
    var rsaServerCertificate: String { path("server-rsa.crt") }
    var rsaServerKey: String { path("server-rsa.key") }
    var clientCertificate: String { path("client.crt") }
    var clientKey: String { path("client.key") }
    var wrongHostCertificate: String { path("wronghost.crt") }
    var wrongHostKey: String { path("wronghost.key") }
    var untrustedCACertificate: String { path("untrusted-ca.crt") }
    var untrustedClientCertificate: String { path("untrusted-client.crt") }
    var untrustedClientKey: String { path("untrusted-client.key") }

    func path(_ name: String) -> String { directory + "/" + name }

    /// The shared set, generated on first use.
    static func shared() async throws -> TestCertificates {
        try await generation.value
    }

    /// A server configuration with the ECDSA or RSA certificate.
    func serverConfiguration(rsa: Bool = false) -> TLSConfiguration {
        .server(certificateChain: .file(rsa ? rsaServerCertificate : ecdsaServerCertificate),
                privateKey: .file(rsa ? rsaServerKey : ecdsaServerKey))
    }

    /// A client trusting the test CA.
    func clientConfiguration() -> TLSConfiguration {
        .client(trustRoots: .file(caCertificate))
    }

    private static let generation = Task { try await generate() }

    private static func generate() async throws -> TestCertificates {
        let directory = NSTemporaryDirectory() + "irsa-tls-certs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        let rsa = ["-newkey", "rsa:2048"]
        try await certificates.makeAuthority("ca", subject: "/CN=irsa-test-ca", key: ec)
        try await certificates.makeAuthority("untrusted-ca", subject: "/CN=untrusted-ca", key: ec)
        let serverExtensions = "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
        try await certificates.makeLeaf("server-ec", subject: "/CN=localhost-ecdsa", key: ec, extensions: serverExtensions, authority: "ca")
        try await certificates.makeLeaf("server-rsa", subject: "/CN=localhost-rsa", key: rsa, extensions: serverExtensions, authority: "ca")
        try await certificates.makeLeaf(
            "wronghost", subject: "/CN=wrong.example", key: ec,
            extensions: "subjectAltName=DNS:wrong.example,IP:10.9.8.7\nextendedKeyUsage=serverAuth\n", authority: "ca")
        let clientExtensions = "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n"
        try await certificates.makeLeaf("client", subject: "/CN=test-client", key: ec, extensions: clientExtensions, authority: "ca")
        try await certificates.makeLeaf("untrusted-client", subject: "/CN=untrusted-client", key: ec, extensions: clientExtensions, authority: "untrusted-ca")
        return certificates
    }

    private func makeAuthority(_ name: String, subject: String, key: [String]) async throws {
        try await openssl(["req", "-x509", "-new", "-nodes"] + key + [
            "-keyout", path("\(name).key"), "-out", path("\(name).crt"), "-days", "2", "-subj", subject,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
    }

    private func makeLeaf(_ name: String, subject: String, key: [String], extensions: String, authority: String) async throws {
        try extensions.write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        try await openssl(["req", "-new", "-nodes"] + key + [
            "-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject,
        ])
        try await openssl([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(authority).crt"), "-CAkey", path("\(authority).key"),
            "-set_serial", String(UInt32.random(in: 1...UInt32.max)), "-days", "2", "-extfile", path("\(name).ext"),
            "-out", path("\(name).crt"),
        ])
    }

    private func openssl(_ arguments: [String]) async throws {
        let result = try await TLSTestProcess.run("openssl", arguments, timeout: .seconds(30))
        guard result.succeeded else {
            throw TLSTestProcess.Failure(description: "openssl \(arguments.joined(separator: " ")) failed: \(result.standardError)")
        }
    }
}
