#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A non-blocking, close-on-exec TCP listening socket, bound here or adopted (systemd socket activation).
public final class ListeningSocket: @unchecked Sendable {
    /// The listening descriptor; immutable, closed by `close()`.
    public let descriptor: Int32
    /// The bound address (port 0 resolved to the kernel's choice).
    public let localAddress: SocketAddress
    private let isClosed = Atomic<Bool>(false)

    private init(descriptor: Int32) throws(IOError) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(IOError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(IOError) in
                try Syscall.runBlocking("getsockname") { getsockname(descriptor, address, &length) }
            }
        }
        guard let address = SocketAddress(&storage) else {
            throw IOError(code: .syscall, call: "listening socket is not IPv4 or IPv6", errorNumber: EAFNOSUPPORT)
        }
        self.descriptor = descriptor
        self.localAddress = address
    }

    /// Binds and listens on `address` (SO_REUSEADDR always; SO_REUSEPORT when `reusePort`, so that
    /// one listener per loop can share the port and the kernel spreads connections across them).
    public static func bind(_ address: SocketAddress, backlog: Int32 = 4096, reusePort: Bool) throws -> ListeningSocket {
        let fd = try Syscall.runBlocking("socket") {
            socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do {
            var one: Int32 = 1
            let size = socklen_t(MemoryLayout<Int32>.size)
            _ = try Syscall.runBlocking("setsockopt(SO_REUSEADDR)") { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, size) }
            if reusePort {
                _ = try Syscall.runBlocking("setsockopt(SO_REUSEPORT)") { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, size) }
            }
            _ = try address.withSocketAddress { (pointer, length) throws(IOError) in
                try Syscall.runBlocking("bind \(address)") { Glibc.bind(fd, pointer, length) }
            }
            _ = try Syscall.runBlocking("listen") { listen(fd, backlog) }
            return try ListeningSocket(descriptor: fd)
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
    }

    /// Whether another socket already listens on `address`, in any process. A probe socket is
    /// bound with SO_REUSEADDR (so connections of an earlier run in TIME_WAIT do not count) but
    /// without SO_REUSEPORT: the kernel then refuses it (EADDRINUSE) next to any listener on the
    /// port, even one that set SO_REUSEPORT and would let a second process's SO_REUSEPORT
    /// listeners join it and split its connections. The probe never listens and is closed at
    /// once; other errors (no such local address, permission) are thrown.
    public static func isListenedOn(_ address: SocketAddress) throws(IOError) -> Bool {
        let fd = try Syscall.runBlocking("socket") {
            socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        defer { _ = Glibc.close(fd) }
        var one: Int32 = 1
        _ = try Syscall.runBlocking("setsockopt(SO_REUSEADDR)") {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        do {
            _ = try address.withSocketAddress { (pointer, length) throws(IOError) in
                try Syscall.runBlocking("bind \(address)") { Glibc.bind(fd, pointer, length) }
            }
            return false
        } catch where error.errorNumber == EADDRINUSE {
            return true
        }
    }

    /// Takes ownership of an already-listening descriptor (e.g. from systemd's LISTEN_FDS).
    /// Fails unless it is a listening IPv4/IPv6 stream socket; makes it non-blocking and close-on-exec.
    /// On failure the descriptor is left open and unchanged except for those flags.
    public convenience init(adopting descriptor: Int32) throws {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try Syscall.runBlocking("getsockopt(SO_TYPE)") { getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &value, &length) }
        guard value == Int32(SOCK_STREAM.rawValue) else {
            throw IOError(code: .syscall, call: "adopt descriptor \(descriptor): not a stream socket", errorNumber: EINVAL)
        }
        _ = try Syscall.runBlocking("getsockopt(SO_ACCEPTCONN)") { getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &value, &length) }
        guard value == 1 else {
            throw IOError(code: .syscall, call: "adopt descriptor \(descriptor): not listening", errorNumber: EINVAL)
        }
        let statusFlags = try Syscall.runBlocking("fcntl(F_GETFL)") { fcntl(descriptor, F_GETFL) }
        _ = try Syscall.runBlocking("fcntl(F_SETFL)") { fcntl(descriptor, F_SETFL, statusFlags | O_NONBLOCK) }
        let descriptorFlags = try Syscall.runBlocking("fcntl(F_GETFD)") { fcntl(descriptor, F_GETFD) }
        _ = try Syscall.runBlocking("fcntl(F_SETFD)") { fcntl(descriptor, F_SETFD, descriptorFlags | FD_CLOEXEC) }
        try self.init(descriptor: descriptor)
    }

    deinit {
        close()
    }

    /// Closes the descriptor. Idempotent; any thread.
    public func close() {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = Glibc.close(descriptor)
    }
}
