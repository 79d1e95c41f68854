import EventLoop
import Logging

/// Leader election over a `coordination.k8s.io/v1` Lease, as client-go's `leaderelection` does it,
/// so that of several replicas only one does the work that must have a single writer.
///
/// - **Acquiring.** A candidate GETs the Lease and creates it (POST) when it does not exist. It
///   takes the Lease (PUT carrying the resourceVersion it read, so of two candidates only one
///   succeeds) when nobody holds it, when it names this identity, or when its record has not
///   changed for the record's `leaseDurationSeconds` as measured by this process's own clock
///   since it last saw the record change; the timestamps in the Lease are written for people
///   and never compared with local time. Attempts come every `retryPeriod` with up to 120 %
///   jitter.
/// - **Leading.** The leader renews every `retryPeriod` with a PUT of the Lease it last wrote
///   (on 409 Conflict it reads the Lease again). It stops leading when it has not renewed for
///   `renewDeadline`, counted from the moment it sent its last successful renewal, which ends
///   before any candidate can see the Lease expire; or at once when the Lease names another holder.
/// - **Releasing.** When `run` is cancelled, the leader's work is cancelled and awaited, then
///   the Lease is released (holder "", `leaseDurationSeconds` 1) so a successor takes it at its
///   next attempt instead of after the lease duration (client-go's `ReleaseOnCancel`).
///
/// Runs on the HTTP client's event loop; its pauses are that loop's timers, so an idle elector
/// costs one request per retry period and no other thread.
public final class LeaseElector: Sendable {
    /// Which Lease, who this process is, and the timings.
    public struct Configuration: Sendable {
        /// The Lease's namespace (the webhook's own).
        public var namespace: String
        /// The Lease's name.
        public var name: String
        /// This process's identity in `holderIdentity`: unique per process (client-go's
        /// controllers use the host name and a random suffix).
        public var identity: String
        /// How long a Lease lasts, when the leader gives up renewing, how often to try.
        public var timing: LeaseTiming
        /// Release the Lease when `run` is cancelled.
        public var releaseOnCancel: Bool
        /// The User-Agent header.
        public var userAgent: String

        public init(
            namespace: String, name: String, identity: String, timing: LeaseTiming = .standard, releaseOnCancel: Bool = true,
            userAgent: String = "irsa-webhook"
        ) {
            self.namespace = namespace
            self.name = name
            self.identity = identity
            self.timing = timing
            self.releaseOnCancel = releaseOnCancel
            self.userAgent = userAgent
        }
    }

    /// Counters and what was last seen, for metrics and `/readyz` details; a snapshot.
    public struct Statistics: Sendable, Hashable {
        /// True while this process leads (see `isLeader`).
        public var isLeader = false
        /// Times this process became leader.
        public var acquisitions: UInt64 = 0
        /// Times it stopped leading before it was cancelled: not renewed within the renew
        /// deadline, or the Lease named another holder.
        public var losses: UInt64 = 0
        /// Renewals that failed while leading (an error, or a conflict).
        public var renewFailures: UInt64 = 0
        /// The holder last seen in the Lease: "" when released, nil before the first answer.
        public var holder: String?
        /// `leaseTransitions` last seen in the Lease.
        public var leaseTransitions: Int?
        /// The last request that failed, nil once one succeeds again.
        public var lastError: String?
    }

    private let api: LeaseAPI
    private let configuration: Configuration
    private let logger: Logger
    /// Written by the running election, read by `isLeader` and `statistics` from any thread.
    private let state = LockedValue(State())

    private struct State {
        var statistics = Statistics()
        /// While leading: when leadership ends unless it is renewed before.
        var leadingUntil: Deadline?
    }

    /// What one attempt to acquire or renew found.
    private enum Attempt {
        /// This process holds the Lease: created, taken or renewed.
        case holding
        /// Another process holds it and it has not expired.
        case heldByOther(String)
        /// A request failed, or another process wrote first (409); try again later.
        case failed
    }

    /// An elector for the Lease `configuration` names, talking to the API `api` describes
    /// through `client` (the ServiceAccount lookups' client will do: a Lease body is small).
    public init(client: HTTPClient, api: KubernetesAPIConfiguration, configuration: Configuration, logger: Logger) {
        self.api = LeaseAPI(
            client: client, api: api, namespace: configuration.namespace, name: configuration.name, userAgent: configuration.userAgent)
        self.configuration = configuration
        self.logger = logger
    }

