/// The bridge to Swift concurrency: a task started with `spawn` (or inside
/// `withTaskExecutorPreference(loop)`) runs its jobs on the loop thread, and a continuation
/// resumed by the loop re-enqueues the task on the same loop — no thread hop per I/O.
///
/// An actor pins itself to a loop with
/// `nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }`
/// where `loop` is a stored property (an `UnownedSerialExecutor` does not keep its loop alive).
extension EventLoop: TaskExecutor, SerialExecutor {
    public func enqueue(_ job: consuming ExecutorJob) {
        enqueue(.task(UnownedJob(job)))
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func checkIsolated() {
        precondition(inEventLoop, "expected to run on the event loop thread")
    }

    /// Starts `operation` as a task whose jobs run on this loop.
    public func spawn(_ operation: sending @escaping @isolated(any) () async -> Void) {
        Task(executorPreference: self, operation: operation)
    }

    /// Suspends until `deadline` using this loop's timer heap; throws `CancellationError`
    /// as soon as the task is cancelled.
    public func sleep(until deadline: Deadline) async throws {
        try Task.checkCancellation()
        let sleeper = Sleeper(loop: self)
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                if inEventLoop {
                    sleeper.start(continuation, deadline: deadline)
                } else {
                    execute { sleeper.start(continuation, deadline: deadline) }
                }
            }
        } onCancel: {
            execute { sleeper.cancel() }
        }
    }
}

/// The state of one `EventLoop.sleep`, confined to the loop thread.
private final class Sleeper: @unchecked Sendable {
    private enum State {
        case idle
        case sleeping(UnsafeContinuation<Void, any Error>, TimerHandle)
        case cancelled
        case finished
    }

    private let loop: EventLoop
    private var state = State.idle

    init(loop: EventLoop) {
        self.loop = loop
    }

    func start(_ continuation: UnsafeContinuation<Void, any Error>, deadline: Deadline) {
        guard case .idle = state else {
            continuation.resume(throwing: CancellationError())
            return
        }
        let handle = loop.scheduleTimer(at: deadline) { self.wake() }
        state = .sleeping(continuation, handle)
    }

    func cancel() {
        switch state {
        case .idle:
            state = .cancelled
        case .sleeping(let continuation, let handle):
            loop.cancelTimer(handle)
            state = .finished
            continuation.resume(throwing: CancellationError())
        case .cancelled, .finished:
            break
        }
    }

    private func wake() {
        guard case .sleeping(let continuation, _) = state else { return }
        state = .finished
        continuation.resume()
    }
}
