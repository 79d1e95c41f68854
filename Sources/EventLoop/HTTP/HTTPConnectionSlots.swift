/// The bound on connections an `HTTPClient` keeps open per (scheme, host, port): idle, busy
/// and connecting ones all hold a slot. A request that finds none free waits in line (first come,
/// first served) until a busy connection is released to it or a closed one frees its slot,
/// or until its deadline.
///
/// Confined to the client's event loop.
final class HTTPConnectionSlots {
    /// What a waiting request is given. Unchecked: a connection passes between tasks that all
    /// run on the client's loop.
    enum Grant: @unchecked Sendable {
        /// A connection that just finished a response, ready for the next request.
        case connection(HTTPClientConnection)
        /// Permission to open a new connection (the slot is already counted).
        case slot
    }

    let limit: Int
    private let loop: EventLoop
    private var open: [HTTPPoolKey: Int] = [:]
    private var queues: [HTTPPoolKey: [Waiter]] = [:]

    init(limit: Int, loop: EventLoop) {
        precondition(limit > 0, "the connection limit must be at least 1")
        self.limit = limit
        self.loop = loop
    }

    /// The connections holding a slot, for every key.
    var openCount: Int { open.values.reduce(0, +) }

    /// Counts a new connection to `key` if a slot is free and nobody waits for one already.
    func take(_ key: HTTPPoolKey) -> Bool {
        let count = open[key, default: 0]
        guard count < limit, queues[key]?.isEmpty ?? true else { return false }
        open[key] = count + 1
        return true
    }

    /// Waits in line for a connection or a slot; throws `IOError.timedOut` at `deadline`.
    func wait(for key: HTTPPoolKey, deadline: Deadline) async throws -> Grant {
        try await withCheckedThrowingContinuation { continuation in
            let waiter = Waiter(continuation)
            queues[key, default: []].append(waiter)
            if deadline != .distantFuture {
                waiter.timer = loop.scheduleTimer(at: deadline) { [weak self, weak waiter] in
                    guard let waiter else { return }
                    self?.queues[key]?.removeAll { $0 === waiter }
                    waiter.resume(with: .failure(IOError.timedOut("wait for a connection to \(key.host):\(key.port)")))
                }
            }
        }
    }

    /// Hands `connection` to the first request waiting for its key; false when none waits.
    func handOver(_ connection: HTTPClientConnection) -> Bool {
        guard let waiter = nextWaiter(connection.key) else { return false }
        waiter.resume(with: .success(.connection(connection)))
        return true
    }

    /// A connection to `key` closed (or failed to open): its slot goes to the first waiter, if any.
    func free(_ key: HTTPPoolKey) {
        if let waiter = nextWaiter(key) {
            waiter.resume(with: .success(.slot))
            return
        }
        let count = open[key, default: 0] - 1
        open[key] = count > 0 ? count : nil
    }

    private func nextWaiter(_ key: HTTPPoolKey) -> Waiter? {
        guard var queue = queues[key], !queue.isEmpty else { return nil }
        let waiter = queue.removeFirst()
        queues[key] = queue.isEmpty ? nil : queue
        if let timer = waiter.timer { loop.cancelTimer(timer) }
        return waiter
    }

    private final class Waiter {
        private var continuation: CheckedContinuation<Grant, any Error>?
        var timer: TimerHandle?

        init(_ continuation: CheckedContinuation<Grant, any Error>) {
            self.continuation = continuation
        }

        func resume(with result: Result<Grant, any Error>) {
            continuation?.resume(with: result)
            continuation = nil
        }
    }
}
