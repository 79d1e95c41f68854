#if canImport(Glibc)
import Glibc
#endif

/// Turns host names into socket addresses without blocking an event loop.
///
/// `getaddrinfo` blocks, so it runs on the resolver's own threads (at most
/// `Configuration.maximumThreads`, started when a lookup is queued and ended when none is
/// left); the caller's task waits on a continuation and resumes on its own executor. Numeric
/// hosts never reach a thread. Answers are cached for `positiveTTL` (getaddrinfo does not tell
/// the DNS TTL, so a short fixed one), failures for `negativeTTL`, and concurrent lookups of
/// one name share a single `getaddrinfo` call. A caller stops waiting at its deadline (the
/// lookup itself finishes on its thread and still fills the cache).
///
/// `shared` serves every outbound connection of the process.
public final class HostResolver: Sendable {
    /// Cache lifetimes and the thread bound.
    public struct Configuration: Sendable {
        /// How long a successful answer is reused.
        public var positiveTTL: Duration = .seconds(30)
        /// How long a failed lookup is remembered (so retries do not query DNS again at once).
        public var negativeTTL: Duration = .seconds(5)
        /// The most lookups running at once (each on its own thread).
        public var maximumThreads = 2

        public init() {}
    }

    /// A blocking lookup: every address of a name, with port 0.
    public typealias Lookup = @Sendable (String) throws(HostResolutionError) -> [SocketAddress]

    /// The resolver every `HTTPClient` uses unless given another: the system's `getaddrinfo`.
    public static let shared = HostResolver()

    private let configuration: Configuration
    private let lookup: Lookup
    private let state = LockedValue(State())

    private struct State {
        var cache: [String: CachedAnswer] = [:]
        /// Callers waiting for a name being looked up, by name.
        var waiters: [String: [ResolutionWaiter]] = [:]
        /// Names waiting for a thread, in order.
        var queue: [String] = []
        var runningThreads = 0
    }

    private struct CachedAnswer {
        let result: Result<[SocketAddress], HostResolutionError>
        let expires: Deadline
    }

    /// - Parameter lookup: the blocking lookup (the system's `getaddrinfo` by default; tests
    ///   pass a table to exercise address lists the machine's resolver does not produce).
    public init(configuration: Configuration = Configuration(), lookup: @escaping Lookup = HostResolver.systemLookup) {
        self.configuration = configuration
        self.lookup = lookup
    }

    /// The addresses of `host` with `port`, in the resolver's order (try them in turn).
    ///
    /// - Parameters:
    ///   - loop: the caller's event loop (for the deadline timer); call on that loop.
    /// - Throws: `HostResolutionError` naming the host; `IOError.timedOut` when `deadline`
    ///   passes first; `CancellationError` when the task is cancelled.
    public func resolve(_ host: String, port: UInt16, deadline: Deadline, on loop: EventLoop) async throws -> [SocketAddress] {
        if let numeric = try? SocketAddress(host: host, port: port) { return [numeric] }
        let answer: [SocketAddress]
        if let cached = cachedAnswer(for: host) {
            answer = try cached.get()
        } else {
            answer = try await waitForLookup(of: host, deadline: deadline, on: loop)
        }
        return answer.map { address in
            var withPort = address
            withPort.port = port
            return withPort
        }
    }

    /// A fresh cached answer for `host`, if any.
    private func cachedAnswer(for host: String) -> Result<[SocketAddress], HostResolutionError>? {
        let now = Deadline.now()
        return state.withLock { state in
            guard let entry = state.cache[host], now < entry.expires else { return nil }
            return entry.result
        }
    }

