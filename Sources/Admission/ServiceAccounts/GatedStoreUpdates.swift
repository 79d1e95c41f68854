import EventLoop

/// Applies the informer's LISTs and watch events to the store in their order, holding back any
/// change that would serve an account the `gate` follows (one with a role) until the gate admits
/// it, and every change behind it, for at most `bound`: a slow or dead API cannot freeze the store.
///
/// The watch is never blocked: events keep being read and announced to the gate (`willServe`),
/// so a burst of accounts gaining a role is admitted by one configuration write, not one each.
/// A LIST waits (bounded too) until its followed accounts are admitted, then replaces the store
/// and drops the events still held (the list is newer). Without a gate everything applies at once.
final class GatedStoreUpdates: Sendable {
    /// Counters for metrics, a snapshot.
    struct Statistics: Sendable, Hashable {
        /// Changes held back until the gate admitted them.
        var held: UInt64 = 0
        /// Changes applied because `bound` ran out before the gate admitted them.
        var timedOut: UInt64 = 0
    }

    private enum Change {
        case event(ServiceAccountWatchEvent, key: ServiceAccountKey, followed: Bool)
        /// A LIST waiting to replace the store; resumed when it may.
        case list(accounts: [ServiceAccountKey], resume: CheckedContinuation<Void, Never>)
    }

    private struct Held {
        var change: Change
        var deadline: Deadline
    }

    private struct State {
        /// The held changes from `first` on (a queue: popping moves `first`, the array is compacted now and then).
        var held: [Held] = []
        var first = 0
        /// The deadline a timer is armed for, if any.
        var timerArmedFor: Deadline?
        var statistics = Statistics()
    }

    let store: ServiceAccountStore
    let gate: (any ServiceAccountStoreGate)?
    /// The longest a change is held back.
    let bound: Duration
    private let loop: EventLoop
    private let state = LockedValue(State())

    /// Updates for `store` through `gate` (nil: none), with timers on `loop`.
    init(store: ServiceAccountStore, gate: (any ServiceAccountStoreGate)?, bound: Duration, loop: EventLoop) {
        self.store = store
        self.gate = gate
        self.bound = bound
        self.loop = loop
        gate?.onAdmitting { [weak self] in self?.release() }
    }

    /// A snapshot of the counters.
    var statistics: Statistics { state.withLock { $0.statistics } }

    /// Whether `account`, as a list or event carries it, has what the gate follows.
    func follows(_ account: ServiceAccount) -> Bool {
        gate?.follows(account) ?? false
    }

    /// Applies a watch event now, or once the gate admits it (see the type's comment).
    func apply(_ event: ServiceAccountWatchEvent) {
        guard let gate else { return store.apply(event) }
        switch event {
        case .upserted(let account, _):
            let followed = gate.follows(account)
            if followed { gate.willServe([account.key]) }
            hold(.event(event, key: account.key, followed: followed))
        case .deleted(let account, _):
            hold(.event(event, key: account.key, followed: false))
        case .bookmark, .error:
            break
        }
    }

    /// Replaces the store with a LIST whose followed accounts are `followed`, once the gate
    /// admits them (or `bound` has passed). Events still held are dropped: the list is newer.
    func replace(with table: ServiceAccountStore.Table, resourceVersion: UInt64?, followed: [ServiceAccountKey]) async {
        if let gate {
            state.withLock { state in
                state.held.removeAll()
                state.first = 0
            }
            gate.willServe(followed)
            await withCheckedContinuation { resume in hold(.list(accounts: followed, resume: resume)) }
        }
        store.replace(with: table, resourceVersion: resourceVersion)
        gate?.serves(exactly: followed)
    }

    /// Performs `change` at once when nothing is held and the gate admits it, else queues it.
    private func hold(_ change: Change) {
        let immediate = state.withLock { state in
            guard state.first == state.held.count, admits(change) else {
                state.held.append(Held(change: change, deadline: .after(bound)))
                state.statistics.held += 1
                return false
            }
            perform(change)
            return true
        }
        if !immediate { release() }
    }

    /// Applies the held changes from the front while the gate admits them or their time is up,
    /// and arms a timer for the first one left.
    private func release() {
        var arm: Deadline?
        state.withLock { state in
            let now = Deadline.now()
            while state.first < state.held.count {
                let first = state.held[state.first]
                let admitted = admits(first.change)
                if !admitted, now < first.deadline { break }
                state.first += 1
                if !admitted { state.statistics.timedOut += 1 }
                perform(first.change)
            }
            if state.first == state.held.count {
                state.held.removeAll(keepingCapacity: state.held.count < 4096)
                state.first = 0
            } else if state.first >= 4096, state.first * 2 >= state.held.count {
                state.held.removeFirst(state.first)
                state.first = 0
            }
            if state.first < state.held.count, state.timerArmedFor.map({ $0 > state.held[state.first].deadline }) ?? true {
                state.timerArmedFor = state.held[state.first].deadline
                arm = state.held[state.first].deadline
            }
        }
        if let arm {
            loop.spawn { [weak self] in
                try? await self?.loop.sleep(until: arm)
                self?.state.withLock { if $0.timerArmedFor == arm { $0.timerArmedFor = nil } }
                self?.release()
            }
        }
    }

    private func admits(_ change: Change) -> Bool {
        guard let gate else { return true }
        switch change {
        case .event(_, let key, let followed): return !followed || gate.admits(key)
        case .list(let accounts, _): return accounts.allSatisfy(gate.admits)
        }
    }

    private func perform(_ change: Change) {
        switch change {
        case .event(let event, let key, let followed):
            store.apply(event)
            if !followed { gate?.stoppedServing(key) }
        case .list(_, let resume):
            resume.resume()
        }
    }
}
