import Foundation
import Glibc
import Testing
@testable import EventLoop

/// Raises the soft descriptor limit to at least `minimum` (bounded by the hard limit).
func ensureDescriptorLimit(_ minimum: rlim_t) -> Bool {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    if limit.rlim_cur >= minimum { return true }
    guard limit.rlim_max >= minimum else { return false }
    limit.rlim_cur = minimum
    return setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0
}

/// Connects, sends `message` and returns what the echo server sent back.
func echoRoundTrip(_ server: TCPServer, on loop: EventLoop, message: String, probes: ProbeList) async throws -> String {
    let client = try await Socket.connect(to: server.localAddress, on: loop, deadline: .after(.seconds(10)))
    probes.add(client.descriptor)
    defer { client.close() }
    client.readDeadline = .after(.seconds(20))
    try await write(client, message)
    return String(decoding: try await readFully(client, count: message.utf8.count), as: UTF8.self)
}

@Suite(.timeLimit(.minutes(1)))
struct TCPServerTests {
    @Test(arguments: [true, false])
    func echoesAThousandConcurrentConnections(runConnectionsOnLoop: Bool) async throws {
        #expect(ensureDescriptorLimit(8192))
        let probes = ProbeList()
        let handlerOnLoop = Shared<[Bool]>([])
        let server = try startServer(configuration: .init(runConnectionsOnLoop: runConnectionsOnLoop), probes: probes) { socket in
            await echo(socket)
            handlerOnLoop.withValue { $0.append(socket.loop.inEventLoop) }
        }
        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<1000 {
                let loop = sharedGroup.next()
                group.addTask(executorPreference: loop) {
                    let message = "connection \(index) " + String(repeating: "x", count: index % 97)
                    return try await echoRoundTrip(server, on: loop, message: message, probes: probes) == message ? 0 : 1
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(mismatches == 0)
        #expect(await eventually { server.openConnections == 0 })
        #expect(handlerOnLoop.current.count == 1000)
        #expect(handlerOnLoop.current.allSatisfy { $0 == runConnectionsOnLoop })
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }

    @Test func acceptsTheConnectionOverTheLimitOnlyAfterOneCloses() async throws {
        let probes = ProbeList()
        let peak = Shared(0)
        let server = try startServer(configuration: .init(maxConnections: 2), probes: probes) { socket in
            peak.withValue { $0 = max($0, socket.loop.inEventLoop ? 1 : 0) }
            await echo(socket)
        }
        let loop = sharedGroup.next()
        let outcome = try await withTaskExecutorPreference(loop) { () async throws -> [String] in
            var log: [String] = []
            var clients: [Socket] = []
            for index in 0..<2 {
                let client = try await Socket.connect(to: server.localAddress, on: loop, deadline: .after(.seconds(5)))
                probes.add(client.descriptor)
                client.readDeadline = .after(.seconds(5))
                try await write(client, "\(index)")
                log.append(String(decoding: try await readFully(client, count: 1), as: UTF8.self))
                clients.append(client)
            }
            // The kernel completes the third handshake, but the server must not accept it yet.
            let third = try await Socket.connect(to: server.localAddress, on: loop, deadline: .after(.seconds(5)))
            probes.add(third.descriptor)
            defer { third.close() }
            try await write(third, "2")
            third.readDeadline = .after(.milliseconds(200))
            do {
                _ = try await readFully(third, count: 1)
                log.append("third served early")
            } catch let error as IOError where error.code == .timedOut {
                log.append("third waits at \(server.openConnections)")
            }
            clients[0].close()
            third.readDeadline = .after(.seconds(5))
            log.append(String(decoding: try await readFully(third, count: 1), as: UTF8.self))
            log.append("open \(server.openConnections)")
            clients[1].close()
            return log
        }
        #expect(outcome == ["0", "1", "third waits at 2", "2", "open 2"])
        #expect(await eventually { server.openConnections == 0 })
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }

    @Test func adoptsAnInheritedListeningDescriptorSharedByAllLoops() async throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)  // blocking, inheritable: as systemd passes it
        let address = try SocketAddress(host: "127.0.0.1", port: 0)
        let bound = try address.withSocketAddress { pointer, length in bind(fd, pointer, length) }
        #expect(bound == 0)
        #expect(listen(fd, 128) == 0)
        let listener = try ListeningSocket(adopting: fd)
        #expect(fcntl(fd, F_GETFL) & O_NONBLOCK != 0)
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        #expect(listener.localAddress.port != 0)

        let probes = ProbeList()
        probes.add(fd)
        let server = TCPServer(group: sharedGroup, listeners: [listener], configuration: .init()) { socket in
            probes.add(socket.descriptor)
            await echo(socket)
        }
        server.start()
        let replies = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<50 {
                let loop = sharedGroup.next()
                group.addTask(executorPreference: loop) {
                    try await echoRoundTrip(server, on: loop, message: "adopted \(index)", probes: probes) == "adopted \(index)"
                }
            }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(replies == 50)
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }

