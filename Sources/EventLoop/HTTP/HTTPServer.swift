import Synchronization

/// An HTTP/1.1 server: serves connections over any `ByteStream` with a `Router`, optionally
/// accepting them itself on a `TCPServer` with TLS.
///
/// Each connection is served by one task on its socket's event loop; `HTTPServerConnection`
/// holds the per-connection logic. `drain()` shuts down gracefully: it stops accepting, closes
/// idle connections after the drain grace and lets TLS handshakes and requests in progress
/// finish with `Connection: close`.
public final class HTTPServer: Sendable {
    /// Limits and timeouts.
    public typealias Configuration = HTTPServerConfiguration

    public let router: Router
    public let configuration: Configuration
    private let group: EventLoopGroup
    private let observer: any HTTPServerObserver
    /// One registry per loop, keyed by the loop's identity; each is used only on its loop.
    private let registries: [ObjectIdentifier: HTTPConnectionRegistry]
    private let openConnections = Atomic<Int>(0)
    /// The listeners started by `start`, stopped and released by `drain`.
    private let listeners = LockedValue<[TCPServer]>([])

    /// A server for connections on the loops of `group`.
    public init(
        group: EventLoopGroup,
        router: Router,
        configuration: Configuration = Configuration(),
        observer: (any HTTPServerObserver)? = nil
    ) {
        self.group = group
        self.router = router
        self.configuration = configuration
        self.observer = observer ?? SilentHTTPServerObserver()
        var registries: [ObjectIdentifier: HTTPConnectionRegistry] = [:]
        for loop in group.loops {
            registries[ObjectIdentifier(loop)] = HTTPConnectionRegistry()
        }
        self.registries = registries
    }

    /// Connections currently open (accepted and not yet closed).
    public var openConnectionCount: Int {
        openConnections.load(ordering: .relaxed)
    }

    /// Binds `address` (one SO_REUSEPORT listener per loop) and serves every accepted
    /// connection, over TLS when `tls` is given (each connection takes `tls.current`, so
    /// certificates can rotate). Returns the accepting listener; its `localAddress` tells the
    /// port when `address` had port 0.
    @discardableResult
    public func start(
        address: SocketAddress,
        tls: ReloadableTLSContext? = nil,
        listenerConfiguration: TCPServer.Configuration = TCPServer.Configuration()
    ) throws -> TCPServer {
        let server = try TCPServer.bind(group: group, address: address, configuration: listenerConfiguration) { socket in
            await self.serve(socket: socket, tls: tls)
        }
        run(server)
        return server
    }

    /// Serves connections accepted on already open `listeners` (e.g. from systemd socket
    /// activation), like `start(address:tls:listenerConfiguration:)`.
    @discardableResult
    public func start(
        listeners: [ListeningSocket],
        tls: ReloadableTLSContext? = nil,
        listenerConfiguration: TCPServer.Configuration = TCPServer.Configuration()
    ) -> TCPServer {
        let server = TCPServer(group: group, listeners: listeners, configuration: listenerConfiguration) { socket in
            await self.serve(socket: socket, tls: tls)
        }
        run(server)
        return server
    }

    private func run(_ server: TCPServer) {
        listeners.withLock { $0.append(server) }
        server.start()
    }

    /// Serves an accepted socket until it closes, after a TLS handshake when `tls` is given.
    /// Call on the socket's loop (as `TCPServer`'s `onConnection` does).
    public func serve(socket: Socket, tls: ReloadableTLSContext?) async {
        guard let tls else {
            await serveConnection(socket, on: socket.loop)
            return
        }
        let stream: TLSStream<Socket>
        do {
            stream = try TLSStream(transport: socket, context: tls.current)
            stream.writeTimeoutWhileReading = configuration.timeouts.write
        } catch {
            observer.tlsHandshakeFailed(error)
            socket.close()
            return
        }
        await serveConnection(stream, on: socket.loop) { try await $0.handshake() }
    }

    /// Serves one connection over `stream` until it closes, then closes it; `handshake` (for
    /// TLS) runs first under the handshake timeout. Call on `loop`, the stream's loop, which
    /// must belong to the server's group.
    public func serveConnection<Stream: ByteStream>(
        _ stream: Stream,
        on loop: EventLoop,
        handshake: ((Stream) async throws -> Void)? = nil
    ) async {
        guard let registry = registries[ObjectIdentifier(loop)] else {
            preconditionFailure("HTTPServer.serveConnection on a loop outside the server's group")
        }
        let connection = HTTPServerConnection(
            stream: stream, loop: loop, router: router, configuration: configuration, observer: observer,
            clock: EventLoopClock(loop: loop), tls: handshake != nil)
        openConnections.add(1, ordering: .relaxed)
        observer.connectionOpened()
        let id = registry.register(connection)
        // Busy periods run on the loop when this task does (`TCPServer.Configuration.runConnectionsOnLoop`).
        let onLoop = withUnsafeCurrentTask { $0?.unownedTaskExecutor != nil }
        await connection.run(handshake: handshake, executor: onLoop ? loop : nil)
        registry.remove(id)
        observer.connectionClosed()
        openConnections.subtract(1, ordering: .relaxed)
    }

    /// Shuts down gracefully: stops accepting (returning once the listeners are closed),
    /// closes idle connections when the drain grace (`HTTPTimeouts.drainIdleGrace`) passes
    /// without a request, and lets TLS handshakes and requests in progress finish with
    /// `Connection: close`. Follow with `waitUntilAllConnectionsClosed(deadline:)`.
    public func drain() async {
        // Taken out: each listener's connection handler holds this server (a reference cycle).
        let started = listeners.withLock { listeners in
            defer { listeners.removeAll() }
            return listeners
        }
        for listener in started {
            await listener.stopAccepting()
        }
        for loop in group.loops {
            guard let registry = registries[ObjectIdentifier(loop)] else { continue }
            loop.execute { registry.drainAll() }
        }
    }

    /// Waits until every connection has closed or `deadline` passes; returns whether all closed.
    public func waitUntilAllConnectionsClosed(deadline: Deadline) async -> Bool {
        while openConnectionCount > 0 {
            guard Deadline.now() < deadline else { return false }
            // A loop's timer, not Task.sleep: that would wake a Dispatch pool thread.
            try? await group.loops[0].sleep(until: .after(.milliseconds(5)))
        }
        return true
    }
}

/// The open connections of one event loop, so that draining can reach idle ones.
///
/// Used only on its loop; `@unchecked Sendable` so the server can hand it to `loop.execute`.
final class HTTPConnectionRegistry: @unchecked Sendable {
    private var connections: [Int: any DrainableConnection] = [:]
    private var nextID = 0
    private var isDraining = false

    /// Adds a connection; one registered after draining started drains at once.
    func register(_ connection: any DrainableConnection) -> Int {
        nextID += 1
        connections[nextID] = connection
        if isDraining { connection.startDraining() }
        return nextID
    }

    func remove(_ id: Int) {
        connections[id] = nil
    }

    /// Asks every connection to drain.
    func drainAll() {
        isDraining = true
        for connection in Array(connections.values) {
            connection.startDraining()
        }
    }
}
