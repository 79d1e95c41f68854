import Synchronization

/// Accepts TCP connections on every loop of a group and runs a handler task per connection.
///
/// Listeners are spread over loops in one of two ways: one listener per loop (SO_REUSEPORT,
/// as `bind` creates them; listener *i* is served by loop *i*), or a shared descriptor — an
/// adopted systemd socket, or any other count of listeners — registered on every loop with
/// EPOLLEXCLUSIVE. Every accepted socket is non-blocking, close-on-exec and has TCP_NODELAY.
public final class TCPServer: @unchecked Sendable {
    /// Limits and scheduling of a server.
    public struct Configuration: Sendable {
        /// Connections open at once; at the limit, accepting waits until one closes.
        public var maxConnections: Int
        /// How long a listener stops accepting after EMFILE, ENFILE, ENOBUFS or ENOMEM.
        public var acceptPauseOnResourceExhaustion: Duration
        /// true (the default): each connection task prefers its socket's loop as executor, so it
        /// runs and resumes on the loop thread with no hop. false: a plain `Task {}` on the global
        /// pool, resumed there after every wait — kept to measure the difference.
        public var runConnectionsOnLoop: Bool

        public init(maxConnections: Int = 10_000,
                    acceptPauseOnResourceExhaustion: Duration = .milliseconds(100),
                    runConnectionsOnLoop: Bool = true) {
            self.maxConnections = maxConnections
            self.acceptPauseOnResourceExhaustion = acceptPauseOnResourceExhaustion
            self.runConnectionsOnLoop = runConnectionsOnLoop
        }
    }

    /// The loops that accept and serve connections.
    public let group: EventLoopGroup
    /// The limits this server was created with.
    public let configuration: Configuration
    let limit: ConnectionLimit
    /// Any thread: times an accept loop paused after an accept error (metrics, tests).
    let pauses = Atomic<Int>(0)
    private let listeners: [ListeningSocket]
    private let onConnection: @Sendable (Socket) async -> Void
    private let lock = Lock()
    /// Under `lock`.
    private var acceptors: [Acceptor] = []
    /// Under `lock`.
    private var acceptorTasks: [Task<Void, Never>] = []
    /// Under `lock`.
    private var hasStarted = false
    /// Under `lock`.
    private var hasStopped = false

    /// A server over `listeners` (at least one); `onConnection` runs as a task per connection.
    /// The server closes the socket after `onConnection` returns (harmless if it already did).
    public init(group: EventLoopGroup, listeners: [ListeningSocket], configuration: Configuration = Configuration(),
                onConnection: @escaping @Sendable (Socket) async -> Void) {
        precondition(!listeners.isEmpty, "a TCPServer needs at least one listener")
        self.group = group
        self.listeners = listeners
        self.configuration = configuration
        self.onConnection = onConnection
        limit = ConnectionLimit(maximum: configuration.maxConnections)
    }

    /// A server with one SO_REUSEPORT listener per loop on `address`; port 0 lets the first
    /// bind pick a port that the others then share. Call `start()` to accept.
    public static func bind(group: EventLoopGroup, address: SocketAddress, configuration: Configuration = Configuration(),
                            onConnection: @escaping @Sendable (Socket) async -> Void) throws -> TCPServer {
        var listeners: [ListeningSocket] = []
        var next = address
        do {
            for _ in group.loops {
                let listener = try ListeningSocket.bind(next, reusePort: true)
                listeners.append(listener)
                next.port = listener.localAddress.port
            }
        } catch {
            for listener in listeners { listener.close() }
            throw error
        }
        return TCPServer(group: group, listeners: listeners, configuration: configuration, onConnection: onConnection)
    }

    /// The address of the first listener.
    public var localAddress: SocketAddress { listeners[0].localAddress }

    /// Connections currently open (including one being accepted).
    public var openConnections: Int { limit.current }

    /// How often accepting paused for `acceptPauseOnResourceExhaustion` after EMFILE, ENFILE,
    /// ENOBUFS, ENOMEM or an unexpected accept error.
    public var acceptPauses: Int { pauses.load(ordering: .relaxed) }

    /// Starts accepting on every loop. Calling it again does nothing.
    public func start() {
        lock.withLock {
            guard !hasStarted, !hasStopped else { return }
            hasStarted = true
            let loops = group.loops
            if listeners.count == loops.count {
                acceptors = zip(loops, listeners).map { Acceptor(loop: $0, listener: $1, isShared: false, server: self) }
            } else {
                acceptors = listeners.flatMap { listener in
                    loops.map { Acceptor(loop: $0, listener: listener, isShared: loops.count > 1, server: self) }
                }
            }
            acceptorTasks = acceptors.map { acceptor in
                Task(executorPreference: acceptor.loop) { await acceptor.run() }
            }
        }
    }

    /// Stops accepting and closes the listeners; returns once every accept loop has ended.
    /// Connections already accepted keep running.
    public func stopAccepting() async {
        let (acceptors, tasks): ([Acceptor], [Task<Void, Never>]) = lock.withLock {
            defer {
                hasStopped = true
                self.acceptors = []
                acceptorTasks = []
            }
            return (self.acceptors, acceptorTasks)
        }
        // Unregister every listener on its loop before closing it: epoll_ctl(DEL) needs the open descriptor.
        for acceptor in acceptors {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                acceptor.loop.execute {
                    acceptor.stop()
                    done.resume()
                }
            }
        }
        limit.close()
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        for listener in listeners { listener.close() }
    }

    /// Runs the handler for an accepted socket, then closes it and frees its slot.
    func launch(_ socket: Socket) {
        let onConnection = onConnection
        let limit = limit
        // Closure literals, not one shared closure value: passing a value adds reabstraction
        // thunks whose frames every connection task keeps for its whole life.
        if configuration.runConnectionsOnLoop {
            Task(executorPreference: socket.loop) {
                await onConnection(socket)
                socket.close()
                limit.release()
            }
        } else {
            Task {
                await onConnection(socket)
                socket.close()
                limit.release()
            }
        }
    }
}