    @Test func refusesToAdoptWhatIsNotAListeningStreamSocket() throws {
        let unconnected = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(unconnected) }
        #expect(throws: IOError.self) { try ListeningSocket(adopting: unconnected) }
        let datagram = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(datagram) }
        #expect(throws: IOError.self) { try ListeningSocket(adopting: datagram) }
        var pipeEnds: [Int32] = [0, 0]
        #expect(pipe(&pipeEnds) == 0)
        defer { close(pipeEnds[0]); close(pipeEnds[1]) }
        #expect(throws: IOError.self) { try ListeningSocket(adopting: pipeEnds[0]) }
    }

    @Test func stopAcceptingClosesListenersButLetsConnectionsFinish() async throws {
        let probes = ProbeList()
        let server = try startServer(probes: probes) { socket in await echo(socket) }
        let loop = sharedGroup.next()
        let log = try await withTaskExecutorPreference(loop) { () async throws -> [String] in
            var log: [String] = []
            let client = try await Socket.connect(to: server.localAddress, on: loop, deadline: .after(.seconds(5)))
            probes.add(client.descriptor)
            defer { client.close() }
            client.readDeadline = .after(.seconds(5))
            try await write(client, "a")
            log.append(String(decoding: try await readFully(client, count: 1), as: UTF8.self))
            await server.stopAccepting()
            await server.stopAccepting()
            do {
                let late = try await Socket.connect(to: server.localAddress, on: loop, deadline: .after(.seconds(5)))
                var local = sockaddr_storage()
                var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                _ = withUnsafeMutablePointer(to: &local) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(late.descriptor, $0, &length) }
                }
                late.close()
                log.append("late connection accepted from \(SocketAddress(&local).map(String.init(describing:)) ?? "?") to \(server.localAddress)")
            } catch let error as IOError {
                log.append(error.errorNumber == ECONNREFUSED ? "refused" : "\(error)")
            }
            try await write(client, "b")
            log.append(String(decoding: try await readFully(client, count: 1), as: UTF8.self))
            return log
        }
        #expect(log == ["a", "refused", "b"])
        #expect(await expectAllClosed(probes.all))
        // Ending the accept loops gave back exactly the slots they held.
        #expect(await eventually { server.openConnections == 0 })
        try await Task.sleep(for: .milliseconds(20))
        #expect(server.openConnections == 0)
    }

    /// Runs `ExhaustionChild` in a child process: it lowers RLIMIT_NOFILE, which would
    /// disturb tests running in parallel in this process.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["REACTOR_TEST_CHILD"] == nil))
    func pausesAcceptingWhenDescriptorsRunOutThenResumes() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = ["--testing-library", "swift-testing", "--filter", "ExhaustionChild"]
        child.environment = ProcessInfo.processInfo.environment.merging(["REACTOR_TEST_CHILD": "1"]) { $1 }
        let output = Pipe()
        child.standardOutput = output
        child.standardError = output
        try child.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        #expect(child.terminationStatus == 0, "\(text)")
        #expect(text.contains("passed"), "\(text)")
    }

    /// Connections the kernel queued on a listener but the server had not accepted yet are
    /// served when it stops accepting, not reset by the listener's close: in a `--reuse-port`
    /// handover the old process's listener holds its share of new connections until it closes.
    @Test func stopAcceptingServesTheConnectionsAlreadyQueued() async throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let server = try TCPServer.bind(group: group, address: loopback) { socket in await echo(socket) }
        server.start()
        let port = server.localAddress.port
        #expect(try Self.blockingEcho(port: port, message: "warm-up") == "warm-up")

        // Hold the loop while 8 clients connect and send: the kernel queues them unaccepted.
        let holding = Shared(false)
        let release = Shared(false)
        loop.execute {
            holding.withValue { $0 = true }
            let deadline = Deadline.after(.seconds(10))
            while !release.current, Deadline.now() < deadline { usleep(1000) }
        }
        #expect(await eventually { holding.current })
        let clients = try (0..<8).map { index in try Self.blockingClient(port: port, send: "queued \(index)") }
        defer { for client in clients { Glibc.close(client) } }
        try await Task.sleep(for: .milliseconds(50))
        let stopped = Task { await server.stopAccepting() }
        try await Task.sleep(for: .milliseconds(50))  // stop() is queued behind the holding job
        release.withValue { $0 = true }
        await stopped.value

        for (index, client) in clients.enumerated() {
            shutdown(client, Int32(SHUT_WR))
            #expect(Self.readAll(client) == "queued \(index)", "client \(index) was reset instead of served")
        }
    }

    /// A blocking client on 127.0.0.1:`port` that has sent `message`, reads time out after 5 s.
    static func blockingClient(port: UInt16, send message: String) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let address = try SocketAddress(host: "127.0.0.1", port: port)
        let connected = try address.withSocketAddress { pointer, length in connect(fd, pointer, length) }
        #expect(connected == 0, "connect: errno \(errno)")
        #expect(Array(message.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) } == message.utf8.count)
        return fd
    }

    /// What `fd` reads until end of stream, a reset or a timeout.
    static func readAll(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One blocking round trip through an echo server.
    static func blockingEcho(port: UInt16, message: String) throws -> String {
        let fd = try blockingClient(port: port, send: message)
        defer { Glibc.close(fd) }
        shutdown(fd, Int32(SHUT_WR))
        return readAll(fd)
    }
}

