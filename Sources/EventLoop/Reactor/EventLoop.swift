import CEventLoopShims
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// One reactor thread: an epoll instance, a job queue and a timer heap, bridged to Swift
/// concurrency as a `TaskExecutor` and `SerialExecutor` (see `EventLoop+Executor.swift`).
///
/// Each iteration runs its jobs, fires due timers, then waits in `epoll_wait` (not at all if
/// jobs are pending; otherwise until the earliest timer). Jobs that the loop's own jobs enqueue
/// (an actor call from a connection task and its return) run in the same iteration, up to
/// `jobsPerIteration`, so that a hop between a task and an actor pinned to the loop costs no
/// `epoll_wait`. Jobs enqueued on the loop thread go to a lock-free local queue; other threads
/// use a locked queue and write the eventfd only if no wake-up is already pending.
public final class EventLoop: @unchecked Sendable {
    enum Job {
        case task(UnownedJob)
        case closure(() -> Void)
    }

    /// Immutable after init; `wake()` is the only part used off the loop thread.
    let selector: Selector
    /// Loop thread only. The loop-thread fields skip the runtime's exclusivity checks (several
    /// per request): only the loop thread touches them, one call at a time.
    @exclusivity(unchecked) var timers = TimerQueue()
    /// Loop thread only: jobs for the next iteration.
    @exclusivity(unchecked) private var jobs: [Job] = []
    /// Loop thread only: the batch being run.
    @exclusivity(unchecked) private var runningJobs: [Job] = []
    /// Loop thread only.
    private var stopRequested = false
    /// Loop thread only: `epoll_wait` calls so far (tests count iterations with it; a connection
    /// compares it to know whether the loop has polled since its last turn).
    private(set) var pollCount = 0
    /// Loop thread only: tasks that gave way until the next `epoll_wait` (`yieldToIO`).
    @exclusivity(unchecked) private var waitingForPoll: [UnsafeContinuation<Void, Never>] = []
    /// The thread's name, as `/proc/<pid>/task/<tid>/comm` shows it.
    let name: String
    /// Loop thread only: the monotonic time when the current iteration began (after its
    /// `epoll_wait`), refreshed again before timers fire. See `iterationStart`.
    @exclusivity(unchecked) private var iterationTime = Deadline(uptimeNanoseconds: 0)
    /// Any thread, under `remoteLock`.
    private var remoteJobs: [Job] = []
    private let remoteLock = Lock()
    /// Written once by the loop thread before `hasStarted` is set; read-only afterwards.
    private var thread = pthread_t()
    private let hasStarted = Atomic<Bool>(false)

    /// The most jobs one iteration runs before it polls for I/O again: jobs that keep enqueuing
    /// jobs cannot starve the sockets and timers.
    static let jobsPerIteration = 4096

    init(name: String = "event-loop") throws(IOError) {
        self.name = name
        selector = try Selector()
    }

    /// The time the current loop iteration began: at most one iteration old, without a clock
    /// read. Good for deadlines of seconds (a timeout set from it ends at most one iteration
    /// early), not for measuring durations. Read on the loop thread; elsewhere it is `Deadline.now()`.
    public var iterationStart: Deadline {
        inEventLoop ? iterationTime : Deadline.now()
    }

    /// Whether the caller runs on this loop's thread.
    public var inEventLoop: Bool {
        pthread_equal(pthread_self(), thread) != 0
    }

