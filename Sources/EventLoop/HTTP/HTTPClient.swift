/// An HTTP/1.1 client with a keep-alive connection pool per (scheme, host, port), over
/// `Socket` or `TLSStream<Socket>`.
///
/// A host name is resolved by `resolver` (off the loop, cached briefly) and its addresses are
/// tried in order until one accepts; TLS sends the name as SNI and verifies the certificate
/// against it (a numeric host against the certificate's IP addresses).
///
/// The client is confined to its event loop: call it only from tasks running on that loop
/// (started with `loop.spawn`, or with the loop as task executor preference); other tasks
/// hop there first, e.g. `loop.spawn { try await client.execute(...) }`. Calls from other
/// threads stop with a precondition failure.
///
/// At most `maxConnectionsPerHost` connections per (scheme, host, port) are open at once; a
/// request finding none free waits in line for one (see `HTTPConnectionSlots`) within its deadline.
///
/// A connection goes back to the pool only after its response was read completely. A
/// connection that failed, or that the server closed, is discarded. An idempotent request
/// sent on a reused connection that failed before any byte of the response arrived (the
/// server closed it while idle) is retried once on a fresh connection.
public final class HTTPClient: @unchecked Sendable {
    /// Pool and safety limits.
    public struct Configuration: Sendable {
        /// Connections open at once per (scheme, host, port), idle or busy; further requests wait
        /// for one in turn.
        public var maxConnectionsPerHost = 16
        /// Idle connections kept per (scheme, host, port).
        public var maxIdleConnectionsPerHost = 16
        /// An idle connection older than this is closed instead of reused.
        public var idleTimeout: Duration = .seconds(60)
        /// The largest accepted response body.
        public var maxResponseBodySize = 64 * 1024 * 1024

        public init() {}
    }

    /// The loop the client and its connections run on.
    public let loop: EventLoop
    public let configuration: Configuration
    private let tlsContext: TLSContext?
    private let resolver: HostResolver
    // Guarded by confinement to `loop`.
    private var idle: [HTTPPoolKey: [HTTPClientConnection]] = [:]
    // Guarded by confinement to `loop`.
    private let slots: HTTPConnectionSlots
    /// Connections opened so far (for tests and metrics).
    public private(set) var connectionsOpened = 0

    /// - Parameters:
    ///   - loop: the event loop every call and connection runs on.
    ///   - tlsContext: a client TLS context for https requests (trust roots, client certificate).
    ///   - resolver: turns host names into addresses (the process-wide one by default).
    public init(
        loop: EventLoop, tlsContext: TLSContext? = nil, configuration: Configuration = Configuration(),
        resolver: HostResolver = .shared
    ) {
        self.loop = loop
        self.tlsContext = tlsContext
        self.resolver = resolver
        self.configuration = configuration
        self.slots = HTTPConnectionSlots(limit: configuration.maxConnectionsPerHost, loop: loop)
    }

    deinit {
        let connections = PooledConnections(idle.values.flatMap { $0 })
        guard !connections.all.isEmpty else { return }
        if loop.inEventLoop {
            connections.closeAll()
        } else {
            loop.execute { connections.closeAll() }
        }
    }

    /// Sends `request` and reads the whole response, all before `deadline`.
    public func execute(_ request: HTTPClientRequest, deadline: Deadline) async throws -> HTTPClientResponse {
        var body: [UInt8] = []
        let head = try await perform(request, deadline: deadline, onHead: { _ in }) { bytes in
            body.append(contentsOf: bytes)
        }
        return HTTPClientResponse(head: head, body: body)
    }

    /// Sends `request` and streams the response body (e.g. a Kubernetes watch): `onHead` gets
    /// the head first, then `onBody` each run of body bytes as it arrives (for a chunked body,
    /// the decoded data). Returns when the body ends; a throwing callback ends the stream and
    /// closes the connection. `deadline` bounds the whole exchange.
    public func stream(
        _ request: HTTPClientRequest,
        deadline: Deadline,
        onHead: (HTTPResponseHead) async throws -> Void = { _ in },
        onBody: ([UInt8]) async throws -> Void
    ) async throws -> HTTPResponseHead {
        try await perform(request, deadline: deadline, onHead: onHead) { bytes in
            try await onBody(Array(bytes))
        }
    }

    /// Closes every idle pooled connection.
    public func closeIdleConnections() {
        precondition(loop.inEventLoop, "HTTPClient used off its event loop")
        let connections = idle.values.flatMap { $0 }
        idle.removeAll()
        for connection in connections { discard(connection) }
    }

    /// The number of open connections: idle, busy and connecting.
    public var openConnectionCount: Int { slots.openCount }

    /// The number of idle pooled connections.
    public var idleConnectionCount: Int {
        idle.values.reduce(0) { $0 + $1.count }
    }

