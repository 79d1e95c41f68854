import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A line-based channel to a child process over a socket pair: the child gets one end as its
/// stdin and stdout, we keep the other. A socket rather than pipes, so a write after the child
/// died fails with EPIPE (MSG_NOSIGNAL) instead of raising SIGPIPE in the test process, and the
/// child reads EOF when this end closes (on deinit, or when the test process dies).
final class CommandChannel {
    /// The child's end; `processStarted()` closes our copy once the child has it.
    let processEnd: FileHandle
    private let descriptor: Int32
    private var received: [UInt8] = []

    init() throws {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw FakeKubernetesAPI.Failure(description: "socketpair failed: errno \(errno)")
        }
        descriptor = pair[0]
        processEnd = FileHandle(fileDescriptor: pair[1], closeOnDealloc: true)
    }

    deinit { close(descriptor) }

    /// Closes our copy of the child's end, so the child's exit reads as EOF here.
    func processStarted() {
        try? processEnd.close()
    }

    /// Writes all of `data`.
    func send(_ data: Data) throws {
        try data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let sent = Glibc.send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    throw FakeKubernetesAPI.Failure(description: "command channel send failed: errno \(errno)")
                }
                offset += sent
            }
        }
    }

    /// The next line (without its newline), waiting at most `timeout` for it.
    func readLine(timeout: Duration) throws -> Data {
        let deadline = ContinuousClock.now + timeout
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let newline = received.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(received[..<newline])
                received.removeSubrange(...newline)
                return line
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw FakeKubernetesAPI.Failure(description: "the fake API server did not answer in \(timeout)") }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1, 60_000))
            let ready = poll(&poller, 1, milliseconds)
            if ready < 0, errno != EINTR { throw FakeKubernetesAPI.Failure(description: "command channel poll failed: errno \(errno)") }
            guard ready > 0 else { continue }
            let count = read(descriptor, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw FakeKubernetesAPI.Failure(description: "the fake API server exited (command channel closed)") }
            received.append(contentsOf: chunk[..<count])
        }
    }
}
