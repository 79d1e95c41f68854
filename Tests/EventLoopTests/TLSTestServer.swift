@testable import EventLoop

/// A TLS server for socket-level tests: `TCPServer` on 127.0.0.1 port 0, each connection wrapped
/// in a `TLSStream` from a `ReloadableTLSContext`. It reads one HTTP request head, answers with a
/// fixed body and `Connection: close`, sends close_notify and closes. It records how each
/// connection ended, and how many transport writes and TLS records the response took.
final class TLSTestServer: Sendable {
    /// How one connection ended.
    struct Event: Sendable {
        var protocolVersion: String?
        var applicationProtocol: String?
        var peerCertificateSubject: String?
        var error: TLSError?
        var otherError: String?
        /// Transport writes and TLS records used for the response (after the handshake).
        var responseWrites = 0
        var responseRecords = 0
    }

    let group: EventLoopGroup
    let server: TCPServer
    let contexts: ReloadableTLSContext
    /// The accepted sockets, to check that all were closed.
    let probes = ProbeList()
    private let log = EventLog()

    private final class EventLog: Sendable {
        let events = LockedValue<[Event]>([])
    }

    var port: UInt16 { server.localAddress.port }

    /// The body every response carries.
    static let body = "hello over TLS from irsa-webhook\n"

    /// Runs `body` with a server built from `configuration`, stopping it afterwards (also when
    /// `body` throws).
    static func serving<Result>(
        _ configuration: TLSConfiguration, options: Options = Options(),
        _ body: (TLSTestServer) async throws -> Result
    ) async throws -> Result {
        let server = try TLSTestServer(contexts: ReloadableTLSContext(configuration: configuration), options: options)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// How the server answers.
    struct Options: Sendable {
        /// Pads the whole response (head + body) to this many bytes.
        var responseSize: Int?
        /// Writes head and body with one `writev` instead of one `write` of the whole response.
        var gathered = false
        /// Read and write deadline of each connection, from its start.
        var timeout: Duration = .seconds(10)
    }

    /// Starts serving on the shared group.
    init(contexts: ReloadableTLSContext, options: Options = Options()) throws {
        let group = sharedGroup
        let log = self.log
        let probes = self.probes
        self.group = group
        self.contexts = contexts
        self.server = try TCPServer.bind(group: group, address: SocketAddress(host: "127.0.0.1", port: 0)) { socket in
            probes.add(socket.descriptor)
            let event = await Self.serve(socket, context: contexts.current, options: options)
            log.events.withLock { $0.append(event) }
        }
        server.start()
    }

    /// Stops accepting (connections already accepted finish on their own).
    func stop() async {
        await server.stopAccepting()
    }

    /// Waits (bounded) until `count` connections have ended and returns all events so far.
    func waitForEvents(count: Int, timeout: Duration = .seconds(10)) async throws -> [Event] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let current = log.events.withLock { $0 }
            if current.count >= count { return current }
            guard ContinuousClock.now < deadline else {
                throw TLSTestProcess.Failure(description: "only \(current.count) of \(count) connections ended: \(current)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    private static func serve(_ socket: Socket, context: TLSContext, options: Options) async -> Event {
        var event = Event()
        let counting = TLSTestCountingTransport(socket)
        let stream: TLSStream<TLSTestCountingTransport<Socket>>
        do {
            stream = try TLSStream(transport: counting, context: context)
        } catch {
            event.otherError = "\(error)"
            return event
        }
        stream.readDeadline = .after(options.timeout)
        stream.writeDeadline = .after(options.timeout)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 16)
        defer { buffer.deallocate() }
        do {
            try await stream.handshake()
            event.protocolVersion = stream.negotiatedProtocolVersion
            event.applicationProtocol = stream.negotiatedALPN
            event.peerCertificateSubject = stream.peerCertificateSubject
            var head: [UInt8] = []
            while !head.ends(with: [13, 10, 13, 10]) {
                let count = try await stream.read(into: buffer)
                if count == 0 { throw TLSTestProcess.Failure(description: "request ended early") }
                head.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
            let response = Array(Self.response(size: options.responseSize).utf8)
            counting.startCounting()
            if options.gathered {
                let split = (0..<response.count).first { Array(response[..<$0]).ends(with: [13, 10, 13, 10]) }!
                let head = UnsafeMutableRawBufferPointer.allocate(byteCount: split, alignment: 1)
                let body = UnsafeMutableRawBufferPointer.allocate(byteCount: response.count - split, alignment: 1)
                defer { head.deallocate(); body.deallocate() }
                head.copyBytes(from: response[..<split])
                body.copyBytes(from: response[split...])
                try await stream.writev([UnsafeRawBufferPointer(head), UnsafeRawBufferPointer(body)])
            } else {
                try await stream.writeArray(response)
            }
            event.responseWrites = counting.writes
            event.responseRecords = counting.records
            await stream.shutdown()
        } catch let error as TLSError {
            event.error = error
            stream.close()
        } catch {
            event.otherError = "\(error)"
            stream.close()
        }
        return event
    }

    static func response(size: Int?) -> String {
        let head = { (length: Int) in "HTTP/1.1 200 OK\r\nContent-Length: \(length)\r\nConnection: close\r\n\r\n" }
        guard let size else { return head(body.utf8.count) + body }
        // Pad the body so head + body is exactly `size` bytes (the length digits are stable).
        let padding = size - head(size).utf8.count - body.utf8.count
        return head(body.utf8.count + padding) + body + String(repeating: "x", count: padding)
    }
}

/// A transport decorator (over the real socket) that counts writes and the TLS records in them.
final class TLSTestCountingTransport<Base: ByteStream>: ByteStream {
    let base: Base
    private(set) var writes = 0
    private(set) var records = 0
    private var counting = false

    init(_ base: Base) {
        self.base = base
    }

    func startCounting() {
        counting = true
        writes = 0
        records = 0
    }

    var readDeadline: Deadline {
        get { base.readDeadline }
        set { base.readDeadline = newValue }
    }

    var writeDeadline: Deadline {
        get { base.writeDeadline }
        set { base.writeDeadline = newValue }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) async throws -> Int {
        try await base.read(into: buffer)
    }

    func waitUntilReadable() async throws {
        try await base.waitUntilReadable()
    }

    func write(_ bytes: UnsafeRawBufferPointer) async throws {
        if counting {
            writes += 1
            var offset = 0
            while offset + 5 <= bytes.count {
                records += 1
                offset += 5 + (Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4]))
            }
        }
        try await base.write(bytes)
    }

    func close() {
        base.close()
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}

extension ByteStream {
    /// Writes `bytes` from a heap copy (array storage cannot be borrowed across an await).
    func writeArray(_ bytes: [UInt8]) async throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: bytes)
        try await write(UnsafeRawBufferPointer(rebasing: buffer[0..<bytes.count]))
    }
}
