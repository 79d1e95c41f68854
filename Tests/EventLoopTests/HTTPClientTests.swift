import Foundation
import Glibc
import Synchronization
import Testing
@testable import EventLoop

/// A Python HTTP/1.1 server for responses our server never sends: chunked (`/chunked`,
/// `/watch` with pauses between chunks) and close-delimited (`/close`).
final class PythonHTTPServer {
    private let process = Process()
    let port: Int

    private static let script = #"""
import socket, sys, threading, time
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)
def serve(conn):
    with conn:
        data = b""
        while True:
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    return
                data += more
            head, data = data.split(b"\r\n\r\n", 1)
            path = head.split(b" ")[1]
            if path == b"/chunked":
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;x=y\r\n \r\n5\r\nworld\r\n0\r\nT: v\r\n\r\n")
            elif path == b"/close":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close")
                return
            elif path == b"/watch":
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                for i in range(3):
                    line = b'{"event":%d}\n' % i
                    conn.sendall(b"%x\r\n%s\r\n" % (len(line), line))
                    time.sleep(0.3)
                conn.sendall(b"0\r\n\r\n")
            else:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""#

    init() throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var line = Data()
        let deadline = Deadline.after(.seconds(10))
        while !line.contains(UInt8(ascii: "\n")), Deadline.now() < deadline {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty { break }
            line += byte
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw HTTPClientError(.connectionClosed, "python server did not start")
        }
        self.port = port
    }

    /// Kills the server (SIGKILL: a child may inherit a blocked SIGTERM) and reaps it.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Runs `body` on `loop`, where the client must be used.
func onLoop<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Task(executorPreference: loop) { try await body() }.value
}

@Suite(.serialized) struct HTTPClientTests {
    @Test func requestsAgainstOurServerReuseOneConnection() async throws {
        let server = try await TestHTTPServer()
        let loop = server.group.loops[0]
        let port = server.port
        let opened = try await onLoop(loop) {
            let client = HTTPClient(loop: loop)
            for index in 0..<5 {
                let request = HTTPClientRequest(
                    method: .POST, scheme: .http, host: "127.0.0.1", port: port, target: "/echo?i=\(index)",
                    headers: ["Content-Type": "application/json"], body: Array("{\"i\":\(index)}".utf8))
                let response = try await client.execute(request, deadline: .after(.seconds(5)))
                #expect(response.status == .ok)
                #expect(response.headers["X-Target"] == "/echo?i=\(index)")
                #expect(String(decoding: response.body, as: UTF8.self) == "{\"i\":\(index)}")
            }
            let get = try await client.execute(
                try HTTPClientRequest(url: "http://127.0.0.1:\(port)/hello?x"), deadline: .after(.seconds(5)))
            #expect(String(decoding: get.body, as: UTF8.self) == "hello x")
            #expect(client.idleConnectionCount == 1)
            client.closeIdleConnections()
            return client.connectionsOpened
        }
        #expect(opened == 1)
        #expect(server.observer["opened"] == 1)
        await server.stop()
    }

    @Test func chunkedAndCloseDelimitedResponses() async throws {
        let python = try PythonHTTPServer()
        defer { python.stop() }
        let group = EventLoopGroup(threads: 1)
        let loop = group.loops[0]
        let port = python.port
        let (chunked, closeDelimited, opened) = try await onLoop(loop) {
            let client = HTTPClient(loop: loop)
            let chunked = try await client.execute(
                try HTTPClientRequest(url: "http://127.0.0.1:\(port)/chunked"), deadline: .after(.seconds(5)))
            let reused = try await client.execute(
                try HTTPClientRequest(url: "http://127.0.0.1:\(port)/chunked"), deadline: .after(.seconds(5)))
            #expect(reused.body == chunked.body)
            let closeDelimited = try await client.execute(
                try HTTPClientRequest(url: "http://127.0.0.1:\(port)/close"), deadline: .after(.seconds(5)))
            #expect(client.idleConnectionCount == 0, "a close-delimited response's connection is not reusable")
            return (chunked, closeDelimited, client.connectionsOpened)
        }
        #expect(String(decoding: chunked.body, as: UTF8.self) == "hello world")
        #expect(String(decoding: closeDelimited.body, as: UTF8.self) == "until close")
        #expect(closeDelimited.head.framing == .untilClose)
        #expect(opened == 1)
        group.shutdown()
    }

