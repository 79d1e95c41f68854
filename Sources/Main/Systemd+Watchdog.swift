import EventLoop
import Synchronization

extension Systemd {
    /// Sends WATCHDOG=1 every `interval` from a timer on the first loop, while every other loop
    /// has run the probe job the previous ping left it: a stuck loop stops the pings and systemd
    /// restarts the service. Nothing runs on Swift's global executor or Dispatch's pool: each new
    /// pool thread costs a `setpriority` that the shipped unit's `SystemCallFilter` refuses and logs.
    static func startWatchdog(interval: Duration, loops: [EventLoop]) {
        let watchdog = Watchdog(interval: interval, loops: loops)
        loops[0].execute { watchdog.start() }
    }
}

/// The watchdog's state, confined to its first loop except for the probe count, which the other
/// loops decrement as they run their probes.
private final class Watchdog: @unchecked Sendable {
    private let interval: Duration
    private let loops: [EventLoop]
    /// Any loop: the probes sent with the last ping that have not run yet.
    private let outstandingProbes = Atomic<Int>(0)

    init(interval: Duration, loops: [EventLoop]) {
        self.interval = interval
        self.loops = loops
    }

    func start() {
        sendProbes()
        scheduleTick()
    }

    private func tick() {
        if outstandingProbes.load(ordering: .acquiring) == 0 {
            Systemd.notify("WATCHDOG=1")
            sendProbes()
        }
        scheduleTick()
    }

    private func sendProbes() {
        let others = loops.dropFirst()
        outstandingProbes.store(others.count, ordering: .releasing)
        for loop in others {
            loop.execute { self.outstandingProbes.subtract(1, ordering: .releasing) }
        }
    }

    private func scheduleTick() {
        let loop = loops[0]
        _ = loop.scheduleTimer(at: loop.iterationStart + interval) { self.tick() }
    }
}