    /// Runs `work` on the loop thread, after the jobs already queued. Callable from any thread.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        enqueue(.closure(work))
    }

    /// Runs `work` at `deadline` (at most about a millisecond late). Loop thread only.
    public func scheduleTimer(at deadline: Deadline, _ work: @escaping () -> Void) -> TimerHandle {
        precondition(inEventLoop, "scheduleTimer called off its event loop")
        return timers.schedule(at: deadline, work)
    }

    /// Prevents a scheduled timer from firing; harmless if it already fired. Loop thread only.
    public func cancelTimer(_ handle: TimerHandle) {
        precondition(inEventLoop, "cancelTimer called off its event loop")
        timers.cancel(handle)
    }

    /// Suspends the calling task until this loop has polled for I/O once more, so the sockets and
    /// timers that became ready meanwhile get their turn before it goes on. Loop thread only.
    nonisolated(nonsending) func yieldToIO() async {
        precondition(inEventLoop, "yieldToIO called off its event loop")
        await withUnsafeContinuation { waitingForPoll.append($0) }
    }

    func enqueue(_ job: Job) {
        if inEventLoop {
            jobs.append(job)
        } else {
            remoteLock.withLock { remoteJobs.append(job) }
            selector.wake()
        }
    }

    /// Runs the loop on the calling thread until `stop()`; called once by `EventLoopGroup`.
    func run() {
        thread = pthread_self()
        CEventLoopShims_setThreadName(name)
        hasStarted.store(true, ordering: .releasing)
        var collectRemote = true
        while true {
            iterationTime = Deadline.now()
            if collectRemote { collectRemoteJobs() }
            runJobs()
            if stopRequested {
                releaseAfterStop()
                return
            }
            var timeout: Int32 = 0
            if !timers.isEmpty {
                let now = Deadline.now()
                iterationTime = now
                fireTimers(now: now)
                if jobs.isEmpty, waitingForPoll.isEmpty { timeout = timers.timeoutMilliseconds(now: now) }
            } else if jobs.isEmpty, waitingForPoll.isEmpty {
                timeout = -1
            }
            pollCount &+= 1
            do {
                collectRemote = try selector.poll(timeoutMilliseconds: timeout)
            } catch {
                preconditionFailure("\(error)")
            }
            resumeTasksWaitingForPoll()
        }
    }

    /// Spins until `run()` has recorded its thread (startup only).
    func waitUntilStarted() {
        while !hasStarted.load(ordering: .acquiring) { sched_yield() }
    }

    /// Ends `run()` after the current iteration. Any thread.
    func stop() {
        execute { self.stopRequested = true }
    }

    /// Drops what the stopped loop still holds: queued jobs, timers and registrations refer back
    /// to the loop, and those cycles would keep it, its epoll instance and its eventfd alive.
    private func releaseAfterStop() {
        jobs.removeAll()
        waitingForPoll.removeAll()
        remoteLock.withLock { remoteJobs.removeAll() }
        timers = TimerQueue()
        selector.removeAllRegistrations()
    }

    /// Runs the queued jobs in batches, including those the batches enqueue, until none is left,
    /// `stop()` ran, or `jobsPerIteration` is spent.
    private func runJobs() {
        var budget = Self.jobsPerIteration
        while !jobs.isEmpty, !stopRequested, budget > 0 {
            swap(&jobs, &runningJobs)
            budget -= runningJobs.count
            for index in runningJobs.indices {
                switch runningJobs[index] {
                case .task(let job):
                    job.runSynchronously(on: asUnownedTaskExecutor())
                case .closure(let work):
                    work()
                }
            }
            runningJobs.removeAll(keepingCapacity: true)
            // Jobs from other threads (a listener's stop at shutdown) join between batches, so
            // a long chain of local jobs (a flood of handshakes) cannot hold them back for the
            // whole budget.
            if selector.isWakePending { collectRemoteJobs() }
        }
    }

    /// After a poll: the tasks that gave way go on, behind the I/O the poll made ready.
    private func resumeTasksWaitingForPoll() {
        guard !waitingForPoll.isEmpty else { return }
        let waiting = waitingForPoll
        waitingForPoll.removeAll(keepingCapacity: true)
        for task in waiting { task.resume() }
    }

    private func collectRemoteJobs() {
        remoteLock.withLock {
            jobs.append(contentsOf: remoteJobs)
            remoteJobs.removeAll(keepingCapacity: true)
        }
    }

    private func fireTimers(now: Deadline) {
        while let due = timers.popExpired(now: now) {
            switch due {
            case .work(let work):
                work()
            case .target(let target, let tag, let deadline):
                target.timerFired(tag: tag, deadline: deadline)
            }
        }
    }
}