    private func waitForLookup(of host: String, deadline: Deadline, on loop: EventLoop) async throws -> [SocketAddress] {
        let waiter = ResolutionWaiter(loop: loop)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiter.start(continuation, deadline: deadline, host: host)
                let startThread = state.withLock { state -> Bool in
                    if let entry = state.cache[host], Deadline.now() < entry.expires {
                        // Answered between the cache check and now.
                        waiter.finish(entry.result.mapError { $0 as any Error })
                        return false
                    }
                    let first = state.waiters[host] == nil
                    state.waiters[host, default: []].append(waiter)
                    guard first else { return false }
                    state.queue.append(host)
                    guard state.runningThreads < configuration.maximumThreads else { return false }
                    state.runningThreads += 1
                    return true
                }
                if startThread { startLookupThread() }
            }
        } onCancel: {
            waiter.finish(.failure(CancellationError()))
        }
    }

    private func startLookupThread() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            Unmanaged<HostResolver>.fromOpaque(context!).takeRetainedValue().runLookups()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<HostResolver>.fromOpaque(context).release()
            failQueuedLookups(reason: "cannot start a resolver thread: \(IOError.syscall("pthread_create", errno: result))")
            return
        }
        pthread_detach(thread)
    }

    /// A resolver thread: looks names up until the queue is empty.
    private func runLookups() {
        while let host = state.withLock({ state -> String? in
            guard !state.queue.isEmpty else {
                state.runningThreads -= 1
                return nil
            }
            return state.queue.removeFirst()
        }) {
            let result: Result<[SocketAddress], HostResolutionError>
            do throws(HostResolutionError) {
                result = .success(try lookup(host))
            } catch {
                result = .failure(error)
            }
            deliver(result, for: host)
        }
    }

    private func deliver(_ result: Result<[SocketAddress], HostResolutionError>, for host: String) {
        let ttl: Duration
        if case .success = result { ttl = configuration.positiveTTL } else { ttl = configuration.negativeTTL }
        let now = Deadline.now()
        let waiters = state.withLock { state in
            state.cache = state.cache.filter { now < $0.value.expires }
            state.cache[host] = CachedAnswer(result: result, expires: now + ttl)
            return state.waiters.removeValue(forKey: host) ?? []
        }
        for waiter in waiters { waiter.finish(result.mapError { $0 as any Error }) }
    }

    private func failQueuedLookups(reason: String) {
        let waiters = state.withLock { state in
            state.runningThreads -= 1
            let hosts = state.queue
            state.queue.removeAll()
            return hosts.map { host in (host, state.waiters.removeValue(forKey: host) ?? []) }
        }
        for (host, hostWaiters) in waiters {
            for waiter in hostWaiters { waiter.finish(.failure(HostResolutionError(host: host, reason: reason))) }
        }
    }
}

/// One caller waiting for a lookup: resumed exactly once, by the answer, its deadline or
/// cancellation, whichever comes first.
private final class ResolutionWaiter: @unchecked Sendable {
    private let loop: EventLoop
    /// Under `lock`.
    private var continuation: CheckedContinuation<[SocketAddress], any Error>?
    /// Under `lock`: the deadline timer, cancelled on the loop when the answer comes first.
    private var timer: TimerHandle?
    /// Under `lock`: set when cancellation came before `start`.
    private var finishedEarly: Result<[SocketAddress], any Error>?
    private let lock = Lock()

    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Arms the waiter on the loop thread: `continuation` is resumed by `finish` or at `deadline`.
    func start(_ continuation: CheckedContinuation<[SocketAddress], any Error>, deadline: Deadline, host: String) {
        var handle: TimerHandle?
        if deadline != .distantFuture {
            handle = loop.scheduleTimer(at: deadline) { [self] in
                finish(.failure(IOError.timedOut("resolve \(host)")))
            }
        }
        let early: Result<[SocketAddress], any Error>? = lock.withLock {
            if let finishedEarly { return finishedEarly }
            self.continuation = continuation
            self.timer = handle
            return nil
        }
        guard let early else { return }
        if let handle { loop.cancelTimer(handle) }
        continuation.resume(with: early)
    }

    /// Resumes the caller with `result` unless it was resumed already. Any thread.
    func finish(_ result: Result<[SocketAddress], any Error>) {
        let (continuation, timer): (CheckedContinuation<[SocketAddress], any Error>?, TimerHandle?) = lock.withLock {
            guard let continuation = self.continuation else {
                if finishedEarly == nil { finishedEarly = result }
                return (nil, nil)
            }
            self.continuation = nil
            defer { self.timer = nil }
            return (continuation, self.timer)
        }
        guard let continuation else { return }
        if let timer {
            let loop = self.loop
            if loop.inEventLoop { loop.cancelTimer(timer) } else { loop.execute { loop.cancelTimer(timer) } }
        }
        continuation.resume(with: result)
    }
}
