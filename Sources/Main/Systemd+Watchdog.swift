import EventLoop

extension Systemd {
    /// Sends WATCHDOG=1 every `interval`, but only after every event loop has run a job since
    /// the last ping: a stuck loop stops the pings and systemd restarts the service.
    static func startWatchdog(interval: Duration, loops: [EventLoop]) {
        Task.detached {
            while true {
                try? await Task.sleep(for: interval)
                for loop in loops {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        loop.execute { continuation.resume() }
                    }
                }
                notify("WATCHDOG=1")
            }
        }
    }
}
