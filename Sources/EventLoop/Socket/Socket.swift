import CEventLoopShims
#if canImport(Glibc)
import Glibc
#endif

/// A connected, non-blocking TCP socket confined to one event loop.
///
/// Reads and writes try the system call first and suspend only on EAGAIN; the descriptor is
/// registered once, edge-triggered, so no `epoll_ctl` happens per operation. Call it from one
/// task at a time, ideally one running on `loop` (`EventLoop.spawn`): then every resumption
/// stays on the loop thread. From a task on another executor it still works, at the cost of
/// a hop to the loop per suspension.
public final class Socket: ByteStream, @unchecked Sendable {
    /// The loop that owns the descriptor and resumes this socket's waits.
    public let loop: EventLoop
    /// The peer, as reported by accept or given to connect.
    public let remoteAddress: SocketAddress?
    private let registration: SelectorRegistration
    /// Owner-side: set by the first `close()`.
    @exclusivity(unchecked) private var isClosed = false
    /// Whether the last `recv` returned less than it asked for, emptying the receive queue.
    ///
    /// Not after TCP urgent data: Linux ends a `recv` at the urgent mark even when bytes
    /// follow it, so once epoll reported urgent data (EPOLLPRI, registered with the other
    /// events: no system call of its own) a short read is followed by another `recv` rather
    /// than a wait for an edge that already came. The urgent byte itself is not part of the
    /// stream (no SO_OOBINLINE): the kernel leaves it out and the server never reads it.
    @exclusivity(unchecked) private var receiveQueueEmptied = false
    /// Reads in a row that found bytes without waiting; see `readsBeforeYield`.
    @exclusivity(unchecked) private(set) var readsWithoutWaiting = 0
    /// After this many reads in a row found bytes without waiting, the next read first lets the
    /// loop poll and serve its other sockets: a peer that keeps the receive queue full (pipelined requests,
    /// a large body) would otherwise hold the loop and starve every other connection on it.
    static let readsBeforeYield = 4

    /// The instant after which a pending or later `read` that would block fails with `.timedOut`.
    /// Changing it while a read is suspended takes effect immediately.
    @exclusivity(unchecked) public var readDeadline: Deadline = .distantFuture {
        didSet { applyDeadline(.read, readDeadline) }
    }

    /// The instant after which a pending or later `write` that would block fails with `.timedOut`.
    @exclusivity(unchecked) public var writeDeadline: Deadline = .distantFuture {
        didSet { applyDeadline(.write, writeDeadline) }
    }

    /// The socket's file descriptor.
    public var descriptor: Int32 { registration.descriptor }

    /// Takes ownership of a connected, non-blocking descriptor and registers it on `loop`.
    /// Loop thread only. On failure the descriptor is closed.
    init(adopting descriptor: Int32, on loop: EventLoop, remoteAddress: SocketAddress?) throws(IOError) {
        precondition(loop.inEventLoop, "a Socket must be created on its loop")
        self.loop = loop
        self.remoteAddress = remoteAddress
        registration = SelectorRegistration(descriptor: descriptor, loop: loop)
        do {
            try registration.register(events: Epoll.Event.readable | Epoll.Event.writable
                | Epoll.Event.priority | Epoll.Event.readHangUp | Epoll.Event.edgeTriggered)
        } catch {
            _ = Glibc.close(descriptor)
            throw error
        }
    }

    deinit {
        guard !isClosed else { return }
        let registration = registration
        if loop.inEventLoop {
            Self.closeDescriptor(registration)
        } else {
            loop.execute { Self.closeDescriptor(registration) }
        }
    }

    /// Opens a TCP connection to `address`, failing with `.timedOut` at `deadline`.
    /// Must be called from a task running on `loop`.
    public static func connect(to address: SocketAddress, on loop: EventLoop, deadline: Deadline) async throws -> Socket {
        let fd = try Syscall.runBlocking("socket") {
            Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        setNoDelay(fd)
        let socket = try Socket(adopting: fd, on: loop, remoteAddress: address)
        do {
            if try socket.startConnect(to: address) { return socket }
            while true {
                do {
                    try await socket.registration.wait(.write, deadline: deadline)
                } catch let error as IOError where error.code == .timedOut {
                    throw IOError.timedOut("connect")
                }
                var pending: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &pending, &length)
                guard pending == 0 else { throw IOError.syscall("connect", errno: pending) }
                if socket.isConnected { return socket }  // else a stale readiness: wait again
            }
        } catch {
            socket.close()
            throw error
        }
    }

