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

    /// An idle keep-alive connection frees its buffers and waits for the next request's first
    /// byte; what follows must still be read whole: a request after an idle pause, one whose
    /// body arrives in a later TLS record, and two pipelined in one record. With every idle
    /// buffer release delay: at once (buffers freed before every wait), 50 ms (freed during the
    /// pauses only) and never within the test.
    @Test(arguments: [Duration.zero, .milliseconds(50), .seconds(60)])
    func idleKeepAliveConnectionServesLaterSplitAndPipelinedRequests(releaseDelay: Duration) async throws {
        let certificate = try TestCertificate()
        defer { certificate.remove() }
        var configuration = HTTPServer.Configuration()
        configuration.idleBufferReleaseDelay = releaseDelay
        let server = try await TestHTTPServer(configuration: configuration, tls: try certificate.serverContext())
        let script = """
        import socket, ssl, sys, time
        context = ssl.create_default_context(cafile=sys.argv[2])
        def post(body):
            return b"POST /echo HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body) + body
        def response(tls, pending):
            while b"\\r\\n\\r\\n" not in pending:
                pending += tls.recv(65536)
            head, rest = pending.split(b"\\r\\n\\r\\n", 1)
            length = int([line.split(b":")[1] for line in head.split(b"\\r\\n") if line.lower().startswith(b"content-length")][0])
            while len(rest) < length:
                rest += tls.recv(65536)
            sys.stdout.write(rest[:length].decode() + "|")
            return rest[length:]
        with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                pending = b""
                tls.sendall(post(b"first"))
                pending = response(tls, pending)
                time.sleep(0.2)
                tls.sendall(post(b"after a pause"))
                pending = response(tls, pending)
                time.sleep(0.1)
                split = post(b"split body")
                tls.sendall(split[:-4])
                time.sleep(0.1)
                tls.sendall(split[-4:])
                pending = response(tls, pending)
                tls.sendall(post(b"pipelined 1") + post(b"pipelined 2"))
                pending = response(tls, pending)
                pending = response(tls, pending)
        """
        let result = try runProcess("/usr/bin/python3", ["-c", script, String(server.port), certificate.certificatePath])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output == "first|after a pause|split body|pipelined 1|pipelined 2|")
        #expect(server.observer["opened"] == 1)
        await server.stop()
    }

    /// Heap per idle keep-alive TLS connection after one request, over 200 connections: the
    /// TLS state, the connection's objects and the task that waits for the next request, which
    /// keeps only small frames (the request was served by a task that has ended). The median
    /// of three rounds counts: other suites may allocate meanwhile. Debug build: about 20.3 KB
    /// (25.3 KB when the connection task served its requests itself and kept their frames).
    @Test func idleKeepAliveConnectionAfterARequestHoldsLittleHeap() async throws {
        let certificate = try TestCertificate()
        defer { certificate.remove() }
        var configuration = HTTPServer.Configuration()
        configuration.idleBufferReleaseDelay = .milliseconds(10)
        let server = try await TestHTTPServer(configuration: configuration, tls: try certificate.serverContext())
        let count = 200
        let script = """
        import socket, ssl, sys
        context = ssl.create_default_context(cafile=sys.argv[2])
        body = b"x" * 4800
        request = b"POST /echo HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body) + body
        connections = []
        for _ in range(int(sys.argv[3])):
            tls = context.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10), server_hostname="127.0.0.1")
            tls.sendall(request)
            answer = b""
            while not answer.endswith(body):
                chunk = tls.recv(65536)
                if not chunk: sys.exit("closed early")
                answer += chunk
            connections.append(tls)
        print("ready", flush=True)
        sys.stdin.read()
        """
        var rounds: [Int] = []
        for _ in 0..<3 {
            let before = try TLSTestHeap.bytesInUse()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", script, String(server.port), certificate.certificatePath, String(count)]
            let input = Pipe()
            let output = Pipe()
            let errors = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            defer {
                try? input.fileHandleForWriting.close()
                process.waitUntilExit()
            }
            let ready = output.fileHandleForReading.readData(ofLength: 6)
            try #require(String(decoding: ready, as: UTF8.self) == "ready\n",
                         "the client did not open its connections: \(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
            #expect(await waitUntil { server.observer["served"] >= (rounds.count + 1) * count })
            try await Task.sleep(for: .milliseconds(300))  // past the buffer release delay
            rounds.append((try TLSTestHeap.bytesInUse() - before) / count)
            try input.fileHandleForWriting.close()
            process.waitUntilExit()
            #expect(await waitUntil { server.server.openConnectionCount == 0 })
        }
        print("idle TLS keep-alive connection after a request: \(rounds) bytes of heap")
        #expect(rounds.sorted()[1] < 22_500, "\(rounds)")
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