    /// True while this process leads: it acquired or renewed the Lease less than the renew
    /// deadline ago (by its own clock), and `run` has not ended.
    public var isLeader: Bool {
        state.withLock { $0.leadingUntil.map { Deadline.now() < $0 } ?? false }
    }

    /// A snapshot of the counters.
    public var statistics: Statistics {
        let isLeader = self.isLeader
        return state.withLock {
            var statistics = $0.statistics
            statistics.isLeader = isLeader
            return statistics
        }
    }

    /// Campaigns for the Lease until the calling task is cancelled. Each time this process
    /// becomes leader, `whileLeading` starts as a child task; it is cancelled (and awaited) when
    /// leadership is lost, after which the campaign goes on. On cancellation the leader's
    /// `whileLeading` is cancelled and awaited, then the Lease is released.
    ///
    /// `whileLeading` should end promptly when cancelled and check `isLeader` before each write
    /// it must not share: cancellation is cooperative, and the margin between the renew deadline
    /// and the lease duration is all the time it has. Returning early keeps the Lease.
    public func run(whileLeading: @escaping @Sendable () async -> Void) async {
        await withTaskExecutorPreference(api.client.loop) {
            var observation = Observation()
            while let acquiredAt = await campaign(&observation) {
                if !Task.isCancelled {
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { await whileLeading() }
                        await lead(&observation, since: acquiredAt)
                        group.cancelAll()
                    }
                }
                state.withLock { $0.leadingUntil = nil }
            }
            if configuration.releaseOnCancel { await release(observation) }
        }
    }

    /// Tries to acquire the Lease every retry period (jittered) until it succeeds; returns when
    /// the successful attempt started, or nil when cancelled.
    private func campaign(_ observation: inout Observation) async -> Deadline? {
        let timing = configuration.timing
        while !Task.isCancelled {
            let started = Deadline.now()
            if case .holding = await attempt(&observation, leading: false, deadline: started + timing.renewDeadline) {
                state.withLock {
                    $0.leadingUntil = started + timing.renewDeadline
                    $0.statistics.acquisitions += 1
                }
                logger.info("became leader", metadata: metadata(observation))
                return started
            }
            do {
                try await api.client.loop.sleep(until: .after(timing.candidatePause(random: Double.random(in: 0..<1))))
            } catch {
                return nil
            }
        }
        return nil
    }

    /// Renews every retry period until the renew deadline passes without a renewal, another
    /// holder appears, or the task is cancelled.
    private func lead(_ observation: inout Observation, since acquiredAt: Deadline) async {
        let timing = configuration.timing
        var until = acquiredAt + timing.renewDeadline
        var next = acquiredAt + timing.retryPeriod
        while true {
            do {
                try await api.client.loop.sleep(until: min(next, until))
            } catch {
                return
            }
            guard Deadline.now() < until else {
                stopLeading("not renewed within the renew deadline (\(timing.renewDeadline))", observation)
                return
            }
            let started = Deadline.now()
            switch await attempt(&observation, leading: true, deadline: until) {
            case .holding:
                until = started + timing.renewDeadline
                state.withLock { $0.leadingUntil = until }
            case .heldByOther(let holder):
                stopLeading("the Lease names another holder, \(holder)", observation)
                return
            case .failed:
                state.withLock { $0.statistics.renewFailures += 1 }
            }
            next = started + timing.retryPeriod
        }
    }

    private func stopLeading(_ reason: String, _ observation: Observation) {
        state.withLock {
            $0.leadingUntil = nil
            $0.statistics.losses += 1
        }
        logger.warning("stopped leading", metadata: metadata(observation).merging(["reason": "\(reason)"]) { $1 })
    }

    /// One round of client-go's `tryAcquireOrRenew`: the leader first PUTs over the Lease it
    /// last wrote; otherwise (or after a conflict) GET, create when absent, and take or renew
    /// when this process may.
    private func attempt(_ observation: inout Observation, leading: Bool, deadline: Deadline) async -> Attempt {
        let identity = configuration.identity
        let now = Lease.microTime()
        var claim = Lease.Record(
            holderIdentity: identity, leaseDurationSeconds: configuration.timing.leaseDurationSeconds,
            acquireTime: now, renewTime: now, leaseTransitions: 0)
        do {
            if leading, let lease = observation.lease, lease.record.holderIdentity == identity {
                claim.acquireTime = lease.record.acquireTime
                claim.leaseTransitions = lease.record.leaseTransitions
                if let renewed = try await api.update(lease, to: claim, deadline: deadline) {
                    observe(renewed, into: &observation)
                    return .holding
                }
            }
            guard let current = try await api.get(deadline: deadline) else {
                claim.leaseTransitions = 0
                guard let created = try await api.create(claim, deadline: deadline) else { return .failed }
                observe(created, into: &observation)
                return .holding
            }
            observe(current, into: &observation)
            let holder = current.record.holderIdentity
            if !holder.isEmpty, holder != identity,
               Deadline.now() < observation.changedAt + .seconds(current.record.leaseDurationSeconds) {
                return .heldByOther(holder)
            }
            if holder == identity {
                claim.acquireTime = current.record.acquireTime
                claim.leaseTransitions = current.record.leaseTransitions
            } else {
                claim.leaseTransitions = current.record.leaseTransitions + 1
            }
            guard let taken = try await api.update(current, to: claim, deadline: deadline) else { return .failed }
            observe(taken, into: &observation)
            return .holding
        } catch {
            let description = "\(error)"
            let changed = state.withLock { state in
                defer { state.statistics.lastError = description }
                return state.statistics.lastError != description
            }
            logger.log(level: changed ? .warning : .debug, "Lease request failed", metadata: metadata(observation).merging(["error": "\(error)"]) { $1 })
            return .failed
        }
    }

    /// Notes `lease` as seen now, and logs a change of holder.
    private func observe(_ lease: Lease, into observation: inout Observation) {
        let previousHolder = observation.lease?.record.holderIdentity
        observation.observe(lease, at: Deadline.now())
        state.withLock {
            $0.statistics.holder = lease.record.holderIdentity
            $0.statistics.leaseTransitions = lease.record.leaseTransitions
            $0.statistics.lastError = nil
        }
        if previousHolder != lease.record.holderIdentity, lease.record.holderIdentity != configuration.identity {
            logger.info("Lease holder observed", metadata: metadata(observation))
        }
    }

    /// Gives the Lease up if this process was the last to hold it, so a candidate takes it at
    /// once. The request runs in a task of its own: this one is cancelled.
    ///
    /// A renewal cancelled in flight may have been written without this process seeing the
    /// answer, so the Lease's resourceVersion moved on: on that conflict the Lease is read again
    /// and released if it still names this process.
    private func release(_ observation: Observation) async {
        guard let lease = observation.lease, lease.record.holderIdentity == configuration.identity else { return }
        let (api, identity) = (self.api, configuration.identity)
        let deadline = Deadline.now() + configuration.timing.renewDeadline
        let result = await Task(executorPreference: api.client.loop) { () async throws -> Lease? in
            if let released = try await api.update(lease, to: Self.released(lease), deadline: deadline) { return released }
            guard let current = try await api.get(deadline: deadline), current.record.holderIdentity == identity else { return nil }
            return try await api.update(current, to: Self.released(current), deadline: deadline)
        }.result
        switch result {
        case .success(.some):
            state.withLock { $0.statistics.holder = "" }
            logger.info("released the Lease", metadata: metadata(observation))
        case .success(.none):
            logger.info("did not release the Lease: another process holds it now", metadata: metadata(observation))
        case .failure(let error):
            logger.warning("could not release the Lease; a successor takes it when it expires", metadata: metadata(observation).merging(["error": "\(error)"]) { $1 })
        }
    }

    /// What a released `lease` holds: no holder, a 1 s duration, its transitions kept.
    private static func released(_ lease: Lease) -> Lease.Record {
        let now = Lease.microTime()
        return Lease.Record(holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: lease.record.leaseTransitions)
    }

    private func metadata(_ observation: Observation) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "lease": "\(configuration.namespace)/\(configuration.name)", "identity": "\(configuration.identity)",
        ]
        if let record = observation.lease?.record {
            metadata["holder"] = "\(record.holderIdentity)"
            metadata["leaseTransitions"] = .count(record.leaseTransitions)
        }
        return metadata
    }
}

/// What one run of the election has seen of the Lease; confined to the running task.
private struct Observation {
    /// The Lease as last read or written.
    var lease: Lease?
    /// When its election record last changed, by this process's clock: a holder's Lease
    /// expires its `leaseDurationSeconds` after this.
    var changedAt = Deadline.now()

    mutating func observe(_ lease: Lease, at now: Deadline) {
        if lease.record != self.lease?.record { changedAt = now }
        self.lease = lease
    }
}
