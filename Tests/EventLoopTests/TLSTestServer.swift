import Synchronization
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
    private let events: Mutex<[Event]>

    var port: UInt16 { server.localAddress.port }

    /// The body every response carries.
    static let body = "hello over TLS from irsa-webhook\n"

    /// Starts serving; `responseSize` pads the whole response (head + body) to that many bytes.
    init(contexts: ReloadableTLSContext, responseSize: Int? = nil) throws {
        let group = EventLoopGroup(threads: 1)
        let events = Mutex<[Event]>([])
        self.group = group
        self.contexts = contexts
        self.events = events
        self.server = try TCPServer.bind(group: group, address: SocketAddress(host: "127.0.0.1", port: 0)) { socket in
            let event = await Self.serve(socket, context: contexts.current, responseSize: responseSize)
            events.withLock { $0.append(event) }
        }
        server.start()
    }

    convenience init(configuration: TLSConfiguration, responseSize: Int? = nil) throws {
        try self.init(contexts: ReloadableTLSContext(configuration: configuration), responseSize: responseSize)
    }

    /// Stops accepting and stops the loop.
    func stop() async {
        await server.stopAccepting()
        group.shutdown()
    }

    /// Waits (bounded) until `count` connections have ended and returns all events so far.
    func waitForEvents(count: Int, timeout: Duration = .seconds(10)) async throws -> [Event] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let current = events.withLock { $0 }
            if current.count >= count { return current }
            guard ContinuousClock.now < deadline else {
                throw TLSTestProcess.Failure(description: "only \(current.count) of \(count) connections ended: \(current)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    private static func serve(_ socket: Socket, context: TLSContext, responseSize: Int?) async -> Event {
        var event = Event()
        let counting = TLSTestCountingTransport(socket)
        let stream: TLSStream<TLSTestCountingTransport<Socket>>
        do {
            stream = try TLSStream(transport: counting, context: context)
        } catch {
            event.otherError = "\(error)"
            return event
        }
        stream.readDeadline = .after(.seconds(10))
        stream.writeDeadline = .after(.seconds(10))
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
            let response = Array(Self.response(size: responseSize).utf8)
            counting.startCounting()
            try await response.withUnsafeBytes { try await stream.write($0) }
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
