import EventLoop
import Synchronization

/// `--idle-connections N`: opens N TLS connections, holds them idle (to measure the server's
/// memory per connection), then closes them.
struct IdleConnections {
    let count: Int
    let hold: Duration
    let loops: [EventLoop]
    let dialer: any Dialer
    /// Each connection first sends `GET /healthz` and reads a 200, so it is held as a keep-alive
    /// connection between requests (the server's idle timeout applies, not its first-request one).
    var requestFirst = false
    /// Connections opened concurrently per event loop.
    let openersPerLoop = 32

    /// Returns how many connections were opened and the failures while opening.
    func run() async -> (opened: Int, failures: [FailureKind: Int]) {
        let progress = IdleProgress()
        let openers = loops.count * openersPerLoop
        let start = Deadline.now()
        let (count, hold) = (self.count, self.hold)
        let waiter = Task {
            // Hold once every attempt is done (or after 5 minutes), then release.
            while progress.attempted.load(ordering: .relaxed) < count, Deadline.now() < start + .seconds(300) {
                try? await Task.sleep(for: .milliseconds(50))
            }
            Console.error("holding \(progress.opened.load(ordering: .relaxed)) idle connections for \(hold)")
            try? await Task.sleep(for: hold)
            progress.release.store(true, ordering: .relaxed)
        }
        var failures: [FailureKind: Int] = [:]
        await withTaskGroup(of: [FailureKind: Int].self) { group in
            for opener in 0..<openers {
                let loop = opener % loops.count
                let share = count / openers + (opener < count % openers ? 1 : 0)
                let (dialer, requestFirst) = (self.dialer, self.requestFirst)
                group.addTask(executorPreference: loops[loop]) {
                    var streams: [any ByteStream] = []
                    var failures: [FailureKind: Int] = [:]
                    let reader = requestFirst ? ResponseReader(initialCapacity: 1_024) : nil
                    let request = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.healthRequest.count, alignment: 1)
                    defer { request.deallocate() }
                    request.copyBytes(from: Self.healthRequest)
                    for _ in 0..<share {
                        let stream: any ByteStream
                        do {
                            stream = try await dialer.connect(loop: loop)
                        } catch {
                            failures[ConnectionWorker.kind(ofConnectError: error), default: 0] += 1
                            progress.attempted.wrappingAdd(1, ordering: .relaxed)
                            continue
                        }
                        if let reader, let failure = await Self.healthCheck(stream, request: UnsafeRawBufferPointer(request), reader: reader) {
                            failures[failure, default: 0] += 1
                            stream.close()
                        } else {
                            streams.append(stream)
                            progress.opened.wrappingAdd(1, ordering: .relaxed)
                        }
                        progress.attempted.wrappingAdd(1, ordering: .relaxed)
                    }
                    while !progress.release.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(100)) }
                    for stream in streams { stream.close() }
                    return failures
                }
            }
            for await partial in group { failures.merge(partial, uniquingKeysWith: +) }
        }
        await waiter.value
        return (progress.opened.load(ordering: .relaxed), failures)
    }

    private static let healthRequest = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: loadgen\r\n\r\n".utf8)

    /// Sends `request` (`GET /healthz`) on `stream` and reads the answer; nil when it is a keep-alive 200.
    private static func healthCheck(_ stream: any ByteStream, request: UnsafeRawBufferPointer, reader: ResponseReader) async -> FailureKind? {
        do {
            try await stream.write(request)
            let response = try await reader.read(from: stream)
            if response.status != 200 { return .httpStatus }
            return response.closes ? .closedByServer : nil
        } catch {
            return ConnectionWorker.kind(ofExchangeError: error)
        }
    }
}

/// Counters shared by the openers of `IdleConnections`.
private final class IdleProgress: Sendable {
    let opened = Atomic<Int>(0)
    let attempted = Atomic<Int>(0)
    /// Set when the connections may be closed.
    let release = Atomic<Bool>(false)
}
