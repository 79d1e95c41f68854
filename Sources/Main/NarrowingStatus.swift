import Admission
import EventLoop

/// The narrowing writer's line on `/readyz`: what it last wrote, or why it has not.
enum NarrowingStatus {
    static func line(_ statistics: MatchConditionWriter.Statistics, configuration: MatchConditionWriter.Configuration) -> String {
        let prefix = "narrowing \(configuration.configurationName)/\(configuration.webhookName): "
        let now = Deadline.now()
        if !statistics.writing { return prefix + "not writing (another replica holds the Lease)" }
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
