import Foundation
import Glibc
import Testing
@testable import EventLoop

/// A self-signed ECDSA P-256 certificate for 127.0.0.1, made with the openssl CLI.
struct TestCertificate {
    let directory: String
    var certificatePath: String { directory + "/cert.pem" }
    var keyPath: String { directory + "/key.pem" }

    init() throws {
        directory = NSTemporaryDirectory() + "irsa-http-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let result = try runProcess("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ])
        guard result.status == 0 else { throw TLSTestError.openssl(result.error) }
    }

    enum TLSTestError: Error { case openssl(String) }

    func serverContext() throws -> ReloadableTLSContext {
        try ReloadableTLSContext(configuration: .server(certificateChain: .file(certificatePath), privateKey: .file(keyPath)))
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite(.serialized) struct HTTPServerTLSTests {
    @Test func curlOverTLSWithKeepAliveAndExpectContinue() async throws {
        let certificate = try TestCertificate()
        defer { certificate.remove() }
        let server = try await TestHTTPServer(tls: try certificate.serverContext())
        let url = "https://127.0.0.1:\(server.port)"
        let body = String(repeating: "y", count: 5000)
        let result = try runProcess("/usr/bin/curl", [
            "-sS", "-v", "--max-time", "10", "--cacert", certificate.certificatePath,
            "\(url)/hello?tls", "--next", "--cacert", certificate.certificatePath,
            "-H", "Expect: 100-continue", "--data-binary", body, "\(url)/echo",
        ])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output == "hello tls" + body)
        #expect(result.error.contains("HTTP/1.1 100 Continue"))
        #expect(server.observer["opened"] == 1, "curl reused the TLS connection")
        await server.stop()
    }

    @Test func clientOverTLSReusesItsConnection() async throws {
        let certificate = try TestCertificate()
        defer { certificate.remove() }
        let server = try await TestHTTPServer(tls: try certificate.serverContext())
        let clientContext = try TLSContext(configuration: .client(trustRoots: .file(certificate.certificatePath)))
        let loop = server.group.loops[0]
        let port = server.port
        let opened = try await onLoop(loop) {
            let client = HTTPClient(loop: loop, tlsContext: clientContext)
            for index in 0..<3 {
                let response = try await client.execute(
                    try HTTPClientRequest(method: .POST, url: "https://127.0.0.1:\(port)/echo", body: Array("tls \(index)".utf8)),
                    deadline: .after(.seconds(5)))
                #expect(String(decoding: response.body, as: UTF8.self) == "tls \(index)")
            }
            client.closeIdleConnections()
            return client.connectionsOpened
        }
        #expect(opened == 1)
        #expect(server.observer["opened"] == 1)
        await server.stop()
    }

    @Test func plaintextOnTheTLSPortIsAHandshakeFailure() async throws {
        let certificate = try TestCertificate()
        defer { certificate.remove() }
        let server = try await TestHTTPServer(tls: try certificate.serverContext())
        let connection = try server.connect()
        try connection.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = try? connection.receiveUntilClose()
        #expect(await waitUntil { server.observer["tls failed"] == 1 })
        #expect(server.observer["served"] == 0)
        await server.stop()
    }

    @Test func silentClientIsDroppedAfterTheHandshakeTimeout() async throws {
        let certificate = try TestCertificate()
        defer { certificate.remove() }
        var configuration = HTTPServer.Configuration()
        configuration.timeouts.tlsHandshake = .milliseconds(200)
        let server = try await TestHTTPServer(configuration: configuration, tls: try certificate.serverContext())
        let connection = try server.connect()
        let start = Deadline.now()
        #expect(try connection.receiveUntilClose().isEmpty)
        #expect(Deadline.now().duration(since: start) < .seconds(3))
        #expect(await waitUntil { server.observer["tls failed"] == 1 })
        await server.stop()
    }
}