    /// Whether the handshake has completed (the kernel knows a peer).
    private var isConnected: Bool {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        return withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(registration.descriptor, $0, &length) == 0 }
        }
    }

    /// Starts a non-blocking connect: true if already connected, false if in progress.
    private func startConnect(to address: SocketAddress) throws(IOError) -> Bool {
        do {
            _ = try address.withSocketAddress { (pointer, length) throws(IOError) in
                try Syscall.runBlocking("connect") { Glibc.connect(registration.descriptor, pointer, length) }
            }
            return true
        } catch where error.errorNumber == EINPROGRESS {
            return false
        }
    }

    /// Reads at least one byte into `buffer` (which must not be empty); 0 means end of stream.
    ///
    /// After a read that returned less than it asked for (the receive queue was emptied), the
    /// next read waits for readiness before its `recv` rather than making one that fails with
    /// EAGAIN: edge-triggered epoll reports any byte that arrived since. It does not when epoll
    /// already reported a hang-up or error (the end of stream may be waiting with no new edge),
    /// off the loop thread, or when the deadline has passed: those `recv` first, as before.
    nonisolated(nonsending) public func read(into buffer: UnsafeMutableRawBufferPointer) async throws -> Int {
        precondition(!buffer.isEmpty, "read into an empty buffer")
        if receiveQueueEmptied {
            receiveQueueEmptied = false
            readsWithoutWaiting = 0
            if !isClosed, loop.inEventLoop, !registration.hasSeenHangUpOrError,
               readDeadline == .distantFuture || Deadline.now() < readDeadline {
                try await registration.wait(.read, deadline: readDeadline)
            }
        } else if readsWithoutWaiting >= Self.readsBeforeYield {
            readsWithoutWaiting = 0
            // On the loop, until it has polled: a plain yield runs again in the same iteration,
            // before the loop learns that its other sockets are ready.
            if loop.inEventLoop { await loop.yieldToIO() } else { await Task.yield() }
        }
        while true {
            guard !isClosed else { throw IOError.closed("recv") }
            switch try Syscall.run("recv", { Glibc.recv(registration.descriptor, buffer.baseAddress, buffer.count, 0) }) {
            case .completed(let count):
                receiveQueueEmptied = count > 0 && count < buffer.count && !(loop.inEventLoop && registration.hasSeenUrgentData)
                readsWithoutWaiting += 1
                if receiveQueueEmptied, loop.inEventLoop { registration.consumeReadReadiness() }
                return count
            case .wouldBlock:
                readsWithoutWaiting = 0
                try await registration.wait(.read, deadline: readDeadline)
            }
        }
    }

    /// Suspends until the receive queue holds a byte, the end of stream or an error, without
    /// consuming it (a 1-byte `MSG_PEEK`). After a read that emptied the queue it waits for
    /// readiness at once, as `read` does, and the next `read` then makes its `recv` directly.
    nonisolated(nonsending) public func waitUntilReadable() async throws {
        // One suspension point: an idle connection waits here, and a task keeps the largest
        // frame it ever needed, so this frame stays small.
        let waitOnce = takeEmptiedReceiveQueue()
        while try waitOnce || !peekReadable() {
            readsWithoutWaiting = 0
            do {
                try await registration.wait(.read, deadline: readDeadline)
            } catch let error as IOError where waitOnce && error.code == .timedOut {
                // No edge came, so the queue is still empty: the next wait needs no peek either
                // (a `recv` that would only return EAGAIN; once per idle-buffer release).
                receiveQueueEmptied = true
                throw error
            }
            if waitOnce { return }
        }
    }

    /// After a read that emptied the receive queue: whether to wait for readiness once without
    /// peeking first (on the loop, no hang-up or error seen, deadline not passed). Clears the flag.
    private func takeEmptiedReceiveQueue() -> Bool {
        guard receiveQueueEmptied else { return false }
        receiveQueueEmptied = false
        return !isClosed && loop.inEventLoop && !registration.hasSeenHangUpOrError
            && (readDeadline == .distantFuture || Deadline.now() < readDeadline)
    }

    /// Whether the receive queue holds a byte, the end of stream or an error (a 1-byte `MSG_PEEK`).
    private func peekReadable() throws(IOError) -> Bool {
        guard !isClosed else { throw IOError.closed("recv") }
        var byte: UInt8 = 0
        switch try Syscall.run("recv", { Glibc.recv(registration.descriptor, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) }) {
        case .completed: return true
        case .wouldBlock: return false
        }
    }

    /// Writes all of `bytes` (MSG_NOSIGNAL: a closed peer is an error, never SIGPIPE).
    nonisolated(nonsending) public func write(_ bytes: UnsafeRawBufferPointer) async throws {
        var offset = 0
        while offset < bytes.count {
            guard !isClosed else { throw IOError.closed("send") }
            switch try Syscall.run("send", {
                Glibc.send(registration.descriptor, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }) {
            case .completed(let count):
                offset += count
            case .wouldBlock:
                try await registration.wait(.write, deadline: writeDeadline)
            }
        }
    }

    /// Writes all of `buffers` in order with as few `sendmsg` calls as the kernel allows.
    nonisolated(nonsending) public func writev(_ buffers: [UnsafeRawBufferPointer]) async throws {
        var index = 0
        var offset = 0  // into buffers[index]
        let batchLimit = min(buffers.count, Int(UIO_MAXIOV))
        while true {
            while index < buffers.count && offset == buffers[index].count {
                index += 1
                offset = 0
            }
            guard index < buffers.count else { return }
            guard !isClosed else { throw IOError.closed("sendmsg") }
            let result = try withUnsafeTemporaryAllocation(of: iovec.self, capacity: batchLimit) { (vectors) throws(IOError) in
                var count = 0
                var position = index
                var start = offset
                while count < batchLimit && position < buffers.count {
                    let buffer = buffers[position]
                    if buffer.count > start {
                        vectors[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: buffer.baseAddress! + start), iov_len: buffer.count - start)
                        count += 1
                    }
                    position += 1
                    start = 0
                }
                var message = msghdr()
                message.msg_iov = vectors.baseAddress
                message.msg_iovlen = count
                return try Syscall.run("sendmsg") { Glibc.sendmsg(registration.descriptor, &message, Int32(MSG_NOSIGNAL)) }
            }
            switch result {
            case .completed(var written):
                while written > 0 {
                    let step = min(written, buffers[index].count - offset)
                    written -= step
                    offset += step
                    if offset == buffers[index].count && written > 0 {
                        index += 1
                        offset = 0
                    }
                }
            case .wouldBlock:
                try await registration.wait(.write, deadline: writeDeadline)
            }
        }
    }

    /// Whether the receive queue holds bytes that no read has taken yet (peeked, not consumed).
    public var hasUnreadBytes: Bool {
        guard !isClosed else { return false }
        var byte: UInt8 = 0
        return Glibc.recv(registration.descriptor, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) > 0
    }

    /// Sends FIN: the peer reads end of stream; reading from it still works.
    public func shutdownWrite() {
        guard !isClosed else { return }
        _ = Glibc.shutdown(registration.descriptor, Int32(SHUT_WR))
    }

    /// Closes the descriptor; suspended reads and writes fail with `.closed`. Idempotent.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        let registration = registration
        if loop.inEventLoop {
            Self.closeDescriptor(registration)
        } else {
            loop.execute { Self.closeDescriptor(registration) }
        }
    }

    private static func closeDescriptor(_ registration: SelectorRegistration) {
        registration.deregister(removeFromEpoll: false)
        _ = Glibc.close(registration.descriptor)
    }

    private func applyDeadline(_ direction: SelectorRegistration.Direction, _ deadline: Deadline) {
        let registration = registration
        if loop.inEventLoop {
            registration.updateDeadline(direction, deadline)
        } else {
            loop.execute { registration.updateDeadline(direction, deadline) }
        }
    }

    /// Disables Nagle's algorithm: responses leave as soon as they are written.
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}
