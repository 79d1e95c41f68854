#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGTERM and SIGINT into a call on a dedicated thread, so that no handler runs in
/// signal context. `block()` must run before any other thread starts: threads inherit the mask.
enum Signals {
    /// Blocks SIGTERM, SIGINT and SIGPIPE in the calling thread (and every thread it starts later).
    static func block() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Starts a thread that waits for SIGTERM or SIGINT and calls `handler` with the signal's
    /// name each time one arrives.
    static func onTermination(_ handler: @escaping @Sendable (String) -> Void) {
        let box = Unmanaged.passRetained(HandlerBox(handler)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let box = Unmanaged<HandlerBox>.fromOpaque(argument!).takeRetainedValue()
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGTERM)
            sigaddset(&set, SIGINT)
            while true {
                var signal: Int32 = 0
                guard sigwait(&set, &signal) == 0 else { continue }
                box.handler(signal == SIGTERM ? "SIGTERM" : "SIGINT")
            }
        }, box)
        precondition(result == 0, "pthread_create for the signal thread failed: \(result)")
        pthread_detach(thread)
    }

    private final class HandlerBox {
        let handler: @Sendable (String) -> Void
        init(_ handler: @escaping @Sendable (String) -> Void) { self.handler = handler }
    }
}
