import Admission
import EventLoop
import Foundation
import Logging
import TestKubernetesAPI

/// A `LeaseElector` against a fake API, campaigning in a task of its own, whose leader work
/// records when it ran (its terms), to check that two electors never lead at once.
final class ElectorUnderTest: Sendable {
    /// One run of the leader work: when it started and ended (CLOCK_REALTIME seconds, as the
    /// fake API records its writes).
    struct Term: Sendable {
        var started: Double
        var ended: Double?
        /// Whether the work ran on the elector's event loop (the HTTP client's).
        var onLoop: Bool
    }

    let identity: String
    let elector: LeaseElector
    private let loop: EventLoop
    private let terms = LockedValue<[Term]>([])
    private let task = LockedValue<Task<Void, Never>?>(nil)

    /// 2 s leases, 1.5 s renew deadline, 0.2 s retry period.
    static let timing = try! LeaseTiming(leaseDuration: .seconds(2), renewDeadline: .milliseconds(1500), retryPeriod: .milliseconds(200))

    /// An elector for Lease `irsa/irsa-webhook` as `identity`, on `loop`, with an HTTP client of its own.
    init(_ identity: String, api: FakeKubernetesAPI, loop: EventLoop, releaseOnCancel: Bool = true) throws {
        self.identity = identity
        self.loop = loop
        let configuration = LeaseElector.Configuration(
            namespace: "irsa", name: "irsa-webhook", identity: identity, timing: Self.timing, releaseOnCancel: releaseOnCancel)
        elector = LeaseElector(
            client: try HTTPClient.kubernetes(api: api.configuration, loop: loop, maxResponseBodySize: 1 << 20),
            api: api.configuration, configuration: configuration,
            logger: Logger(label: "lease-test") { _ in SwiftLogNoOpLogHandler() })
    }

    /// Starts campaigning.
    func start() {
        let terms = self.terms
        let elector = self.elector
        let loop = self.loop
        task.withLock {
            $0 = Task {
                await elector.run {
                    let index = terms.withLock {
                        $0.append(Term(started: Date().timeIntervalSince1970, onLoop: loop.inEventLoop))
                        return $0.count - 1
                    }
                    try? await Task.sleep(for: .seconds(3600))
                    terms.withLock { $0[index].ended = Date().timeIntervalSince1970 }
                }
            }
        }
    }

    /// Cancels the campaign and waits until `run` has returned (its Lease released, if configured).
    func stop() async {
        guard let running = task.withLock({ $0 }) else { return }
        running.cancel()
        await running.value
    }

    /// Every term so far.
    var recordedTerms: [Term] { terms.withLock { $0 } }

    /// True while the leader work runs.
    var isWorking: Bool { terms.withLock { $0.last.map { $0.ended == nil } ?? false } }
}