    @Test func watchStreamDeliversChunksAsTheyArrive() async throws {
        let python = try PythonHTTPServer()
        defer { python.stop() }
        let group = EventLoopGroup(threads: 1)
        let loop = group.loops[0]
        let port = python.port
        let events = try await onLoop(loop) {
            let client = HTTPClient(loop: loop)
            var events: [(String, Deadline)] = []
            let head = try await client.stream(
                try HTTPClientRequest(url: "http://127.0.0.1:\(port)/watch"), deadline: .after(.seconds(10))
            ) { bytes in
                events.append((String(decoding: bytes, as: UTF8.self), .now()))
            }
            #expect(head.status == .ok)
            return events.map { ($0.0, $0.1.uptimeNanoseconds) }
        }
        #expect(events.map(\.0) == ["{\"event\":0}\n", "{\"event\":1}\n", "{\"event\":2}\n"])
        if let first = events.first, let last = events.last {
            #expect(last.1 - first.1 > 400_000_000, "events were buffered, not streamed")
        }
        group.shutdown()
    }

    @Test func staleReusedConnectionIsRetriedOnceForIdempotentRequests() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.timeouts.idle = .milliseconds(100)
        let server = try await TestHTTPServer(configuration: configuration)
        let loop = server.group.loops[0]
        let port = server.port
        let (opened, postError) = try await onLoop(loop) {
            let client = HTTPClient(loop: loop)
            let url = "http://127.0.0.1:\(port)/hello"
            _ = try await client.execute(try HTTPClientRequest(url: url), deadline: .after(.seconds(5)))
            try await Task.sleep(for: .milliseconds(400))
            let retried = try await client.execute(try HTTPClientRequest(url: url), deadline: .after(.seconds(5)))
            #expect(retried.status == .ok)
            try await Task.sleep(for: .milliseconds(400))
            var postError: (any Error)?
            do {
                _ = try await client.execute(
                    try HTTPClientRequest(method: .POST, url: "http://127.0.0.1:\(port)/echo", body: [1]),
                    deadline: .after(.seconds(5)))
            } catch {
                postError = error
            }
            return (client.connectionsOpened, postError.map { "\($0)" })
        }
        #expect(opened == 2)
        #expect(postError != nil, "a POST on a stale connection must not be retried")
        await server.stop()
    }

    @Test func deadlineBoundsTheRequest() async throws {
        let server = try await TestHTTPServer()
        let loop = server.group.loops[0]
        let port = server.port
        let start = Deadline.now()
        let error = try await onLoop(loop) { () -> IOError? in
            let client = HTTPClient(loop: loop)
            do {
                _ = try await client.execute(
                    try HTTPClientRequest(url: "http://127.0.0.1:\(port)/slow"), deadline: .after(.milliseconds(100)))
                return nil
            } catch let error as IOError {
                return error
            }
        }
        #expect(error?.code == .timedOut)
        #expect(Deadline.now().duration(since: start) < .seconds(5))
        await server.stop()
    }
}

/// Host names: resolved off the loop, every address tried in order, the certificate verified
/// against the name.
@Suite(.serialized) struct HTTPClientHostNameTests {
    private static func tlsServer() async throws -> (TestHTTPServer, TLSContext) {
        let certificates = try await TestCertificates.shared()
        let server = try await TestHTTPServer(tls: try ReloadableTLSContext(configuration: certificates.serverConfiguration()))
        return (server, try TLSContext(configuration: certificates.clientConfiguration()))
    }

    private static func get(_ url: String, on loop: EventLoop, tls: TLSContext, resolver: HostResolver = .shared) async throws
        -> (body: String, opened: Int) {
        try await onLoop(loop) {
            let client = HTTPClient(loop: loop, tlsContext: tls, resolver: resolver)
            let response = try await client.execute(try HTTPClientRequest(url: url), deadline: .after(.seconds(5)))
            client.closeIdleConnections()
            return (String(decoding: response.body, as: UTF8.self), client.connectionsOpened)
        }
    }

    @Test func localhostOverTLSIsResolvedAndVerified() async throws {
        let (server, tls) = try await Self.tlsServer()
        let answer = try await Self.get("https://localhost:\(server.port)/hello?name", on: server.group.loops[0], tls: tls)
        #expect(answer.body == "hello name")
        await server.stop()
    }

    @Test func everyAddressIsTriedInOrderUntilOneAccepts() async throws {
        let (server, tls) = try await Self.tlsServer()
        // Nothing listens on ::1 or 127.0.0.2 at this port: both refuse, then 127.0.0.1 serves.
        let resolver = HostResolver { _ in try! ["::1", "127.0.0.2", "127.0.0.1"].map { try SocketAddress(host: $0, port: 0) } }
        let answer = try await Self.get("https://localhost:\(server.port)/hello?third", on: server.group.loops[0], tls: tls, resolver: resolver)
        #expect(answer.body == "hello third")
        #expect(answer.opened == 1)
        await server.stop()
    }

