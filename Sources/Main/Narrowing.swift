import Admission
import EventLoop
import Logging

/// The narrowing writer (`MatchConditionWriter`), the Lease elector that makes one replica its
/// writer, and their metrics: built with the ServiceAccount sources (the writer is the informer's
/// gate), started by `Webhook.run` once serving.
struct Narrowing: Sendable {
    let settings: NarrowingSettings
    let writer: MatchConditionWriter
    let elector: LeaseElector
    let metrics: NarrowingMetrics

    /// Both on one HTTP client of their own on `loop` (bodies up to 16 MiB: a configuration
    /// holding a 100,000 code point expression, with its managedFields).
    init(_ settings: NarrowingSettings, api: KubernetesAPIConfiguration, loop: EventLoop, patchConfig: PatchConfig) throws(ConfigurationError) {
        let client: HTTPClient
        do {
            client = try HTTPClient.kubernetes(api: api, loop: loop, maxResponseBodySize: 16 * 1024 * 1024, maxConnections: 4)
        } catch {
            throw ConfigurationError("Kubernetes API client: \(error)")
        }
        self.settings = settings
        let userAgent = "irsa-webhook/\(IRSAWebhook.version)"
        var writerConfiguration = MatchConditionWriter.Configuration(configurationName: settings.configuration, webhookName: settings.webhook)
        writerConfiguration.userAgent = userAgent
        let metrics = NarrowingMetrics()
        self.metrics = metrics
        writer = MatchConditionWriter(
            configuration: writerConfiguration, client: client, api: api,
            hasRole: { patchConfig.role(of: $0) != nil },
            recordWrite: { duration, succeeded in metrics.recordWrite(duration: duration, succeeded: succeeded) },
            logger: Logger(label: "irsa-webhook"))
        elector = LeaseElector(
            client: client, api: api,
            configuration: LeaseElector.Configuration(
                namespace: settings.leaseNamespace, name: settings.leaseName, identity: settings.identity, timing: settings.leaseTiming,
                userAgent: userAgent),
            logger: Logger(label: "irsa-webhook"))
    }

    /// Campaigns for the Lease on `loop` and writes while holding it; the task ends (releasing
    /// the Lease) when cancelled.
    func start(loop: EventLoop) -> Task<Void, Never> {
        let writer = self.writer, elector = self.elector
        return Task(executorPreference: loop) {
            await elector.run { await writer.run(mayWrite: { elector.isLeader }) }
        }
    }
}
