import Admission
import EventLoop

/// The narrowing writer's line on `/readyz`: what it last wrote, or why it has not.
enum NarrowingStatus {
    static func line(_ narrowing: Narrowing) -> String {
        let statistics = narrowing.writer.statistics, settings = narrowing.settings
        let prefix = "narrowing \(settings.configuration)/\(settings.webhook): "
        let now = Deadline.now()
        if !statistics.writing {
            let holder = narrowing.elector.statistics.holder.map { $0.isEmpty ? "nobody" : $0 } ?? "not known yet"
            return prefix + "not writing: the Lease \(settings.leaseNamespace)/\(settings.leaseName) is held by \(holder), this is \(settings.identity)"
        }
        if !statistics.synced { return prefix + "waiting for the first ServiceAccount list" }
        if statistics.consecutiveFailures > 0 {
            let since = statistics.failingSince.map { seconds(now.duration(since: $0)) } ?? "0"
            let kept = statistics.written.map { "the \($0.scope.rawValue) condition written \(ago(statistics, now))" }
                ?? "whatever condition the entry holds"
            return prefix + "writes failing (\(statistics.consecutiveFailures) in a row, for \(since) s; retrying): \(statistics.lastError ?? ""); keeping \(kept)"
        }
        guard let written = statistics.written else { return prefix + "writing the first condition" }
        return prefix + "\(written.scope.rawValue) (\(statistics.accounts) accounts with a role, \(written.size) code points), written \(ago(statistics, now))"
    }

    private static func ago(_ statistics: MatchConditionWriter.Statistics, _ now: Deadline) -> String {
        statistics.writtenAt.map { "\(seconds(now.duration(since: $0))) s ago" } ?? "before"
    }

    private static func seconds(_ duration: Duration) -> String {
        String(duration.components.seconds)
    }
}
