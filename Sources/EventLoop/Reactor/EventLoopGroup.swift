#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A fixed set of event loops, each on its own pthread with its own epoll instance.
public final class EventLoopGroup: Sendable {
    /// The loops, in thread-creation order.
    public let loops: [EventLoop]
    private let threads: [pthread_t]
    private let nextIndex = Atomic<Int>(0)
    private let isShutDown = Atomic<Bool>(false)

    /// Starts `threads` loops (default: one per online core), their threads named
    /// `<threadName>-<index>`. Stops the process if the kernel refuses an epoll instance, an
    /// eventfd or a thread: nothing can run without them.
    public init(threads: Int = EventLoopGroup.coreCount, threadName: String = "event-loop") {
        precondition(threads > 0, "an EventLoopGroup needs at least one thread")
        var loops: [EventLoop] = []
        var started: [pthread_t] = []
        for index in 0..<threads {
            let loop: EventLoop
            do {
                loop = try EventLoop(name: "\(threadName)-\(index)")
            } catch {
                fatalError("EventLoopGroup: \(error)")
            }
            var thread = pthread_t()
            let context = Unmanaged.passRetained(loop).toOpaque()
            let result = pthread_create(&thread, nil, { context in
                let loop = Unmanaged<EventLoop>.fromOpaque(context!).takeRetainedValue()
                loop.run()
                return nil
            }, context)
            guard result == 0 else {
                Unmanaged<EventLoop>.fromOpaque(context).release()
                fatalError("EventLoopGroup: \(IOError.syscall("pthread_create", errno: result))")
            }
            loop.waitUntilStarted()
            loops.append(loop)
            started.append(thread)
        }
        self.loops = loops
        self.threads = started
    }

    deinit {
        if loops.contains(where: { $0.inEventLoop }) {
            // Released on one of its own loops: stop them, but a thread cannot join itself.
            guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
            for loop in loops { loop.stop() }
        } else {
            shutdown()
        }
    }

    /// The number of online cores (`sysconf(_SC_NPROCESSORS_ONLN)`), at least 1.
    public static var coreCount: Int {
        max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// The loops in turn (round robin). Any thread.
    public func next() -> EventLoop {
        let index = nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue
        return loops[Int(UInt(bitPattern: index) % UInt(loops.count))]
    }

    /// Stops every loop after its current iteration and joins its thread. Idempotent; must not
    /// be called from one of the loops. Jobs still queued are dropped.
    public func shutdown() {
        precondition(!loops.contains { $0.inEventLoop }, "EventLoopGroup.shutdown called on one of its loops: it would join itself")
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for loop in loops { loop.stop() }
        for thread in threads { pthread_join(thread, nil) }
    }
}
