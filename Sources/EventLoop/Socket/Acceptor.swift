import CEventLoopShims
#if canImport(Glibc)
import Glibc
#endif

/// Accepts connections from one listener on one loop, as a task on that loop.
///
/// The listener is registered once, edge-triggered (plus EPOLLEXCLUSIVE when the descriptor is
/// shared by several loops, so one connection wakes one loop). The acceptor reserves a
/// connection slot before each `accept4`, so at the limit it waits for a close instead of
/// polling; on descriptor or memory exhaustion it pauses on a loop timer, then tries again.
final class Acceptor: @unchecked Sendable {
    let loop: EventLoop
    private let listener: ListeningSocket
    private let isShared: Bool
    private let server: TCPServer
    private let registration: SelectorRegistration
    /// Loop thread only.
    private var isStopped = false
    /// Connections accepted before the acceptor yields to the loop's other jobs.
    private static let batchSize = 16

    init(loop: EventLoop, listener: ListeningSocket, isShared: Bool, server: TCPServer) {
        self.loop = loop
        self.listener = listener
        self.isShared = isShared
        self.server = server
        registration = SelectorRegistration(descriptor: listener.descriptor, loop: loop)
    }

    /// Accepts until `stop()`. Runs on `loop`.
    func run() async {
        let pause = server.configuration.acceptPauseOnResourceExhaustion
        while !isStopped {
            do {
                try registration.register(events: Epoll.Event.readable | Epoll.Event.edgeTriggered
                    | (isShared ? Epoll.Event.exclusive : 0))
                break
            } catch {
                guard (try? await loop.sleep(until: .after(pause))) != nil else { return }
            }
        }
        var acceptedInBatch = 0
        while !isStopped {
            if acceptedInBatch == Self.batchSize {
                // Let the loop serve I/O between bursts of connections.
                acceptedInBatch = 0
                await Task.yield()
                continue
            }
            guard await server.limit.acquire() else { return }
            guard !isStopped else {
                server.limit.release()
                return
            }
            let socket: Socket?
            do {
                socket = try acceptOne()
            } catch {
                server.limit.release()
                if Self.isRetryable(error) { continue }
                server.pauses.add(1, ordering: .relaxed)
                guard (try? await loop.sleep(until: .after(pause))) != nil else { return }
                continue
            }
            if let socket {
                server.launch(socket)
                acceptedInBatch += 1
                continue
            }
            acceptedInBatch = 0
            server.limit.release()
            do {
                try await registration.wait(.read, deadline: .distantFuture)
            } catch {
                return  // unregistered by stop()
            }
        }
    }

    /// Ends `run()`: accepts the connections already queued on the listener and starts serving
    /// them, then unregisters the listener (it stays open until the server closes it). Closing a
    /// listener resets the connections in its queue, and during a `--reuse-port` handover the
    /// kernel has queued some of them on this process's listener, not the successor's. The
    /// connections are launched before the deregistration wakes `run()`, so on this loop they
    /// start, and count as open, before the server's stop returns. Loop thread only.
    func stop() {
        while server.limit.tryAcquire() {
            guard let socket = try? acceptOne() else {
                server.limit.release()
                break
            }
            server.launch(socket)
        }
        isStopped = true
        registration.deregister(removeFromEpoll: true)
    }

    /// Accepts one pending connection, or returns nil if none is pending.
    private func acceptOne() throws(IOError) -> Socket? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(IOError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(IOError) in
                try Syscall.run("accept4") { CEventLoopShims_accept4(listener.descriptor, address, &length) }
            }
        }
        guard case .completed(let fd) = result else { return nil }
        Socket.setNoDelay(fd)
        return try Socket(adopting: fd, on: loop, remoteAddress: SocketAddress(&storage))
    }

    /// Errors that concern only the connection being accepted: try the next one at once.
    private static func isRetryable(_ error: IOError) -> Bool {
        switch error.errorNumber {
        case ECONNABORTED, EPROTO, EPERM, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH:
            return true
        default:
            return false  // EMFILE, ENFILE, ENOBUFS, ENOMEM and the unexpected: pause
        }
    }
}
