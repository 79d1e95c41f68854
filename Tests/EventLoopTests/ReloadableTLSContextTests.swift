import Testing
@testable import EventLoop

@Suite struct ReloadableTLSContextTests {
    @Test func newConnectionsSeeTheNewCertificateWhileLiveOnesKeepWorking() async throws {
        let certificates = try await TestCertificates.shared()
        let clientContext = try TLSContext(configuration: certificates.clientConfiguration())
        let reloadable = try ReloadableTLSContext(configuration: certificates.serverConfiguration())

        let before = try TLSTestPair(clientContext: clientContext, serverContext: reloadable.current)
        let (beforeClient, beforeServer) = before.handshake()
        #expect(beforeClient.isComplete && beforeServer.isComplete)

        try reloadable.reload(from: certificates.serverConfiguration(rsa: true))

        let after = try TLSTestPair(clientContext: clientContext, serverContext: reloadable.current)
        let (afterClient, afterServer) = after.handshake()
        #expect(afterClient.isComplete && afterServer.isComplete)
        #expect(after.client.peerCertificateSubject == "/CN=localhost-rsa")
        #expect(before.client.peerCertificateSubject == "/CN=localhost-ecdsa")

        let message = Array("still alive".utf8)
        #expect(try before.transfer(message, from: before.client, to: before.server) == message)
        #expect(try before.transfer(message, from: before.server, to: before.client) == message)
    }

    @Test func aBadPairKeepsTheOldContext() async throws {
        let certificates = try await TestCertificates.shared()
        let reloadable = try ReloadableTLSContext(configuration: certificates.serverConfiguration())
        let original = reloadable.current
        let error = try #require(throws: TLSError.self) {
            try reloadable.reload(from: .server(
                certificateChain: .file(certificates.ecdsaServerCertificate), privateKey: .file(certificates.rsaServerKey)))
        }
        #expect(error.code == .badPrivateKey)
        #expect(reloadable.current === original)
    }
}
