import CEventLoopShims
import EventLoop
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT as async events. The signal handler only writes the signal number to a
/// pipe (the self-pipe trick, async-signal-safe whichever thread the kernel picks); a thread
/// reading the pipe hands it to `next()`. SIGPIPE is ignored: writes report EPIPE instead.
enum TerminationSignal {
    private static let state = LockedValue<State>(State())

    private struct State {
        var waiter: CheckedContinuation<String, Never>?
        var pending: [String] = []
        var exitOnNextSignal = false
    }

    /// Installs the handlers; call once, before anything else starts.
    static func install() {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { fatalError("pipe() for signal handling failed: \(errno)") }
        signalPipeWriteEnd = fds[1]
        signal(SIGPIPE, SIG_IGN)
        // A parent may start us with them blocked (Foundation's Process spawns from a Dispatch
        // thread, whose mask blocks them); every thread started later inherits this mask.
        var handled = sigset_t()
        sigemptyset(&handled)
        sigaddset(&handled, SIGTERM)
        sigaddset(&handled, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
        for number in [SIGTERM, SIGINT] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipeWriteEnd, &byte, 1)
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(number, &action, nil)
        }
        let readEnd = fds[0]
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            let descriptor = Int32(Int(bitPattern: argument))
            CEventLoopShims_setThreadName("signals")
            var byte: UInt8 = 0
            while true {
                let count = read(descriptor, &byte, 1)
                if count < 0, errno == EINTR { continue }
                guard count == 1 else { return nil }
                TerminationSignal.deliver(Int32(byte) == SIGTERM ? "SIGTERM" : "SIGINT")
            }
        }, UnsafeMutableRawPointer(bitPattern: Int(readEnd)))
        precondition(created == 0, "pthread_create for the signal thread failed: \(created)")
        pthread_detach(thread)
    }

    /// Waits for the next SIGTERM or SIGINT; returns its name.
    static func next() async -> String {
        await withCheckedContinuation { continuation in
            let ready: String? = state.withLock { state in
                if !state.pending.isEmpty { return state.pending.removeFirst() }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// From now on, a signal ends the process at once (exit code 1): the impatient second Ctrl-C.
    static func exitOnNext() {
        state.withLock { $0.exitOnNextSignal = true }
    }

    private static func deliver(_ name: String) {
        let (waiter, exitNow): (CheckedContinuation<String, Never>?, Bool) = state.withLock { state in
            if state.exitOnNextSignal { return (nil, true) }
            guard let waiter = state.waiter else {
                state.pending.append(name)
                return (nil, false)
            }
            state.waiter = nil
            return (waiter, false)
        }
        if exitNow { _exit(1) }
        waiter?.resume(returning: name)
    }
}

/// The pipe's write end, read by the signal handler (a C function pointer cannot capture it).
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1
