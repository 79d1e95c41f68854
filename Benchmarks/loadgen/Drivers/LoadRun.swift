import EventLoop
import Synchronization

/// A whole run: spreads the connections over the event loops, stops after the duration or the
/// request budget, prints a progress line per second, and merges what every connection measured.
struct LoadRun {
    let plan: LoadPlan
    /// The event loops (`--threads`).
    let loops: [EventLoop]
    let dialer: any Dialer

    /// Runs to the end and returns the merged statistics and the measured time in seconds.
    func run() async -> (statistics: RunStatistics, seconds: Double) {
        let counters = LiveCounters()
        let start = Deadline.now()
        let measureFrom = start + plan.warmup
        let schedules: [OpenLoopSchedule?] = loops.indices.map { index in
            plan.rate.map { OpenLoopSchedule(start: start, loopIndex: index, threads: loops.count, rate: $0) }
        }
        let progress = Task { await Self.reportProgress(counters, measureFrom: measureFrom) }
        let stopper = Task {
            guard plan.requestLimit == nil else { return }
            try? await Task.sleep(for: plan.warmup + plan.duration)
            counters.stopping.store(true, ordering: .relaxed)
        }
        var total = RunStatistics()
        await withTaskGroup(of: RunStatistics.self) { group in
            for index in 0..<plan.connections {
                let loop = index % loops.count
                let worker = ConnectionWorker(plan: plan, stream: UInt32(index), counters: counters, measureFrom: measureFrom,
                                              schedule: schedules[loop], dialer: dialer, loop: loop, eventLoop: loops[loop])
                group.addTask(executorPreference: loops[loop]) { await worker.run() }
            }
            for await statistics in group { total.merge(statistics) }
        }
        let end = Deadline.now()
        stopper.cancel()
        progress.cancel()
        let measured = end.duration(since: max(measureFrom, start))
        let seconds = Double(measured.components.seconds) + Double(measured.components.attoseconds) / 1e18
        return (total, max(seconds, 0))
    }

    /// Prints `t=Ns  R req/s  F failed` to standard error once a second until cancelled.
    private static func reportProgress(_ counters: LiveCounters, measureFrom: Deadline) async {
        var second = 0
        var lastCompleted = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            if Task.isCancelled { return }
            second += 1
            let completed = counters.completed.load(ordering: .relaxed)
            let phase = Deadline.now() < measureFrom ? " (warm-up)" : ""
            Console.error("t=\(second)s  \(completed - lastCompleted) req/s  \(counters.failed.load(ordering: .relaxed)) failed\(phase)")
            lastCompleted = completed
        }
    }
}
