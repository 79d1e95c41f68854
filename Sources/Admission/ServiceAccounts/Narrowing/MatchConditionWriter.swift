import EventLoop
import Logging

/// Keeps the webhook's own `matchConditions` entry equal to "the pod's ServiceAccount has a role",
/// so kube-apiserver sends only those pods (`--narrow-webhook-configuration`).
///
/// - **What it follows.** It is the informer's `ServiceAccountStoreGate`: the accounts with a role
///   reach it from every LIST and watch event. Nothing is written before the first LIST.
/// - **Order.** An account gaining a role is added (widen) and written before the store serves
///   it (the informer holds the change until `admits` says so, at most its bound); an account
///   losing it is removed only after the store stopped serving it (narrow afterwards).
/// - **Writing.** One server-side apply of the entry's condition (`WebhookConfigurationAPI`)
///   as soon as the set changes; changes arriving during a write go out together in the next one,
///   so a burst costs a few writes. An unchanged condition is not written again.
/// - **Failures.** The condition last written stays in place (nothing is undone); the write is
///   retried with jittered exponential backoff (0.5 s to 30 s) and the failure shows in `status`
///   and the metrics. While writes fail, the gate admits at once: waiting cannot help.
/// - **One writer.** `run()` writes only while it runs: run it directly, or while holding the Lease.
///   Each run starts by writing the current condition, so a new leader converges. Not running,
///   the gate admits everything (another replica writes).
public final class MatchConditionWriter: ServiceAccountStoreGate {
    /// What to write, and how.
    public struct Configuration: Sendable {
        /// The MutatingWebhookConfiguration's name (`--narrow-webhook-configuration`).
        public var configurationName: String
        /// The webhook entry within it (`--narrow-webhook-name`).
        public var webhookName: String
        /// The server-side apply field manager.
        public var fieldManager = "irsa-webhook"
        /// The User-Agent header.
        public var userAgent = "irsa-webhook"
        /// Time allowed for one request.
        public var requestTimeout: Duration = .seconds(5)
        /// The most code points the expression may hold.
        public var maximumCodePoints = MatchConditionExpression.maximumCodePoints

        public init(configurationName: String, webhookName: String) {
            self.configurationName = configurationName
            self.webhookName = webhookName
        }
    }

    /// Counters and state for metrics and `/readyz`, a snapshot.
    public struct Statistics: Sendable {
        /// Whether `run()` is running (this process writes).
        public var writing = false
        /// Whether the first LIST has arrived.
        public var synced = false
        /// Accounts with a role.
        public var accounts = 0
        /// The condition last written by this run, nil before its first write.
        public var written: NarrowingCondition?
        /// When it was written.
        public var writtenAt: Deadline?
        /// Writes that succeeded and that failed.
        public var writes: UInt64 = 0
        public var failures: UInt64 = 0
        /// Failures since the last success, the last one's message, and when they began.
        public var consecutiveFailures = 0
        public var lastError: String?
        public var failingSince: Deadline?
        /// Times the written condition fell back to a coarser scope, by scope.
        public var downgrades: [NarrowingCondition.Scope: UInt64] = [:]
    }

    public let configuration: Configuration
    private let api: WebhookConfigurationAPI
    private let hasRole: @Sendable (ServiceAccount) -> Bool
    private let recordWrite: @Sendable (Duration, Bool) -> Void
    private let logger: Logger
    private let state = LockedValue(State())

    private struct State {
        /// The accounts with a role; nil before the first LIST.
        var desired: Set<ServiceAccountKey>?
        var statistics = Statistics()
        /// Set when `desired` changed while the writer was busy: write again.
        var workPending = false
        var wake: CheckedContinuation<Void, Never>?
        var admitting: (@Sendable () -> Void)?
    }

    /// A writer of `configuration` through `client` (on its loop) to the API `api` describes.
    /// `hasRole` says which accounts count; `recordWrite` gets each write's duration and success.
    public init(
        configuration: Configuration, client: HTTPClient, api: KubernetesAPIConfiguration,
        hasRole: @escaping @Sendable (ServiceAccount) -> Bool,
        recordWrite: @escaping @Sendable (Duration, Bool) -> Void = { _, _ in }, logger: Logger
    ) {
        self.configuration = configuration
        self.api = WebhookConfigurationAPI(
            client: client, api: api, userAgent: configuration.userAgent, configuration: configuration.configurationName,
            webhook: configuration.webhookName, fieldManager: configuration.fieldManager)
        self.hasRole = hasRole
        self.recordWrite = recordWrite
        self.logger = logger
    }

    /// A snapshot of the counters and state.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    // MARK: - Writing

