import Foundation
import Testing
@testable import EventLoop

/// TLSStream over real sockets on 127.0.0.1, against independent TLS implementations:
/// curl, openssl s_client and Python's ssl module.
@Suite(.serialized) struct TLSStreamTests {
    // MARK: Our server, their clients

    @Test(arguments: [false, true])
    func curlFetchesOverTLS13AndTLS12(tls12: Bool) async throws {
        let certificates = try await TestCertificates.shared()
        try await TLSTestServer.serving(certificates.serverConfiguration()) { server in
            var arguments = [
                "-sS", "-v", "--max-time", "10", "--cacert", certificates.caCertificate,
                "--resolve", "localhost:\(server.port):127.0.0.1", "https://localhost:\(server.port)/",
            ]
            if tls12 { arguments += ["--tls-max", "1.2"] }
            let result = try await TLSTestProcess.run("curl", arguments)
            #expect(result.succeeded, "\(result.standardError)")
            #expect(result.standardOutput == TLSTestServer.body)
            #expect(result.standardError.contains(tls12 ? "SSL connection using TLSv1.2 / ECDHE-ECDSA-" : "SSL connection using TLSv1.3"), "\(result.standardError)")
            #expect(result.standardError.contains("ALPN: server accepted http/1.1"), "\(result.standardError)")
            let event = try #require(try await server.waitForEvents(count: 1).first)
            #expect(event.error == nil && event.otherError == nil, "\(event)")
            #expect(event.protocolVersion == (tls12 ? "TLSv1.2" : "TLSv1.3"))
            #expect(event.applicationProtocol == "http/1.1")
        }
    }

