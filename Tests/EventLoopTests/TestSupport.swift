import Glibc
@testable import EventLoop

/// One group shared by the socket tests (two loops, like the target machine).
let sharedGroup = EventLoopGroup(threads: 2)

let loopback = try! SocketAddress(host: "127.0.0.1", port: 0)

/// Identifies an open descriptor by its inode, so that a leak check is not fooled by another
/// test (running in parallel in the same process) reusing the descriptor number.
struct DescriptorProbe: Sendable {
    let descriptor: Int32
    let device: UInt64
    let inode: UInt64

    init(_ descriptor: Int32) {
        var status = stat()
        precondition(fstat(descriptor, &status) == 0, "probe of a closed descriptor")
        self.descriptor = descriptor
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }

    /// Whether this very file is still open under the same number.
    var isOpen: Bool {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }
}

/// Collects probes from several tasks.
final class ProbeList: @unchecked Sendable {
    private let lock = Lock()
    private var probes: [DescriptorProbe] = []

    func add(_ descriptor: Int32) {
        let probe = DescriptorProbe(descriptor)
        lock.withLock { probes.append(probe) }
    }

    var all: [DescriptorProbe] { lock.withLock { probes } }
}

/// Waits (bounded) until every probed descriptor is closed; closes may be queued on a loop.
func expectAllClosed(_ probes: [DescriptorProbe], within duration: Duration = .seconds(2)) async -> Bool {
    let deadline = Deadline.after(duration)
    while Deadline.now() < deadline {
        if probes.allSatisfy({ !$0.isOpen }) { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return probes.allSatisfy { !$0.isOpen }
}

/// Heap memory for socket reads and writes (they may suspend, so no `withUnsafeBytes` scopes).
final class TestBuffer: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer

    init(count: Int) {
        bytes = .allocate(byteCount: count, alignment: 16)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    init(_ contents: [UInt8]) {
        bytes = .allocate(byteCount: max(contents.count, 1), alignment: 16)
        bytes.copyBytes(from: contents)
    }

    deinit { bytes.deallocate() }

    func prefix(_ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[0..<count])
    }
}

/// What each entry of /proc/self/fd points to (for leak diagnostics).
func openDescriptorTargets() -> [String] {
    guard let directory = opendir("/proc/self/fd") else { return [] }
    defer { closedir(directory) }
    var targets: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard name != ".", name != ".." else { continue }
        var buffer = [CChar](repeating: 0, count: 256)
        let count = readlink("/proc/self/fd/\(name)", &buffer, 255)
        targets.append("\(name)=\(count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?")")
    }
    return targets.sorted()
}

/// Reads until `count` bytes arrived or end of stream.
func readFully(_ socket: Socket, count: Int) async throws -> [UInt8] {
    var result: [UInt8] = []
    result.reserveCapacity(count)
    let buffer = TestBuffer(count: 65536)
    while result.count < count {
        let received = try await socket.read(into: buffer.bytes)
        if received == 0 { break }
        result.append(contentsOf: buffer.prefix(received))
    }
    return result
}

func write(_ socket: Socket, _ text: String) async throws {
    let bytes = Array(text.utf8)
    let buffer = TestBuffer(bytes)
    try await socket.write(buffer.prefix(bytes.count))
}

/// An echo handler: writes back what it reads until end of stream.
@Sendable func echo(_ socket: Socket) async {
    let buffer = TestBuffer(count: 16384)
    do {
        while true {
            let count = try await socket.read(into: buffer.bytes)
            if count == 0 { break }
            try await socket.write(buffer.prefix(count))
        }
    } catch {}
    socket.close()
}

/// Runs `body` on `loop`'s thread and returns its result.
func onLoop<Result: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () -> Result) async -> Result {
    await withCheckedContinuation { continuation in
        loop.execute { continuation.resume(returning: body()) }
    }
}

/// A value shared between a test and loop jobs; every access happens under its lock.
final class Shared<Value>: @unchecked Sendable {
    private let lock = Lock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withValue<Result>(_ body: (inout Value) -> Result) -> Result {
        lock.withLock { body(&value) }
    }

    var current: Value { lock.withLock { value } }
}

/// Polls `condition` every 2 ms until it holds or `duration` passes.
func eventually(within duration: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
    let deadline = Deadline.after(duration)
    while Deadline.now() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return condition()
}