    /// Writes the condition whenever it changes, until cancelled; starts with the current one.
    /// Returns early when `mayWrite` (checked before each write: is this process still the Lease
    /// holder?) says no.
    public func run(mayWrite: @escaping @Sendable () -> Bool = { true }) async {
        await withTaskExecutorPreference(api.client.loop) {
            state.withLock { state in
                state.statistics.writing = true
                state.statistics.written = nil
                state.statistics.writtenAt = nil
                state.workPending = true
            }
            logger.info("narrowing the webhook configuration", metadata: [
                "configuration": "\(configuration.configurationName)", "webhook": "\(configuration.webhookName)",
            ])
            var backoff = ReconnectBackoff()
            var entryChecked = false
            while !Task.isCancelled {
                await waitForWork()
                guard let desired = state.withLock({ $0.desired }), !Task.isCancelled else { continue }
                let condition = MatchConditionExpression.condition(for: desired, limit: configuration.maximumCodePoints)
                if condition == state.withLock({ $0.statistics.written }) { continue }
                guard mayWrite() else { break }
                let started = Deadline.now()
                do {
                    if !entryChecked {
                        try await api.checkEntry(deadline: .after(configuration.requestTimeout))
                        entryChecked = true
                    }
                    try await api.apply(condition, deadline: .after(configuration.requestTimeout))
                    recordWrite(Deadline.now().duration(since: started), true)
                    backoff.reset()
                    recordSuccess(condition, accounts: desired.count, duration: Deadline.now().duration(since: started))
                } catch {
                    recordWrite(Deadline.now().duration(since: started), false)
                    // Check the entry again if the apply says it may be gone (404, or 422: an apply
                    // naming a missing entry tries to create one without its required fields).
                    if let failure = error as? WebhookConfigurationAPI.Failure, failure.status == 404 || failure.status == 422 {
                        entryChecked = false
                    }
                    let pause = backoff.next(random: Double.random(in: 0..<1))
                    recordFailure(error, retryIn: pause)
                    try? await api.client.loop.sleep(until: .after(pause))
                    state.withLock { $0.workPending = true }
                }
            }
            state.withLock { state in
                state.statistics.writing = false
                state.statistics.written = nil
            }
            notifyAdmitting()
        }
    }

    private func recordSuccess(_ condition: NarrowingCondition, accounts: Int, duration: Duration) {
        let previous = state.withLock { state in
            let previous = state.statistics.written?.scope
            state.statistics.written = condition
            state.statistics.writtenAt = .now()
            state.statistics.writes += 1
            state.statistics.consecutiveFailures = 0
            state.statistics.lastError = nil
            state.statistics.failingSince = nil
            if condition.scope != .serviceAccounts, condition.scope != previous {
                state.statistics.downgrades[condition.scope, default: 0] += 1
            }
            return previous
        }
        var metadata: Logger.Metadata = [
            "scope": "\(condition.scope.rawValue)", "accounts": .count(accounts), "codePoints": .count(condition.size),
            "seconds": .seconds(duration),
        ]
        if condition.scope != .serviceAccounts, condition.scope != previous {
            metadata["limit"] = .count(configuration.maximumCodePoints)
            logger.warning(condition.scope == .namespaces
                ? "narrowing downgraded: the accounts with a role do not fit in one expression; sending every pod of their namespaces"
                : "narrowing downgraded: not even their namespaces fit in one expression; sending every pod (no condition)", metadata: metadata)
        } else {
            logger.debug("webhook configuration written", metadata: metadata)
        }
        notifyAdmitting()
    }

    private func recordFailure(_ error: any Error, retryIn pause: Duration) {
        let first = state.withLock { state in
            state.statistics.failures += 1
            state.statistics.consecutiveFailures += 1
            state.statistics.lastError = "\(error)"
            if state.statistics.failingSince == nil { state.statistics.failingSince = .now() }
            return state.statistics.consecutiveFailures == 1
        }
        if first { notifyAdmitting() }
        logger.warning("cannot write the webhook configuration's matchConditions; keeping the last condition written, retrying", metadata: [
            "configuration": "\(configuration.configurationName)", "error": "\(error)", "retryIn": .seconds(pause),
        ])
    }

    /// Returns once `desired` changed since the last call (at once if it already has), or on cancellation.
    private func waitForWork() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.workPending || Task.isCancelled {
                        state.workPending = false
                        return true
                    }
                    state.wake = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { state in
                defer { state.wake = nil }
                return state.wake
            }?.resume()
        }
    }

    /// Records that `desired` changed and wakes the writer.
    private func changeDesired(_ change: (inout Set<ServiceAccountKey>?) -> Bool) {
        state.withLock { state in
            guard change(&state.desired) else { return nil as CheckedContinuation<Void, Never>? }
            state.statistics.synced = state.desired != nil
            state.statistics.accounts = state.desired?.count ?? 0
            guard let wake = state.wake else {
                state.workPending = true
                return nil
            }
            state.wake = nil
            return wake
        }?.resume()
    }

    private func notifyAdmitting() {
        state.withLock { $0.admitting }?()
    }

    // MARK: - ServiceAccountStoreGate

    public func follows(_ account: ServiceAccount) -> Bool {
        hasRole(account)
    }

    public func willServe(_ accounts: [ServiceAccountKey]) {
        changeDesired { desired in
            if desired == nil {
                desired = Set(accounts)
                return true
            }
            var changed = false
            for account in accounts where desired!.insert(account).inserted { changed = true }
            return changed
        }
    }

    public func serves(exactly accounts: [ServiceAccountKey]) {
        let exactly = Set(accounts)
        changeDesired { desired in
            defer { desired = exactly }
            return desired != exactly
        }
    }

    public func stoppedServing(_ account: ServiceAccountKey) {
        changeDesired { desired in desired?.remove(account) != nil }
    }

    public func admits(_ account: ServiceAccountKey) -> Bool {
        state.withLock { state in
            let statistics = state.statistics
            return !statistics.writing || statistics.consecutiveFailures > 0 || statistics.written?.sends(account) == true
        }
    }

    public func onAdmitting(_ body: @escaping @Sendable () -> Void) {
        state.withLock { $0.admitting = body }
    }
}
