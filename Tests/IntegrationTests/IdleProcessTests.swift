import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An idle webhook is quiet: with the systemd watchdog on, only its event loops wake (for the
/// ping's timer and its probes), and no thread is created or woken outside them. A thread of
/// Swift's global executor or Dispatch's pool would cost, under the shipped unit's
/// `SystemCallFilter`, a refused `setpriority` and a journal line each time one is created.
@Suite(.timeLimit(.minutes(2)))
struct IdleProcessTests {
    static let idle: Duration = .seconds(10)
    /// WATCHDOG_USEC: a ping every 200 ms, 50 during the idle period.
    static let watchdogMicroseconds = 400_000

    @Test func anIdleWebhookUnderTheWatchdogWakesOnlyItsLoopsAndKeepsItsThreads() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let notify = try NotifySocket(path: directory.appendingPathComponent("notify").path)
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        environment["WATCHDOG_USEC"] = "\(Self.watchdogMicroseconds)"
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "2",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key,
            "--service-accounts-file", TestTools.root.appendingPathComponent("deploy/dev/serviceaccounts.yaml").path,
        ], environment: environment)
        let port = try await webhook.listeningPort()

        // An admission and a scrape first, so whatever starts lazily has started.
        let answer = try await TestTools.curl(
            "POST", port: port, path: "/mutate", caFile: tls.certificate, contentType: "application/json",
            bodyFile: TestTools.root.appendingPathComponent("deploy/dev/review.json").path)
        #expect(answer.status == 200)
        #expect(try await TestTools.curl("GET", port: port, path: "/metrics", caFile: tls.certificate).status == 200)
        #expect(try await notify.waitFor("WATCHDOG=1", timeout: .seconds(5)) != nil, "\(notify.received)")
        try await Task.sleep(for: .seconds(1))

        let probe = ProcessProbe(pid: webhook.process.processIdentifier)
        let before = try #require(probe.threads)
        let pingsBefore = notify.count(of: "WATCHDOG=1")
        try await Task.sleep(for: Self.idle)
        let after = try #require(probe.threads)
        let pings = notify.count(of: "WATCHDOG=1") - pingsBefore

        let started = Set(after.map(\.id)).subtracting(before.map(\.id))
        #expect(started.isEmpty, "threads started while idle: \(after.filter { started.contains($0.id) })")
        #expect(pings >= 10, "the watchdog pinged \(pings) times in \(Self.idle)")
        let loops = after.filter { $0.name.hasPrefix("event-loop-") }
        #expect(loops.count == 2, "\(after)")
        var loopWakeups = 0, otherWakeups: [String] = []
        let pid = Int(webhook.process.processIdentifier)
        let mainName = after.first { $0.id == pid }?.name
        for thread in after {
            let woken = thread.voluntarySwitches - (before.first { $0.id == thread.id }?.voluntarySwitches ?? 0)
            if Sanitizers.thread, thread.id != pid, thread.name == mainName {
                continue  // ThreadSanitizer's own background thread (it keeps the main thread's name) wakes every 100 ms
            } else if thread.name.hasPrefix("event-loop-") {
                loopWakeups += woken
            } else if woken > 0 {
                otherWakeups.append("\(thread.name) (\(thread.id)): \(woken)")
            }
        }
        // Each ping wakes the first loop once (its timer) and the second once (its probe); the
        // slack covers the pings in flight at both ends of the window.
        #expect(loopWakeups <= 2 * pings + 10, "the loops woke \(loopWakeups) times for \(pings) pings")
        // Outside the loops nothing wakes: the main thread, the signal and file-watcher threads
        // and main-loop-0 (which ran startup) are blocked, and no Dispatch thread exists. Pings on
        // the pool (Task.sleep) cost 2 or more wake-ups each, over 50 here.
        #expect(otherWakeups.isEmpty, "threads outside the loops woke: \(otherWakeups)")
        _ = try await webhook.stop(timeout: .seconds(10))
    }
}
