import EventLoop
import Foundation
import Testing
import TestKubernetesAPI
@testable import Admission

/// Leader election against the fake API over real TLS, with 2 s leases, a 1.5 s renew deadline
/// and a 0.2 s retry period. Serialized: the timing bounds assume the fake answers promptly.
@Suite(.serialized) struct LeaseElectorTests {
    let api: FakeKubernetesAPI
    let group = EventLoopGroup(threads: 1)

    init() throws {
        api = try FakeKubernetesAPI()
    }

    private var loop: EventLoop { group.loops[0] }

    private func lease() throws -> FakeKubernetesAPI.LeaseState? {
        try api.lease(namespace: "irsa", name: "irsa-webhook")
    }

    private func holders() throws -> [String] {
        try api.leaseWrites().map { $0.lease.holderIdentity ?? "" }
    }

    private static func now() -> Double { Date().timeIntervalSince1970 }

    /// Checks the Lease's write history for two holders at once: a write naming another holder
    /// than the one before comes only after that one released the Lease (holder "", written by
    /// the holder itself) or wrote nothing for its lease duration.
    private func expectHandoversAfterExpiry(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let writes = try api.leaseWrites()
        for (previous, write) in zip(writes, writes.dropFirst()) {
            let before = previous.lease.holderIdentity ?? "", after = write.lease.holderIdentity ?? ""
            guard !before.isEmpty, !after.isEmpty, after != before else { continue }
            let waited = write.time - previous.time
            #expect(waited >= Double(previous.lease.leaseDurationSeconds ?? 0) - 0.01,
                    "\(after) took the Lease \(waited) s after \(before) last wrote it; writes: \(writes.map { "\($0.verb) \($0.lease.holderIdentity ?? "-") \($0.time)" })",
                    sourceLocation: sourceLocation)
        }
    }

    @Test func acquiresAMissingLeaseRenewsItAndReleasesItOnCancel() async throws {
        let a = try ElectorUnderTest("a", api: api, loop: loop)
        #expect(try lease() == nil)
        a.start()
        #expect(await eventually(timeout: .seconds(10)) { a.elector.isLeader && a.isWorking })
        let acquired = try #require(try lease())
        #expect(acquired.holderIdentity == "a" && acquired.leaseDurationSeconds == 2 && acquired.leaseTransitions == 0)
        let microTime = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/
        #expect(try microTime.wholeMatch(in: #require(acquired.acquireTime)) != nil)
        #expect(try microTime.wholeMatch(in: #require(acquired.renewTime)) != nil)

        try await Task.sleep(for: .seconds(1))
        let renewed = try #require(try lease())
        #expect(try #require(Int(renewed.resourceVersion)) > Int(acquired.resourceVersion)!)
        #expect(renewed.renewTime != acquired.renewTime && renewed.acquireTime == acquired.acquireTime)
        let writes = try api.leaseWrites()
        #expect(writes.count >= 4, "renewed every 0.2 s: \(writes.count) writes in 1 s")
        #expect(writes.first?.verb == "create" && writes.dropFirst().allSatisfy { $0.verb == "update" && $0.lease.holderIdentity == "a" })
        let statistics = a.elector.statistics
        #expect(statistics.isLeader && statistics.acquisitions == 1 && statistics.losses == 0 && statistics.holder == "a")

        #expect(a.recordedTerms.first?.onLoop == true, "the leader work runs on the elector's event loop, not the global pool")
        await a.stop()
        #expect(!a.elector.isLeader && !a.isWorking && a.recordedTerms.count == 1)
        let released = try #require(try lease())
        #expect(released.holderIdentity == "" && released.leaseDurationSeconds == 1 && released.leaseTransitions == 0)
    }

    @Test func aCandidateWaitsWhileTheHolderRenewsAndTakesOverAtOnceWhenItIsReleased() async throws {
        let a = try ElectorUnderTest("a", api: api, loop: loop)
        let b = try ElectorUnderTest("b", api: api, loop: loop)
        a.start()
        #expect(await eventually(timeout: .seconds(10)) { a.elector.isLeader })
        b.start()
        try await Task.sleep(for: .seconds(3))
        #expect(a.elector.isLeader && !b.elector.isLeader && b.recordedTerms.isEmpty)
        #expect(b.elector.statistics.holder == "a" && b.elector.statistics.acquisitions == 0)
        #expect(try Set(holders()) == ["a"])

        await a.stop()
        let released = Self.now()
        #expect(await eventually(timeout: .seconds(5)) { b.elector.isLeader })
        let takeover = Self.now() - released
        #expect(takeover < 1.5, "a released Lease is taken at the next attempt (0.2 to 0.44 s), not after 2 s: \(takeover) s")
        #expect(try lease()?.holderIdentity == "b" && lease()?.leaseTransitions == 1)
        await b.stop()
        try expectHandoversAfterExpiry()
    }

    /// A renewal written by the API whose answer the holder never saw (cancelled in flight, as
    /// at shutdown): the release's resourceVersion is stale, so it re-reads the Lease and still
    /// releases it, and the candidate takes over at once instead of after the lease duration.
    /// (Seen under AddressSanitizer: a takeover after 2.47 s.)
    @Test func releasesALeaseRenewedBehindItsBack() async throws {
        let a = try ElectorUnderTest("a", api: api, loop: loop)
        let b = try ElectorUnderTest("b", api: api, loop: loop)
        a.start()
        #expect(await eventually(timeout: .seconds(10)) { a.elector.isLeader })
        b.start()
        try await Task.sleep(for: .milliseconds(500))
        let held = try #require(try lease())
        try api.putLease(namespace: "irsa", name: "irsa-webhook", spec: [
            "holderIdentity": "a", "leaseDurationSeconds": 2, "leaseTransitions": held.leaseTransitions ?? 0,
            "acquireTime": held.acquireTime ?? "", "renewTime": held.renewTime ?? "",
        ])
        await a.stop()
        let released = Self.now()
        #expect(await eventually(timeout: .seconds(5)) { b.elector.isLeader })
        let takeover = Self.now() - released
        #expect(takeover < 1.5, "a released Lease is taken at the next attempt, not after 2 s: \(takeover) s")
        await b.stop()
    }

    @Test func takesOverOnlyWhenTheHolderHasNotRenewedForTheLeaseDuration() async throws {
        let a = try ElectorUnderTest("a", api: api, loop: loop, releaseOnCancel: false)
        let b = try ElectorUnderTest("b", api: api, loop: loop)
        a.start()
        #expect(await eventually(timeout: .seconds(10)) { a.elector.isLeader })
        b.start()
        try await Task.sleep(for: .milliseconds(500))
        await a.stop()
        #expect(try lease()?.holderIdentity == "a", "not released")
        let lastRenewal = try #require(try api.leaseWrites().last?.time)
        #expect(await eventually(timeout: .seconds(10)) { b.elector.isLeader })
        let taken = try #require(try api.leaseWrites().last)
        #expect(taken.lease.holderIdentity == "b" && taken.lease.leaseTransitions == 1)
        #expect(taken.time - lastRenewal >= 2 && taken.time - lastRenewal < 5, "taken \(taken.time - lastRenewal) s after the last renewal")
        await b.stop()
        try expectHandoversAfterExpiry()
    }

    /// A holder that vanished (killed, its node gone) leaves a Lease nobody renews: a candidate
    /// that finds it waits the Lease's own duration from its first sight of it, by its own clock.
    @Test func takesOverALeaseLeftByAVanishedHolder() async throws {
        let ghost = try api.putLease(namespace: "irsa", name: "irsa-webhook", spec: [
            "holderIdentity": "ghost", "leaseDurationSeconds": 3, "leaseTransitions": 4,
            "acquireTime": "2020-01-01T00:00:00.000000Z", "renewTime": "2099-01-01T00:00:00.000000Z",
        ])
        let a = try ElectorUnderTest("a", api: api, loop: loop)
        let started = Self.now()
        a.start()
        #expect(await eventually(timeout: .seconds(10)) { a.elector.isLeader })
        let waited = Self.now() - started
        #expect(waited >= 3 && waited < 6, "a renewTime in the future is not trusted; the local clock counts 3 s: \(waited) s")
        let taken = try #require(try lease())
        #expect(taken.holderIdentity == "a" && taken.leaseTransitions == 5 && taken.acquireTime != ghost.acquireTime)
        await a.stop()
    }

    /// A renewal over a Lease someone else changed gets 409 Conflict; the leader reads the Lease
    /// again and renews what it read (keeping the changed transition count).
    @Test func aConflictOnRenewalRereadsTheLease() async throws {
        let a = try ElectorUnderTest("a", api: api, loop: loop)
        a.start()
        #expect(await eventually(timeout: .seconds(10)) { a.elector.isLeader })
        let current = try #require(try lease())
        let acquireTime = try #require(current.acquireTime), renewTime = try #require(current.renewTime)
        try api.putLease(namespace: "irsa", name: "irsa-webhook", spec: [
            "holderIdentity": "a", "leaseDurationSeconds": 2, "leaseTransitions": 7, "acquireTime": acquireTime, "renewTime": renewTime,
        ])
        try await Task.sleep(for: .seconds(1))
        #expect(try api.leaseWrites().last?.verb == "update")
        let renewed = try #require(try lease())
        #expect(renewed.holderIdentity == "a" && renewed.leaseTransitions == 7)
        #expect(a.elector.isLeader && a.elector.statistics.losses == 0 && a.recordedTerms.count == 1)
        await a.stop()
    }

    /// A Lease naming another holder (written behind the leader's back) ends leadership at
    /// once; after that holder's lease passes unrenewed, the elector takes it again.
    @Test func anotherHolderInTheLeaseEndsLeadershipAtOnce() async throws {
        let a = try ElectorUnderTest("a", api: api, loop: loop)
        a.start()
        #expect(await eventually(timeout: .seconds(10)) { a.elector.isLeader })
        try api.putLease(namespace: "irsa", name: "irsa-webhook", spec: ["holderIdentity": "intruder", "leaseDurationSeconds": 2])
        let intruded = Self.now()
        #expect(await eventually(timeout: .seconds(2)) { !a.elector.isLeader && !a.isWorking })
        #expect(Self.now() - intruded < 1.5, "noticed at the next renewal (0.2 s), before the renew deadline")
        #expect(a.elector.statistics.losses == 1 && a.elector.statistics.holder == "intruder")
        #expect(await eventually(timeout: .seconds(10)) { a.elector.isLeader })
        #expect(Self.now() - intruded >= 2 && a.recordedTerms.count == 2)
        #expect(try lease()?.holderIdentity == "a" && lease()?.leaseTransitions == 1)
        await a.stop()
    }

    /// With the API down the leader cannot renew: it stops leading, and its work is cancelled,
    /// within the renew deadline of its last renewal, before the Lease expires for candidates.
    /// When the API is back, it takes its own Lease again at once.
    @Test func losesLeadershipWithinTheRenewDeadlineWhenTheAPIIsDown() async throws {
        let a = try ElectorUnderTest("a", api: api, loop: loop)
        a.start()
        #expect(await eventually(timeout: .seconds(10)) { a.elector.isLeader && a.isWorking })
        api.stop()
        let lastRenewal = try #require(try api.leaseWrites().last?.time)
        #expect(await eventually(timeout: .seconds(5)) { !a.isWorking })
        let ended = try #require(a.recordedTerms.first?.ended)
        #expect(!a.elector.isLeader)
        #expect(ended - lastRenewal < 2, "leader work ended \(ended - lastRenewal) s after the last renewal (renew deadline 1.5 s, lease 2 s)")
        #expect(a.elector.statistics.losses == 1 && a.elector.statistics.renewFailures >= 1)
        #expect(a.elector.statistics.lastError != nil)

        try api.restart()
        #expect(await eventually(timeout: .seconds(10)) { a.elector.isLeader && a.isWorking })
        #expect(try lease()?.holderIdentity == "a" && lease()?.leaseTransitions == 0, "its own Lease: no transition")
        await a.stop()
    }

    @Test func aForbiddenLeaseEndsLeadershipAndSaysWhatIsMissing() async throws {
        let a = try ElectorUnderTest("a", api: api, loop: loop)
        a.start()
        #expect(await eventually(timeout: .seconds(10)) { a.elector.isLeader })
        try api.failLeaseRequests(status: 403)
        #expect(await eventually(timeout: .seconds(5)) { !a.elector.isLeader && !a.isWorking })
        let error = try #require(a.elector.statistics.lastError)
        #expect(error.contains("HTTP 403") && error.contains("RBAC get, create and update on leases"))
        #expect(error.contains("resource \"leases\" in API group \"coordination.k8s.io\""), "the API server's message: \(error)")
        try api.failLeaseRequests()
        #expect(await eventually(timeout: .seconds(10)) { a.elector.isLeader })
        #expect(a.elector.statistics.lastError == nil)
        await a.stop()
    }

    /// Three electors, the API taken down once, then the leader stopped twice (one releasing,
    /// one not, depending on who leads): the leader work of two electors never overlaps, and every handover in the
    /// Lease's history came after a release or a full lease duration.
    @Test func neverTwoLeadersAtOnce() async throws {
        let electors = try [
            ElectorUnderTest("a", api: api, loop: loop, releaseOnCancel: false),
            ElectorUnderTest("b", api: api, loop: loop),
            ElectorUnderTest("c", api: api, loop: loop, releaseOnCancel: false),
        ]
        for elector in electors { elector.start() }
        var stopped: [ElectorUnderTest] = []
        #expect(await eventually(timeout: .seconds(10)) { electors.contains { $0.elector.isLeader } })
        api.stop()
        try await Task.sleep(for: .seconds(2))
        try api.restart()
        for _ in 0..<2 {
            #expect(await eventually(timeout: .seconds(10)) { electors.contains { $0.elector.isLeader } })
            let leader = try #require(electors.first { $0.elector.isLeader })
            await leader.stop()
            stopped.append(leader)
        }
        for elector in electors where !stopped.contains(where: { $0 === elector }) { await elector.stop() }

        let terms = electors.flatMap { elector in elector.recordedTerms.map { (elector.identity, $0) } }.sorted { $0.1.started < $1.1.started }
        #expect(terms.count >= 3 && stopped.count == 2)
        for (previous, next) in zip(terms, terms.dropFirst()) {
            let ended = try #require(previous.1.ended)
            #expect(ended <= next.1.started, "\(previous.0)'s term ended at \(ended), after \(next.0)'s began at \(next.1.started)")
        }
        try expectHandoversAfterExpiry()
    }
}