    @Test(arguments: [false, true])
    func sixteenKilobyteResponseLeavesAsOneRecordInOneWrite(gathered: Bool) async throws {
        let certificates = try await TestCertificates.shared()
        try await TLSTestServer.serving(certificates.serverConfiguration(), options: .init(responseSize: 16_384, gathered: gathered)) { server in
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("tls-16k-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: output) }
            let result = try await TLSTestProcess.run("curl", [
                "-sS", "--max-time", "10", "--cacert", certificates.caCertificate, "-o", output,
                "--resolve", "localhost:\(server.port):127.0.0.1", "https://localhost:\(server.port)/",
            ])
            #expect(result.succeeded, "\(result.standardError)")
            let response = TLSTestServer.response(size: 16_384)
            #expect(response.utf8.count == 16_384)
            let expectedBody = String(response[response.range(of: "\r\n\r\n")!.upperBound...])
            #expect(try String(contentsOfFile: output, encoding: .utf8) == expectedBody)
            let event = try #require(try await server.waitForEvents(count: 1).first)
            #expect(event.responseWrites == 1, "\(event)")
            #expect(event.responseRecords == 1, "\(event)")
        }
    }

    @Test func opensslClientVerifiesAndReceivesResponse() async throws {
        let certificates = try await TestCertificates.shared()
        try await TLSTestServer.serving(certificates.serverConfiguration(rsa: true)) { server in
            let result = try await TLSTestProcess.run("openssl", [
                "s_client", "-connect", "127.0.0.1:\(server.port)", "-servername", "localhost", "-verify_hostname", "localhost",
                "-CAfile", certificates.caCertificate, "-verify_return_error", "-alpn", "http/1.1", "-ign_eof",
            ], input: "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(result.succeeded, "\(result.standardError)")
            #expect(result.standardOutput.contains("Verify return code: 0 (ok)"), "\(result.standardOutput)")
            #expect(result.standardOutput.contains("ALPN protocol: http/1.1"))
            #expect(result.standardOutput.contains(TLSTestServer.body))
        }
    }

    @Test func pythonClientReceivesResponseAndCleanCloseNotify() async throws {
        let certificates = try await TestCertificates.shared()
        try await TLSTestServer.serving(certificates.serverConfiguration()) { server in
            // recv() returns b"" only after a close_notify; a bare TCP close raises SSLEOFError.
            let script = """
            import socket, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[2])
            context.set_alpn_protocols(["http/1.1"])
            with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as raw:
                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(b"GET / HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n")
                    data = b""
                    while True:
                        chunk = tls.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    print(tls.version(), tls.selected_alpn_protocol())
                    sys.stdout.write(data.decode())
            """
            let result = try await TLSTestProcess.run("python3", ["-c", script, String(server.port), certificates.caCertificate])
            #expect(result.succeeded, "\(result.standardError)")
            #expect(result.standardOutput.hasPrefix("TLSv1.3 http/1.1\n"), "\(result.standardOutput)")
            #expect(result.standardOutput.hasSuffix(TLSTestServer.body))
        }
    }

    @Test(arguments: [
        (["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], "unsupported protocol"),
        (["-tls1_2", "-cipher", "AES128-SHA"], "no shared cipher"),
        (["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:AES128-GCM-SHA256"], "no shared cipher"),
    ])
    func weakProtocolsAndCiphersAreRefused(options: [String], serverReason: String) async throws {
        let certificates = try await TestCertificates.shared()
        try await TLSTestServer.serving(certificates.serverConfiguration(rsa: true)) { server in
            let result = try await TLSTestProcess.run("openssl", [
                "s_client", "-connect", "127.0.0.1:\(server.port)", "-servername", "localhost",
                "-CAfile", certificates.caCertificate,
            ] + options, input: "")
            #expect(!result.succeeded)
            let event = try #require(try await server.waitForEvents(count: 1).first)
            let error = try #require(event.error, "\(event)")
            #expect(error.code == .handshakeFailed)
            #expect(error.description.contains(serverReason), "\(error)")
        }
    }

    @Test func clientClosingMidHandshakeEndsTheConnectionWithUnexpectedEOF() async throws {
        let certificates = try await TestCertificates.shared()
        try await TLSTestServer.serving(certificates.serverConfiguration()) { server in
            let clientContext = try TLSContext(configuration: certificates.clientConfiguration())
            let loop = server.group.loops[0]
            try await withTaskExecutorPreference(loop) {
                // Half a ClientHello, then close.
                let hello = try TLSConnection(context: clientContext, serverName: "localhost")
                _ = hello.handshake()
                let bytes = Array(hello.takeCiphertext())
                let socket = try await Socket.connect(to: SocketAddress(host: "127.0.0.1", port: server.port), on: loop, deadline: .after(.seconds(5)))
                try await socket.writeArray(Array(bytes[0..<(bytes.count / 2)]))
                socket.close()
                // Nothing at all, then close.
                let silent = try await Socket.connect(to: SocketAddress(host: "127.0.0.1", port: server.port), on: loop, deadline: .after(.seconds(5)))
                silent.close()
            }
            let events = try await server.waitForEvents(count: 2)
            for event in events {
                #expect(event.error?.code == .unexpectedEOF, "\(event)")
            }
        }
    }

    @Test func silentClientTimesOutDuringHandshake() async throws {
        let certificates = try await TestCertificates.shared()
        try await TLSTestServer.serving(certificates.serverConfiguration(), options: .init(timeout: .milliseconds(200))) { server in
            let loop = sharedGroup.loops[0]
            let started = ContinuousClock.now
            let socket = try await withTaskExecutorPreference(loop) {
                try await Socket.connect(to: SocketAddress(host: "127.0.0.1", port: server.port), on: loop, deadline: .after(.seconds(5)))
            }
            let event = try #require(try await server.waitForEvents(count: 1).first)
            #expect(event.otherError?.contains("timed out") == true, "\(event)")
            #expect(ContinuousClock.now - started < .seconds(5))
            socket.close()
        }
    }

    @Test func sessionTicketResumesTheSession() async throws {
        let certificates = try await TestCertificates.shared()
        try await TLSTestServer.serving(certificates.serverConfiguration()) { server in
            let sessionFile = FileManager.default.temporaryDirectory.appendingPathComponent("tls-session-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: sessionFile) }
            let common = ["s_client", "-connect", "127.0.0.1:\(server.port)", "-servername", "localhost",
                          "-CAfile", certificates.caCertificate, "-ign_eof"]
            let request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
            let first = try await TLSTestProcess.run("openssl", common + ["-sess_out", sessionFile], input: request)
            #expect(first.standardOutput.contains("New, TLSv1.3"), "\(first.standardOutput)")
            let second = try await TLSTestProcess.run("openssl", common + ["-sess_in", sessionFile], input: request)
            #expect(second.standardOutput.contains("Reused, TLSv1.3"), "\(second.standardOutput)")
            #expect(second.standardOutput.contains(TLSTestServer.body))
        }
    }

    @Test func mutualTLSWithCurlClientCertificate() async throws {
        let certificates = try await TestCertificates.shared()
        try await TLSTestServer.serving(TLSConnectionTests.mutualTLSServer(certificates)) { server in
            let common = [
                "-sS", "--max-time", "10", "--cacert", certificates.caCertificate,
                "--resolve", "localhost:\(server.port):127.0.0.1", "https://localhost:\(server.port)/",
            ]
            let accepted = try await TLSTestProcess.run("curl", common + ["--cert", certificates.clientCertificate, "--key", certificates.clientKey])
            #expect(accepted.succeeded, "\(accepted.standardError)")
            #expect(accepted.standardOutput == TLSTestServer.body)
            let refused = try await TLSTestProcess.run("curl", common)
            #expect(!refused.succeeded)
            let events = try await server.waitForEvents(count: 2)
            #expect(events.contains { $0.peerCertificateSubject == "/CN=test-client" && $0.error == nil })
            #expect(events.contains { $0.error?.code == .peerCertificateMissing })
        }
    }

    @Test func rotatedCertificateIsServedToNewConnections() async throws {
        let certificates = try await TestCertificates.shared()
        try await TLSTestServer.serving(certificates.serverConfiguration()) { server in
            func subject() async throws -> String {
                let result = try await TLSTestProcess.run("openssl", [
                    "s_client", "-connect", "127.0.0.1:\(server.port)", "-servername", "localhost", "-CAfile", certificates.caCertificate,
                ], input: "")
                return result.standardOutput
            }
            #expect(try await subject().contains("CN = localhost-ecdsa"))
            try server.contexts.reload(from: certificates.serverConfiguration(rsa: true))
            #expect(try await subject().contains("CN = localhost-rsa"))
        }
    }

    // MARK: Our client, their server

    @Test func clientVerifiesPythonServerAndExchangesOneMegabyte() async throws {
        let certificates = try await TestCertificates.shared()
        let python = try TLSTestPythonServer(certificates: certificates)
        defer { python.stop() }
        let port = try await python.port()
        let context = try TLSContext(configuration: certificates.clientConfiguration())
        let loop = sharedGroup.loops[0]
        try await withTaskExecutorPreference(loop) {
            for serverName in ["localhost", "127.0.0.1"] {
                let socket = try await Socket.connect(to: SocketAddress(host: "127.0.0.1", port: port), on: loop, deadline: .after(.seconds(5)))
                let stream = try TLSStream(transport: socket, context: context, serverName: serverName)
                stream.readDeadline = .after(.seconds(10))
                try await stream.handshake()
                #expect(stream.negotiatedProtocolVersion == "TLSv1.3")
                #expect(stream.negotiatedALPN == "http/1.1")
                #expect(stream.peerCertificateSubject == "/CN=localhost-ecdsa")
                let line = Array(repeating: UInt8(ascii: "a"), count: 1_048_576) + [10]
                try await stream.writeArray(line)
                var received: [UInt8] = []
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 16)
                defer { buffer.deallocate() }
                while true {
                    let count = try await stream.read(into: buffer)
                    if count == 0 { break }
                    received.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                }
                #expect(received == Array("echo:".utf8) + line)
                await stream.shutdown()
            }
        }
    }

    @Test(arguments: ["wrong.example", "127.0.0.2"])
    func clientRejectsPythonServerForAnotherName(serverName: String) async throws {
        let certificates = try await TestCertificates.shared()
        let python = try TLSTestPythonServer(certificates: certificates)
        defer { python.stop() }
        let port = try await python.port()
        let context = try TLSContext(configuration: certificates.clientConfiguration())
        let loop = sharedGroup.loops[0]
        try await withTaskExecutorPreference(loop) {
            let socket = try await Socket.connect(to: SocketAddress(host: "127.0.0.1", port: port), on: loop, deadline: .after(.seconds(5)))
            let stream = try TLSStream(transport: socket, context: context, serverName: serverName)
            stream.readDeadline = .after(.seconds(10))
            let error = await #expect(throws: TLSError.self) { try await stream.handshake() }
            #expect(error?.code == .certificateVerificationFailed, "\(String(describing: error))")
            stream.close()
        }
    }

    // MARK: Resources

    @Test func connectionsLeakNoDescriptors() async throws {
        let certificates = try await TestCertificates.shared()
        let context = try TLSContext(configuration: certificates.clientConfiguration())
        try await TLSTestServer.serving(certificates.serverConfiguration()) { server in
            let loop = sharedGroup.loops[0]
            let address = try SocketAddress(host: "127.0.0.1", port: server.port)
            let clientProbes = ProbeList()
            let rounds = 40
            try await withTaskExecutorPreference(loop) {
                for round in 0..<rounds {
                    let socket = try await Socket.connect(to: address, on: loop, deadline: .after(.seconds(5)))
                    clientProbes.add(socket.descriptor)
                    let stream = try TLSStream(transport: socket, context: context, serverName: round % 4 == 3 ? "wrong.example" : "localhost")
                    stream.readDeadline = .after(.seconds(10))
                    do {
                        try await stream.writeArray(Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
                        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4_096, alignment: 16)
                        defer { buffer.deallocate() }
                        while try await stream.read(into: buffer) > 0 {}
                        await stream.shutdown()
                    } catch let error as TLSError {
                        // Every fourth client rejects the server's certificate mid-handshake.
                        #expect(round % 4 == 3 && error.code == .certificateVerificationFailed, "\(error)")
                        stream.close()
                    }
                }
            }
            let events = try await server.waitForEvents(count: rounds)
            #expect(events.filter { $0.error == nil && $0.otherError == nil }.count == rounds * 3 / 4)
            #expect(server.probes.all.count == rounds)
            #expect(await expectAllClosed(server.probes.all), "server sockets left open")
            #expect(await expectAllClosed(clientProbes.all), "client sockets left open")
        }
    }
}

/// A Python `ssl` echo server on 127.0.0.1 (port 0, printed on stdout): for each connection it
/// reads one line, answers `echo:` + the line, and closes with close_notify. Killed on `stop()`.
final class TLSTestPythonServer: Sendable {
    private let process: TLSTestProcess

    private static let script = """
    import socket, ssl, sys
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    context.set_alpn_protocols(["http/1.1"])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(60)
    print(listener.getsockname()[1], flush=True)
    while True:
        connection, _ = listener.accept()
        connection.settimeout(10)
        try:
            with context.wrap_socket(connection, server_side=True) as tls:
                data = b""
                while not data.endswith(b"\\n"):
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                tls.sendall(b"echo:" + data)
                tls.unwrap()
        except Exception as error:
            print("connection failed:", error, file=sys.stderr, flush=True)
            connection.close()
    """

    init(certificates: TestCertificates) throws {
        process = try TLSTestProcess("python3", ["-c", Self.script, certificates.ecdsaServerCertificate, certificates.ecdsaServerKey])
    }

    func port() async throws -> UInt16 {
        let line = try await process.firstLine()
        guard let port = UInt16(line) else { throw TLSTestProcess.Failure(description: "bad port line \(line)") }
        return port
    }

    func stop() {
        process.kill()
    }
}
