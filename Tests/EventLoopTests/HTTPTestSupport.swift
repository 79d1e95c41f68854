import Foundation
import Glibc
import Testing
@testable import EventLoop

/// A blocking TCP client on 127.0.0.1 for driving the server with exact bytes. Every receive
/// is bounded by `timeout`.
final class RawHTTPConnection {
    let fd: Int32
    private var pending: [UInt8] = []

    init(port: Int, timeout: Duration = .seconds(5)) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw IOError.syscall("socket", errno: errno) }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let error = errno
            Glibc.close(fd)
            throw IOError.syscall("connect", errno: error)
        }
    }

    deinit { Glibc.close(fd) }

    /// The client's local (ephemeral) port.
    var localPort: Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw IOError.syscall("send", errno: errno) }
            offset += sent
        }
    }

    /// One recv: the bytes (empty at end of stream); throws on timeout.
    func receiveOnce() throws -> [UInt8] {
        if !pending.isEmpty {
            defer { pending = [] }
            return pending
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { throw IOError.syscall("recv", errno: errno) }
        return Array(buffer[0..<count])
    }

    /// Reads until the peer closes; returns everything read.
    func receiveUntilClose() throws -> [UInt8] {
        var all = pending
        pending = []
        while true {
            let bytes = try receiveOnce()
            if bytes.isEmpty { return all }
            all += bytes
        }
    }

    /// Whether the peer closed: the next read is end of stream (or a reset).
    func isClosedByPeer() -> Bool {
        guard pending.isEmpty else { return false }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 { pending = Array(buffer[0..<count]) }
        return count == 0 || (count < 0 && errno == ECONNRESET)
    }

    /// Reads one complete response (Content-Length framed, as our server sends).
    func receiveResponse(for method: HTTPMethod = .GET) throws -> RawResponse {
        var buffered = pending
        pending = []
        var parser = HTTPResponseParser()
        while true {
            if let (head, consumed) = try buffered.withUnsafeBytes({ try parser.parseHead($0, requestMethod: method) }) {
                var length = 0
                if case .contentLength(let count) = head.framing { length = count }
                while buffered.count < consumed + length {
                    let more = try receiveOnce()
                    guard !more.isEmpty else { throw IOError.closed("response body") }
                    buffered += more
                }
                pending = Array(buffered[(consumed + length)...])
                return RawResponse(head: head, body: String(decoding: buffered[consumed..<(consumed + length)], as: UTF8.self))
            }
            let more = try receiveOnce()
            guard !more.isEmpty else { throw IOError.closed("response head") }
            buffered += more
        }
    }
}

struct RawResponse {
    let head: HTTPResponseHead
    let body: String
    var status: Int { head.status.code }
    var headers: HTTPHeaders { head.headers }
}

/// Counts server events, for assertions.
final class CountingObserver: HTTPServerObserver {
    private let counts = LockedValue<[String: Int]>([:])

    func connectionOpened() { bump("opened") }
    func connectionClosed() { bump("closed") }
    func requestServed(method: HTTPMethod, path: String, status: HTTPStatus, duration: Duration) { bump("served") }
    func requestRejected(status: HTTPStatus, reason: String) { bump("rejected \(status.code)") }
    func tlsHandshakeFailed(_ error: any Error) { bump("tls failed") }

    subscript(_ name: String) -> Int { counts.withLock { $0[name, default: 0] } }

    private func bump(_ name: String) { counts.withLock { $0[name, default: 0] += 1 } }
}

/// Runs `path` with `arguments`, returning its exit status, stdout and stderr; killed after `timeout`.
func runProcess(_ path: String, _ arguments: [String], timeout: Duration = .seconds(20)) throws -> (status: Int32, output: String, error: String) {
    let directory = NSTemporaryDirectory() + "irsa-http-process-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let outputPath = directory + "/out"
    let errorPath = directory + "/err"
    _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    let error = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
    defer {
        try? output.close()
        try? error.close()
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let deadline = Deadline.after(timeout)
    while process.isRunning {
        if Deadline.now() > deadline { process.terminate() }
        usleep(10_000)
    }
    process.waitUntilExit()
    return (
        process.terminationStatus,
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "",
        (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
    )
}

/// Server-side sockets of this process connected on local `port` (excluding the listener):
/// `/proc/net/tcp` entries with that local port whose inode is one of our descriptors; with
/// `peers`, only those whose remote port is one of them (a client socket of another test can
/// hold the same port number as its local ephemeral port).
func openServerSideSockets(port: Int, peers: Set<Int>? = nil) -> Int {
    let ourInodes = Set((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { entry -> String? in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)"),
              target.hasPrefix("socket:[") else { return nil }
        return String(target.dropFirst(8).dropLast())
    } ?? [])
    // String(contentsOfFile:) stops after the first page of a /proc file.
    guard let file = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return -1 }
    defer { try? file.close() }
    let table = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
    let portHex = String(format: "%04X", port)
    // Counted by inode: the kernel writes the table a page per read, and sockets opened or closed
    // between two reads (TIME_WAIT entries expiring, other processes) can show one socket twice.
    var counted = Set<Substring>()
    for line in table.split(separator: "\n").dropFirst() {
        let columns = line.split(separator: " ")
        guard columns.count > 9, columns[1].hasSuffix(":" + portHex), columns[3] != "0A" else { continue }
        if let peers, let peerPort = columns[2].split(separator: ":").last.flatMap({ Int($0, radix: 16) }),
           !peers.contains(peerPort) { continue }
        if ourInodes.contains(String(columns[9])) { counted.insert(columns[9]) }
    }
    return counted.count
}

/// Waits until `condition` holds, polling for at most `timeout`; returns whether it held.
func waitUntil(timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
    let deadline = Deadline.after(timeout)
    while Deadline.now() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