/// Only runs inside the child process started by `pausesAcceptingWhenDescriptorsRunOutThenResumes`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["REACTOR_TEST_CHILD"] != nil), .timeLimit(.minutes(1)))
struct ExhaustionChild {
    @Test func acceptPausesOnEMFILEWithoutBusyLoopingAndResumes() async throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        // Alone in this process, so the whole socket table can be checked for leaks (libdispatch
        // opens timerfds lazily, so other descriptors are not compared).
        let socketsBefore = openDescriptorTargets().filter { $0.contains("socket:") }
        let listener = try ListeningSocket.bind(loopback, reusePort: false)
        // Connected clients wait in the backlog before the server starts.
        var clients: [Int32] = []
        for _ in 0..<3 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            let connected = try listener.localAddress.withSocketAddress { pointer, length in connect(fd, pointer, length) }
            #expect(connected == 0)
            #expect(send(fd, "x", 1, 0) == 1)
            clients.append(fd)
        }
        let served = Shared(0)
        let server = TCPServer(group: group, listeners: [listener],
                               configuration: .init(acceptPauseOnResourceExhaustion: .milliseconds(50))) { socket in
            await echo(socket)
            served.withValue { $0 += 1 }
        }
        // No free descriptor below the limit: accept4 fails with EMFILE.
        var original = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &original)
        let lowestFree = dup(0)
        close(lowestFree)
        var lowered = original
        lowered.rlim_cur = rlim_t(lowestFree)
        #expect(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lowered) == 0)
        let start = Deadline.now()
        server.start()
        // Not Task.sleep: libdispatch traps when it cannot get a descriptor; the loop's timer needs none.
        let loop = group.loops[0]
        try await withTaskExecutorPreference(loop) { try await loop.sleep(until: .after(.milliseconds(300))) }
        let pausesWhileExhausted = server.acceptPauses
        let exhaustedFor = Deadline.now().duration(since: start)
        #expect(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &original) == 0)
        // One pause per 50 ms; a busy loop would pause thousands of times (or never sleep).
        let mostPauses = Int(exhaustedFor / .milliseconds(50)) + 1
        #expect(pausesWhileExhausted >= 2 && pausesWhileExhausted <= mostPauses,
                "\(pausesWhileExhausted) pauses in \(exhaustedFor)")
        #expect(served.current == 0)

        for fd in clients {
            var byte: UInt8 = 0
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            #expect(recv(fd, &byte, 1, 0) == 1 && byte == UInt8(ascii: "x"))
            close(fd)
        }
        #expect(await eventually { served.current == 3 })
        await server.stopAccepting()
        #expect(await eventually { openDescriptorTargets().filter { $0.contains("socket:") } == socketsBefore },
                "now \(openDescriptorTargets()), sockets before \(socketsBefore)")
    }
}