    private func perform(
        _ request: HTTPClientRequest,
        deadline: Deadline,
        onHead: (HTTPResponseHead) async throws -> Void,
        onBody: (UnsafeRawBufferPointer) async throws -> Void
    ) async throws -> HTTPResponseHead {
        precondition(loop.inEventLoop, "HTTPClient used off its event loop")
        let key = HTTPPoolKey(scheme: request.scheme, host: request.host, port: request.port)
        var mayRetry = request.method.isIdempotent
        while true {
            let (connection, reused) = try await acquire(key, deadline: deadline)
            do {
                let (head, reusable) = try await connection.exchange(
                    request, deadline: deadline, maxBodySize: configuration.maxResponseBodySize,
                    onHead: onHead, onBody: onBody)
                if reusable { release(connection) } else { discard(connection) }
                return head
            } catch .beforeResponse(let error) {
                discard(connection)
                if reused, mayRetry, !Self.isTimeout(error), !(error is CancellationError) {
                    mayRetry = false
                    continue
                }
                throw error
            } catch .duringResponse(let error) {
                discard(connection)
                throw error
            }
        }
    }

    private static func isTimeout(_ error: any Error) -> Bool {
        (error as? IOError)?.code == .timedOut
    }

    /// An idle pooled connection for `key`, a new one if a slot is free, else the first one
    /// released or slot freed while this request waits in line.
    private func acquire(_ key: HTTPPoolKey, deadline: Deadline) async throws -> (HTTPClientConnection, reused: Bool) {
        let now = Deadline.now()
        while let connection = idle[key]?.popLast() {
            if now.duration(since: connection.idleSince) < configuration.idleTimeout {
                return (connection, true)
            }
            discard(connection)
        }
        if !slots.take(key) {
            switch try await slots.wait(for: key, deadline: deadline) {
            case .connection(let connection): return (connection, true)
            case .slot: break
            }
        }
        do {
            return (try await connect(key, deadline: deadline), false)
        } catch {
            slots.free(key)
            throw error
        }
    }

    /// Closes `connection` and gives its slot to the next request in line.
    private func discard(_ connection: HTTPClientConnection) {
        connection.close()
        slots.free(connection.key)
    }

    private func release(_ connection: HTTPClientConnection) {
        if slots.handOver(connection) { return }
        var connections = idle[connection.key, default: []]
        guard connections.count < configuration.maxIdleConnectionsPerHost else {
            discard(connection)
            return
        }
        connection.idleSince = Deadline.now()
        connections.append(connection)
        idle[connection.key] = connections
    }

    private func connect(_ key: HTTPPoolKey, deadline: Deadline) async throws -> HTTPClientConnection {
        let socket = try await openSocket(key, deadline: deadline)
        connectionsOpened += 1
        switch key.scheme {
        case .http:
            return HTTPClientConnection(stream: socket, key: key)
        case .https:
            guard let tlsContext else {
                socket.close()
                throw HTTPClientError(.noTLSContext, key.host)
            }
            do {
                let tls = try TLSStream(transport: socket, context: tlsContext, serverName: key.host)
                tls.readDeadline = deadline
                tls.writeDeadline = deadline
                try await tls.handshake()
                return HTTPClientConnection(stream: tls, key: key)
            } catch {
                socket.close()
                throw error
            }
        }
    }
}

extension HTTPClient {
    /// A TCP connection to the first address of `key.host` that accepts one. Each address but the
    /// last gets an equal share of the time left, so one that drops SYNs does not use it all; a
    /// refused or unreachable address moves on to the next at once.
    fileprivate func openSocket(_ key: HTTPPoolKey, deadline: Deadline) async throws -> Socket {
        let addresses = try await resolver.resolve(key.host, port: UInt16(key.port), deadline: deadline, on: loop)
        var failures: [String] = []
        for (index, address) in addresses.enumerated() {
            let remaining = addresses.count - index
            let now = Deadline.now()
            let attemptDeadline = remaining == 1 || deadline == .distantFuture
                ? deadline : min(deadline, now + deadline.duration(since: now) / remaining)
            do {
                return try await Socket.connect(to: address, on: loop, deadline: attemptDeadline)
            } catch {
                guard addresses.count > 1 else { throw error }
                if Deadline.now() >= deadline { throw IOError.timedOut("connect to \(key.host)") }
                failures.append("\(address): \(error)")
            }
        }
        throw HTTPClientError(.connectFailed, "\(key.host) port \(key.port): " + failures.joined(separator: "; "))
    }
}

/// Idle connections handed to the loop to be closed there, when the client is released elsewhere.
private final class PooledConnections: @unchecked Sendable {
    let all: [HTTPClientConnection]

    init(_ all: [HTTPClientConnection]) {
        self.all = all
    }

    func closeAll() {
        for connection in all { connection.close() }
    }
}
