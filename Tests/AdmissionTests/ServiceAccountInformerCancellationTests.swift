import EventLoop
import Logging
import Testing
import TestKubernetesAPI
@testable import Admission

/// Shutdown cancels the informer's task (`Webhook.run` awaits it before the loops stop): it must
/// end promptly from wherever it waits, with no connection left open.
@Suite(.timeLimit(.minutes(1)))
struct ServiceAccountInformerCancellationTests {
    @Test func cancellingTheInformerWhileItsWatchIsConnectedEndsItAtOnce() async throws {
        let api = try FakeKubernetesAPI(accounts: [ServiceAccount(namespace: "default", name: "app", annotations: ["vultr.com/role-arn": "r"])])
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let client = try HTTPClient.kubernetes(api: api.configuration, loop: loop, maxResponseBodySize: .max)
        let store = ServiceAccountStore()
        var configuration = ServiceAccountInformer.Configuration()
        configuration.watchTimeout = .seconds(300)
        let informer = ServiceAccountInformer(store: store, client: client, api: api.configuration, configuration: configuration, logger: Logger(label: "test"))
        let task = informer.start(onSynced: {}, onForbidden: { _ in })

        let watching = await poll(for: .seconds(20)) { store.statistics.secondsSinceConfirmed == 0 }
        #expect(watching, "the watch never connected: \(api.requests)")
        let start = ContinuousClock.now
        task.cancel()
        let ended = LockedValue(false)
        Task {
            await task.value
            ended.withLock { $0 = true }
        }
        let endedInTime = await poll(for: .seconds(5)) { ended.withLock { $0 } }
        #expect(endedInTime, "the informer did not end within 5 s of its cancellation")
        #expect(ContinuousClock.now - start < .seconds(2))
        let (open, idle) = await withTaskExecutorPreference(loop) { (client.openConnectionCount, client.idleConnectionCount) }
        #expect(open == 0 && idle == 0, "connections left: \(open) open, \(idle) idle")
        #expect(informer.statistics.restartsByReason.isEmpty, "a cancellation is no watch restart")
    }

    /// Polls `condition` every 10 ms until it holds or `timeout` passes.
    private func poll(for timeout: Duration, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