    @Test func theCertificateIsVerifiedAgainstTheNameNotTheAddress() async throws {
        let (server, tls) = try await Self.tlsServer()
        // other.test resolves to the server's address, but its certificate names only localhost.
        let resolver = HostResolver { _ in [try! SocketAddress(host: "127.0.0.1", port: 0)] }
        await #expect { try await Self.get("https://other.test:\(server.port)/hello", on: server.group.loops[0], tls: tls, resolver: resolver) }
            throws: { error in (error as? TLSError)?.code == .certificateVerificationFailed }
        await server.stop()
    }

    @Test func noAddressAcceptingNamesEveryAttempt() async throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        // A socket bound to every address without listening: its port refuses connections.
        let reserved = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(reserved) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(reserved, $0, length) == 0 && getsockname(reserved, $0, &length) == 0 }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let resolver = HostResolver { _ in try! ["127.0.0.2", "127.0.0.3"].map { try SocketAddress(host: $0, port: 0) } }
        let error = try await onLoop(loop) { () -> HTTPClientError? in
            let client = HTTPClient(loop: loop, resolver: resolver)
            do {
                _ = try await client.execute(try HTTPClientRequest(url: "http://api.test:\(port)/"), deadline: .after(.seconds(5)))
                return nil
            } catch let error as HTTPClientError {
                return error
            }
        }
        #expect(error?.code == .connectFailed)
        #expect(error?.detail.contains("api.test") == true && error?.detail.contains("127.0.0.2:\(port)") == true
            && error?.detail.contains("127.0.0.3:\(port)") == true, "\(String(describing: error))")
    }
}

/// The bound on open connections per server: a burst waits in line instead of opening one
/// connection per request.
@Suite(.serialized) struct HTTPClientConnectionLimitTests {
    @Test func aThousandConcurrentRequestsOpenAtMostTheBound() async throws {
        let server = try await TestHTTPServer()
        let loop = server.group.loops[0]
        let port = server.port
        let (answered, opened) = try await onLoop(loop) { () -> (Int, Int) in
            let client = HTTPClient(loop: loop)
            let answered = try await withThrowingTaskGroup(of: Bool.self) { requests in
                for index in 0..<1_000 {
                    requests.addTask(executorPreference: loop) {
                        let response = try await client.execute(
                            try HTTPClientRequest(url: "http://127.0.0.1:\(port)/hello?\(index)"), deadline: .after(.seconds(30)))
                        return String(decoding: response.body, as: UTF8.self) == "hello \(index)"
                    }
                }
                return try await requests.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            client.closeIdleConnections()
            return (answered, client.connectionsOpened)
        }
        #expect(answered == 1_000)
        #expect(opened <= 16, "opened \(opened) connections")
        #expect(server.observer["opened"] <= 16, "the server saw \(server.observer["opened"]) connections")
        await server.stop()
    }

    @Test func aWaitingRequestGivesUpAtItsDeadline() async throws {
        let server = try await TestHTTPServer()
        let loop = server.group.loops[0]
        let port = server.port
        let (error, waited, slowAnswer) = try await onLoop(loop) { () -> (IOError?, Duration, String) in
            var configuration = HTTPClient.Configuration()
            configuration.maxConnectionsPerHost = 1
            let client = HTTPClient(loop: loop, configuration: configuration)
            let slow = Task(executorPreference: loop) {
                try await client.execute(try HTTPClientRequest(url: "http://127.0.0.1:\(port)/slow"), deadline: .after(.seconds(5)))
            }
            try await Task.sleep(for: .milliseconds(50))
            let start = Deadline.now()
            var error: IOError?
            do {
                _ = try await client.execute(try HTTPClientRequest(url: "http://127.0.0.1:\(port)/hello"), deadline: .after(.milliseconds(100)))
            } catch let caught as IOError {
                error = caught
            }
            let waited = Deadline.now().duration(since: start)
            let answer = String(decoding: try await slow.value.body, as: UTF8.self)
            // The slot is free again: the next request is served on the same connection.
            _ = try await client.execute(try HTTPClientRequest(url: "http://127.0.0.1:\(port)/hello"), deadline: .after(.seconds(5)))
            #expect(client.connectionsOpened == 1)
            client.closeIdleConnections()
            return (error, waited, answer)
        }
        #expect(error?.code == .timedOut && error?.call.contains("wait for a connection") == true, "\(String(describing: error))")
        #expect(waited < .milliseconds(300))
        #expect(slowAnswer == "slow")
        await server.stop()
    }
}
