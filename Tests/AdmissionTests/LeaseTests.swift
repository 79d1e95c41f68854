import Foundation
import Testing
@testable import Admission

@Suite struct LeaseTests {
    private static let served = Array("""
        {"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"irsa-webhook","namespace":"irsa",\
        "uid":"0b7c3d5e-1f2a-4b6c-8d9e-0a1b2c3d4e5f","resourceVersion":"41","labels":{"team":"platform"}},\
        "spec":{"holderIdentity":"a","leaseDurationSeconds":15,"acquireTime":"2026-12-07T10:00:00.000000Z",\
        "renewTime":"2026-12-07T10:00:02.123456Z","leaseTransitions":3,"strategy":"OldestEmulationVersion"}}
        """.utf8)

    private static func object(_ body: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
    }

    @Test func decodesTheElectionRecordAndTheResourceVersion() throws {
        let lease = try Lease.decode(Self.served)
        #expect(lease.name == "irsa-webhook" && lease.resourceVersion == "41")
        #expect(lease.record == Lease.Record(
            holderIdentity: "a", leaseDurationSeconds: 15, acquireTime: "2026-12-07T10:00:00.000000Z",
            renewTime: "2026-12-07T10:00:02.123456Z", leaseTransitions: 3))
    }

    /// A released or freshly created Lease may lack every spec field.
    @Test func missingSpecFieldsAreEmpty() throws {
        let lease = try Lease.decode(Array(#"{"metadata":{"name":"l","resourceVersion":"7"},"spec":{"holderIdentity":null}}"#.utf8))
        #expect(lease.record == Lease.Record())
        #expect(try Lease.decode(Array(#"{"metadata":{"name":"l","resourceVersion":"7"}}"#.utf8)).record == Lease.Record())
    }

    @Test(arguments: [
        #"[]"#, #"{"kind":"ConfigMap","metadata":{"name":"l","resourceVersion":"1"}}"#, #"{"metadata":{"name":"l"}}"#,
        #"{"metadata":{"name":"l","resourceVersion":"1"},"spec":{"leaseDurationSeconds":"15"}}"#,
        #"{"metadata":{"name":"l","resourceVersion":"1"},"spec":[]}"#, "not json",
    ])
    func refusesBodiesThatAreNotALease(_ body: String) {
        #expect(throws: Lease.DecodingError.self) { try Lease.decode(Array(body.utf8)) }
    }

    /// The PUT body is the object as served with the record replaced: the resourceVersion makes
    /// it conditional; labels, uid and spec fields the elector does not know are kept.
    @Test func anUpdateReplacesTheRecordAndKeepsEverythingElse() throws {
        let lease = try Lease.decode(Self.served)
        let record = Lease.Record(
            holderIdentity: "b", leaseDurationSeconds: 2, acquireTime: "2026-12-07T11:00:00.000001Z",
            renewTime: "2026-12-07T11:00:00.000001Z", leaseTransitions: 4)
        let body = try Self.object(lease.updateBody(record))
        let metadata = try #require(body["metadata"] as? [String: Any])
        #expect(metadata["resourceVersion"] as? String == "41" && metadata["uid"] as? String == "0b7c3d5e-1f2a-4b6c-8d9e-0a1b2c3d4e5f")
        #expect(metadata["labels"] as? [String: String] == ["team": "platform"])
        let spec = try #require(body["spec"] as? [String: Any])
        #expect(spec["holderIdentity"] as? String == "b" && spec["leaseDurationSeconds"] as? Int == 2)
        #expect(spec["leaseTransitions"] as? Int == 4 && spec["strategy"] as? String == "OldestEmulationVersion")
        #expect(spec["renewTime"] as? String == "2026-12-07T11:00:00.000001Z")
        #expect(try Lease.decode(lease.updateBody(record)).record == record)
    }

    @Test func aCreationNamesTheLeaseAndItsNamespace() throws {
        let record = Lease.Record(holderIdentity: "a", leaseDurationSeconds: 15, acquireTime: "t", renewTime: "t", leaseTransitions: 0)
        let body = try Self.object(Lease.creationBody(name: "irsa-webhook", namespace: "irsa", record: record))
        #expect(body["apiVersion"] as? String == "coordination.k8s.io/v1" && body["kind"] as? String == "Lease")
        #expect(body["metadata"] as? [String: String] == ["name": "irsa-webhook", "namespace": "irsa"])
        #expect((body["spec"] as? [String: Any])?["holderIdentity"] as? String == "a")
    }

    /// kube-apiserver parses MicroTime with Go's "2006-01-02T15:04:05.000000Z07:00": exactly six
    /// fractional digits.
    @Test func microTimeHasSixFractionalDigits() {
        #expect(Lease.microTime(secondsSinceEpoch: 0, microseconds: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(Lease.microTime(secondsSinceEpoch: 1_796_645_045, microseconds: 42) == "2026-12-07T12:04:05.000042Z")
        #expect(Lease.microTime().wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/) != nil)
    }
}

@Suite struct LeaseTimingTests {
    @Test func theStandardTimingIsKubernetes() {
        #expect(LeaseTiming.standard.leaseDuration == .seconds(15))
        #expect(LeaseTiming.standard.renewDeadline == .seconds(10))
        #expect(LeaseTiming.standard.retryPeriod == .seconds(2))
        #expect(LeaseTiming.standard.leaseDurationSeconds == 15)
    }

    @Test(arguments: [
        (Duration.milliseconds(1500), Duration.seconds(1), Duration.milliseconds(200), "whole number of seconds"),
        (.seconds(10), .seconds(10), .seconds(2), "longer than the renew deadline"),
        (.seconds(15), .seconds(2), .milliseconds(1700), "1.2 times the retry period"),
        (.seconds(15), .seconds(10), .zero, "must be positive"),
    ])
    func refusesTimingsTheElectionCannotWorkWith(lease: Duration, renew: Duration, retry: Duration, problem: String) {
        #expect {
            try LeaseTiming(leaseDuration: lease, renewDeadline: renew, retryPeriod: retry)
        } throws: { error in
            (error as? LeaseTiming.Invalid)?.description.contains(problem) == true
        }
    }

    /// Candidates retry after the retry period plus up to 120 % jitter, as client-go's do.
    @Test func candidatesRetryWithJitter() {
        let timing = LeaseTiming.standard
        #expect(timing.candidatePause(random: 0) == .seconds(2))
        #expect(timing.candidatePause(random: 0.5) == .milliseconds(3200))
        #expect(timing.candidatePause(random: 0.999_999) < .milliseconds(4400))
    }
}
