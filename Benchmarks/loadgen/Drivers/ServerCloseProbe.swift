import EventLoop
#if canImport(Glibc)
import Glibc
#endif

/// Finds out, just before a keep-alive connection is reused, whether the server closed it while
/// it waited between requests. Between requests a server sends nothing unasked but its close
/// (a TLS close_notify, a FIN or a reset), so a readable socket there means a close; reading
/// tells a clean end from stray bytes. What it cannot see is a close still on its way: a
/// request sent into that race and never answered stays a failure.
enum ServerCloseProbe {
    /// What the probe found.
    enum Finding: Equatable {
        /// Nothing arrived: the connection may be reused.
        case open
        /// The server closed the connection; nothing was sent on it.
        case closed
        /// Bytes arrived that no request asked for.
        case unexpectedBytes
    }

    /// Checks `connection` (a `TLSStream<Socket>` from `TLSDialer`; other streams are `.open`)
    /// without waiting when nothing arrived; a read started by a readable socket ends by `timeout`.
    static func check(_ connection: any ByteStream, timeout: Duration) async -> Finding {
        guard let descriptor = (connection as? TLSStream<Socket>)?.transport.descriptor else { return .open }
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 0) > 0 else { return .open }
        connection.readDeadline = .after(timeout)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4_096, alignment: 16)
        defer { buffer.deallocate() }
        do {
            return try await connection.read(into: buffer) == 0 ? .closed : .unexpectedBytes
        } catch {
            return .closed  // a reset, or a close_notify cut short: closed either way
        }
    }
}
