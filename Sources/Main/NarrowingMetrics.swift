import Admission
import CoreMetrics

/// The narrowing writer's metrics (`--narrow-webhook-configuration`), created only when it is on:
/// each write's duration and result as it happens, the rest brought up to date at each scrape.
final class NarrowingMetrics: Sendable {
    private let writes = PrometheusLabelledCounters(label: "irsa_narrowing_writes_total", dimension: "result")
    private let writeDuration = CoreMetrics.Timer(label: "irsa_narrowing_write_duration_seconds")
    private let downgrades = PrometheusLabelledCounters(label: "irsa_narrowing_downgrades_total", dimension: "mode")
    private let heldChanges = PrometheusLabelledCounters(label: "irsa_narrowing_held_changes_total", dimension: "result")
    /// 1 for the scope of the condition written, by `NarrowingCondition.Scope.allCases` order.
    private let modes = NarrowingCondition.Scope.allCases.map { scope in
        CoreMetrics.Gauge(label: "irsa_narrowing_mode", dimensions: [("mode", scope.rawValue)])
    }
    private let codePoints = CoreMetrics.Gauge(label: "irsa_narrowing_expression_code_points")
    private let accounts = CoreMetrics.Gauge(label: "irsa_narrowing_accounts")
    private let writing = CoreMetrics.Gauge(label: "irsa_narrowing_writer_active")
    private let failing = CoreMetrics.Gauge(label: "irsa_narrowing_consecutive_failures")

    /// Counts one write (an apply, or the GET before it) and its duration.
    func recordWrite(duration: Duration, succeeded: Bool) {
        writes.increment(succeeded ? "success" : "failure")
        writeDuration.recordNanoseconds(duration.totalNanoseconds)
    }

    /// Brings the gauges and totals up to the writer's and the informer's gate.
    func record(_ writer: MatchConditionWriter.Statistics, informer: ServiceAccountInformer.Statistics) {
        for (scope, count) in writer.downgrades { downgrades.catchUp(scope.rawValue, to: Int(count)) }
        for (index, scope) in NarrowingCondition.Scope.allCases.enumerated() {
            modes[index].record(writer.written?.scope == scope ? 1 : 0)
        }
        codePoints.record(writer.written?.size ?? 0)
        accounts.record(writer.accounts)
        writing.record(writer.writing ? 1 : 0)
        failing.record(writer.consecutiveFailures)
        heldChanges.catchUp("admitted", to: Int(informer.heldChanges - informer.heldChangesTimedOut))
        heldChanges.catchUp("timeout", to: Int(informer.heldChangesTimedOut))
    }
}
