import Foundation
import Testing
@testable import EventLoop

@Suite struct TLSContextTests {
    @Test func missingCertificateFileIsNamedInTheError() async throws {
        let certificates = try await TestCertificates.shared()
        let error = try #require(throws: TLSError.self) {
            try TLSContext(configuration: .server(
                certificateChain: .file("/nonexistent/tls.crt"), privateKey: .file(certificates.ecdsaServerKey)))
        }
        #expect(error.code == .badCertificateFile)
        #expect(error.description.contains("/nonexistent/tls.crt"))
        #expect(error.description.contains("No such file"), "\(error)")
    }

    @Test func garbageCertificateIsRejected() async throws {
        let certificates = try await TestCertificates.shared()
        let error = try #require(throws: TLSError.self) {
            try TLSContext(configuration: .server(
                certificateChain: .pem("not a certificate"), privateKey: .file(certificates.ecdsaServerKey)))
        }
        #expect(error.code == .badCertificateFile)
        #expect(error.description.contains("no PEM certificate found"), "\(error)")
    }

    @Test func mismatchedKeyIsRejected() async throws {
        let certificates = try await TestCertificates.shared()
        let error = try #require(throws: TLSError.self) {
            try TLSContext(configuration: .server(
                certificateChain: .file(certificates.ecdsaServerCertificate), privateKey: .file(certificates.rsaServerKey)))
        }
        #expect(error.code == .badPrivateKey)
        #expect(error.description.contains("does not match"), "\(error)")
    }

    @Test func keyFileWithoutKeyIsRejected() async throws {
        let certificates = try await TestCertificates.shared()
        let error = try #require(throws: TLSError.self) {
            try TLSContext(configuration: .server(
                certificateChain: .file(certificates.ecdsaServerCertificate), privateKey: .file(certificates.ecdsaServerCertificate)))
        }
        #expect(error.code == .badPrivateKey)
    }

    @Test func inlinePEMWorksLikeFiles() async throws {
        let certificates = try await TestCertificates.shared()
        func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
        let server = try TLSContext(configuration: .server(
            certificateChain: .pem(text(certificates.rsaServerCertificate)), privateKey: .pem(text(certificates.rsaServerKey))))
        let client = try TLSContext(configuration: .client(
            trustRoots: .pem(text(certificates.caCertificate)),
            certificateChain: .pem(text(certificates.clientCertificate)), privateKey: .pem(text(certificates.clientKey))))
        let pair = try TLSTestPair(clientContext: client, serverContext: server)
        let (clientOutcome, serverOutcome) = pair.handshake()
        #expect(clientOutcome.isComplete && serverOutcome.isComplete, "\(clientOutcome) \(serverOutcome)")
    }

    @Test func invalidCipherListIsRejected() async throws {
        let certificates = try await TestCertificates.shared()
        var configuration = certificates.serverConfiguration()
        configuration.tls12Ciphers = "NO-SUCH-CIPHER"
        let error = try #require(throws: TLSError.self) { try TLSContext(configuration: configuration) }
        #expect(error.code == .invalidConfiguration)
    }
}
