import Foundation
import TestKubernetesAPI
import Testing

/// Issue 11 end to end: the real webhook in watch mode against the fake API's LIST and WATCH.
/// Changes to a ServiceAccount reach the next admission within a second; the informer survives
/// every stream fault the fake can produce and recovers without a restart.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ServiceAccountInformerTests {
    static let app = "app"

    /// The fake API with `default/app` annotated with role `v1`.
    static func api() throws -> FakeKubernetesAPI {
        let api = try FakeKubernetesAPI()
        try api.upsert(namespace: "default", name: app, annotations: ["vultr.com/role-arn": WatchModeWebhook.role("v1")])
        return api
    }

    @Test func annotationAddedChangedAndRemovedReachesTheNextAdmissionWithinASecond() async throws {
        let setup = try await WatchModeWebhook(api: try Self.api())
        #expect(try await setup.admittedRole(Self.app) == WatchModeWebhook.role("v1"))
        var delays: [Double] = []
        for round in 0..<30 {
            let role: String? = round % 3 == 2 ? nil : WatchModeWebhook.role("v\(round + 2)")
            var version = ""
            let matchedAt = try await setup.firstAdmission(of: Self.app, showing: role) {
                version = try setup.api.upsert(namespace: "default", name: Self.app, annotations: role.map { ["vultr.com/role-arn": $0] } ?? [:])
            }
            let written = try setup.api.eventWriteTimes()[version]
            #expect(matchedAt != nil, "round \(round): the change to \(role ?? "no role") was not seen within 1 s")
            if let matchedAt, let written { delays.append(matchedAt - written) }
        }
        delays.sort()
        let p50 = delays[delays.count / 2], p99 = delays[min(delays.count - 1, delays.count * 99 / 100)]
        print(String(format: "event to visible over %d changes: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                     delays.count, p50 * 1000, p99 * 1000, (delays.last ?? 0) * 1000))
        #expect(try await setup.metric("irsa_serviceaccount_watch_events_total{type=\"MODIFIED\"}") >= 30)
        #expect(setup.api.requests.filter { $0.contains("/namespaces/default/serviceaccounts/") }.isEmpty, "no GET needed")
    }

    @Test func deletionWithTheWatchUpStopsMutationAtOnce() async throws {
        let setup = try await WatchModeWebhook(api: try Self.api())
        #expect(try await setup.admittedRole(Self.app) == WatchModeWebhook.role("v1"))
        let matchedAt = try await setup.firstAdmission(of: Self.app, showing: nil) {
            try setup.api.delete(namespace: "default", name: Self.app)
        }
        #expect(matchedAt != nil)
        #expect(try await setup.admittedRole(Self.app) == nil)
    }

    @Test func deletionWhileTheWatchIsDownIsSeenAfterThe410Relist() async throws {
        let setup = try await WatchModeWebhook(api: try Self.api())
        #expect(try await setup.admittedRole(Self.app) == WatchModeWebhook.role("v1"))
        try setup.api.behaveWatch(.init(silent: true))
        try await Task.sleep(for: .seconds(6))  // the current stream ends; the next one is silent
        try setup.api.delete(namespace: "default", name: Self.app)
        try setup.api.compact()
        try setup.api.behaveWatch()
        #expect(try await setup.waitForRole(Self.app, nil, timeout: .seconds(20)), "\(setup.webhook.output.suffix(2000))")
        for _ in 0..<5 { #expect(try await setup.admittedRole(Self.app) == nil) }
        #expect(try await setup.metric("irsa_serviceaccount_watch_restarts_total{reason=\"timeout\"}") >= 1)
        #expect(try await setup.metric("irsa_serviceaccount_watch_restarts_total{reason=\"gone\"}") >= 1)
        #expect(try await setup.metric("irsa_serviceaccount_lists_total") >= 2)
    }

    /// A fault on every watch stream, and the restart reason it must be counted under.
    enum Fault: String, CaseIterable, Sendable {
        case closedEverySecond, closedAbruptly, stalledMidEvent, garbageChunk, goneAsEvent, goneAsStatus

        var behaviour: FakeKubernetesAPI.WatchBehaviour {
            switch self {
            case .closedEverySecond: .init(bookmarkInterval: .milliseconds(300), closeAfter: .seconds(1))
            case .closedAbruptly: .init(closeAfter: .seconds(1), closeAbruptly: true)
            case .stalledMidEvent: .init(times: 1, stallMidEvent: true)
            case .garbageChunk: .init(times: 1, garbageChunk: true)
            case .goneAsEvent: .init(gone: .errorEvent)
            case .goneAsStatus: .init(gone: .httpStatus)
            }
        }

        var reason: String {
            switch self {
            case .closedEverySecond, .closedAbruptly: "closed"
            case .stalledMidEvent: "timeout"
            case .garbageChunk: "error"
            case .goneAsEvent, .goneAsStatus: "gone"
            }
        }
    }

    @Test(arguments: Fault.allCases)
    func watchFaultsAreSurvivedAndChangesStillArrive(_ fault: Fault) async throws {
        let setup = try await WatchModeWebhook(api: try Self.api())
        let watches = { setup.api.requests.filter { $0.contains("watch=1") || $0.contains("watch=true") }.count }
        let watchesBefore = watches()
        try setup.api.behaveWatch(fault.behaviour)
        if fault == .stalledMidEvent || fault == .garbageChunk {
            // The one-time fault is taken by the next watch request and fires at its first event: the changes
            // below must reach that stream, not the one open now (which may outlive them and the fault unused).
            let deadline = ContinuousClock.now + .seconds(15)
            while watches() == watchesBefore, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(watches() > watchesBefore, "no new watch request after \(watchesBefore)")
        }
        if fault == .goneAsEvent || fault == .goneAsStatus {
            // With no event in between, the stream's renewal (after at most 4 s) asks for a version older than the compaction.
            try setup.api.compact()
            let gone = try await setup.waitForMetric("irsa_serviceaccount_watch_restarts_total{reason=\"gone\"}", atLeast: 1)
            #expect(gone, "\(setup.webhook.output.suffix(2000))")
        }
        for round in 0..<3 {
            try await Task.sleep(for: .seconds(1))
            let role = WatchModeWebhook.role("fault-\(round)")
            try setup.api.upsert(namespace: "default", name: Self.app, annotations: ["vultr.com/role-arn": role])
            #expect(try await setup.waitForRole(Self.app, role, timeout: .seconds(15)), "\(fault): \(setup.webhook.output.suffix(2000))")
        }
        if fault.reason == "closed" {
            // The stream open at behaveWatch lives on; the next one is cut after 1 s, and a third request shows
            // that its end was counted.
            let deadline = ContinuousClock.now + .seconds(15)
            while watches() < watchesBefore + 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(watches() >= watchesBefore + 2, "no faulted watch stream ended: \(setup.api.requests.suffix(5))")
        }
        let series = "irsa_serviceaccount_watch_restarts_total{reason=\"\(fault.reason)\"}"
        let counted = try await setup.waitForMetric(series, atLeast: 1)
        let metrics = try await setup.metrics()
        #expect(counted, "\(fault): \(metrics)")
        if fault.reason == "closed" {
            // A hang-up between events, with or without the last chunk and close_notify, is the server ending
            // the stream (closed), not a broken one (error): normal renewals count as closed too.
            #expect(TestTools.metric("irsa_serviceaccount_watch_restarts_total{reason=\"error\"}", in: metrics) == nil, "\(metrics)")
        }
        try setup.api.behaveWatch()
    }

    @Test func anExpiredContinueTokenRestartsTheList() async throws {
        let api = try FakeKubernetesAPI()
        try api.generateAccounts(count: 1_200)
        try api.behaveWatch(.init(times: 2, expireContinueTokens: true))  // LIST requests 1 and 2: the second carries the first continue token
        let setup = try await WatchModeWebhook(api: api)
        let lists = setup.api.requests.filter { $0.contains("/api/v1/serviceaccounts?limit=") }
        #expect(lists.count >= 4, "a first page, a 410 on its continue token, then three pages: \(lists)")
        let account = FakeKubernetesAPI.generatedAccount(10)
        #expect(try await setup.admittedRole(account.name, namespace: account.namespace) == account.annotations["vultr.com/role-arn"])
    }

    @Test(arguments: [false, true])
    func forbiddenListOrWatchFallsBackToGETLookups(watch: Bool) async throws {
        let api = try Self.api()
        try api.behaveWatch(watch ? .init(watchForbidden: true) : .init(listForbidden: true))
        let setup = try await WatchModeWebhook(api: api)
        #expect(try await setup.webhook.waitForOutput(containing: "cannot list or watch ServiceAccounts"))
        #expect(setup.webhook.output.contains("403"))
        #expect(setup.webhook.output.contains("falling back to GET lookups"))
        #expect(try await setup.admittedRole(Self.app) == WatchModeWebhook.role("v1"))
        if !watch {
            #expect(setup.api.requests.contains { $0.contains("/namespaces/default/serviceaccounts/app") }, "served by GET")
        }
        #expect(try await TestTools.curl("GET", port: setup.port, path: "/readyz", caFile: setup.caFile).status == 200)
    }

    @Test func theStoreKeepsServingWhileTheAPIIsDownAndRecovers() async throws {
        let setup = try await WatchModeWebhook(api: try Self.api(), arguments: ["--cache-ttl", "2s", "--api-timeout", "500ms"])
        #expect(try await setup.admittedRole(Self.app) == WatchModeWebhook.role("v1"))
        setup.api.stop()
        // Within the TTL of the watch's last word the store serves stale; after it, a GET fails and the entry is
        // served stale-if-error. Admissions go on until both were seen (a slow machine, or ThreadSanitizer, may take
        // seconds over each), every one with the role.
        let staleIfError = "irsa_serviceaccount_lookups_total{source=\"stale_if_error\"}"
        let deadline = ContinuousClock.now + .seconds(30)
        while try await setup.metric(staleIfError) < 1, ContinuousClock.now < deadline {
            #expect(try await setup.admittedRole(Self.app) == WatchModeWebhook.role("v1"), "served stale, then stale-if-error")
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(try await setup.metric("irsa_serviceaccount_lookups_total{source=\"stale\"}") >= 1)
        #expect(try await setup.metric(staleIfError) >= 1)
        #expect(try await setup.metric("irsa_serviceaccount_store_last_confirmed_seconds") > 0)
        try setup.api.restart()
        let role = WatchModeWebhook.role("after-recovery")
        try setup.api.upsert(namespace: "default", name: Self.app, annotations: ["vultr.com/role-arn": role])
        #expect(try await setup.waitForRole(Self.app, role, timeout: .seconds(40)), "\(setup.webhook.output.suffix(2000))")
    }

    @Test func apiDownAtStartThenUp() async throws {
        let api = try Self.api()
        api.stop()
        let setup = try await WatchModeWebhook(api: api, waitForSync: false)
        let notReady = try await TestTools.curl("GET", port: setup.port, path: "/readyz", caFile: setup.caFile)
        #expect(notReady.status == 503 && notReady.body.contains("list"), "\(notReady)")
        let admitted = try await AdmissionBatch.send(port: setup.port, caFile: setup.caFile, connections: [[Self.app]])
        #expect(admitted.first?.allowed == true && admitted.first?.patch == nil, "admitted unmutated while the API is down")
        try api.restart()
        #expect(try await setup.webhook.waitForOutput(containing: "Kubernetes API reachable", timeout: .seconds(40)))
        #expect(try await TestTools.curl("GET", port: setup.port, path: "/readyz", caFile: setup.caFile).status == 200)
        #expect(try await setup.admittedRole(Self.app) == WatchModeWebhook.role("v1"))
    }

    @Test func fiveHundredAdmissionsOfAnAccountNotYetInTheStoreCostOneGET() async throws {
        let setup = try await WatchModeWebhook(api: try Self.api(), arguments: ["--api-timeout", "10s"])
        try setup.api.behaveWatch(.init(silent: true))
        try await Task.sleep(for: .seconds(6))  // the current stream ends; the next one is silent
        let role = WatchModeWebhook.role("late")
        try setup.api.upsert(namespace: "default", name: "late", annotations: ["vultr.com/role-arn": role])
        try setup.api.behave(delay: .seconds(2))
        let answers = try await AdmissionBatch.send(port: setup.port, caFile: setup.caFile, connections: Array(repeating: ["late"], count: 500))
        #expect(answers.filter { WatchModeWebhook.role(in: $0.patch) == role }.count == 500)
        let gets = setup.api.requests.filter { $0.contains("/namespaces/default/serviceaccounts/late") }
        #expect(gets.count == 1, "\(gets)")
        try setup.api.behave()
        try setup.api.behaveWatch()
    }

    /// APIConnectionLimitTests' burst in watch mode: 1,000 accounts the watch has not delivered
    /// (it is silent), 200 connections asking for 5 each at once. Their GETs wait in line for the
    /// bounded API connections instead of opening one each.
    @Test func aThousandAccountsNotYetInTheStoreOpenAtMostTheConnectionBound() async throws {
        let setup = try await WatchModeWebhook(api: try Self.api(), arguments: ["--api-timeout", "60s"])
        try setup.api.behaveWatch(.init(silent: true))
        try await Task.sleep(for: .seconds(6))  // the current stream ends; the next one is silent
        let accounts = (0..<1_000).map { "late-\($0)" }
        try setup.api.setAccounts(Dictionary(uniqueKeysWithValues: accounts.map { ("default/\($0)", ["vultr.com/role-arn": WatchModeWebhook.role($0)]) }))
        try setup.api.behave(delay: .milliseconds(50))
        let plan = stride(from: 0, to: accounts.count, by: 5).map { Array(accounts[$0..<$0 + 5]) }
        let answers = try await AdmissionBatch.send(port: setup.port, caFile: setup.caFile, connections: plan, timeout: .seconds(150))
        let mutated = answers.filter { WatchModeWebhook.role(in: $0.patch) == WatchModeWebhook.role($0.account) }
        #expect(mutated.count == 1_000, "e.g. \(answers.first { $0.patch == nil }.map(String.init(describing:)) ?? "-")")
        let opened = try await setup.metric("irsa_kubernetes_api_connections_opened_total{server=\"127.0.0.1:\(setup.api.port)\"}")
        print("watch mode, 1,000 accounts not yet in the store over 200 connections: \(Int(opened)) GET connections opened")
        #expect(opened >= 1 && opened <= 16, "\(opened)")
        try setup.api.behave()
        try setup.api.behaveWatch()
    }

    @Test func oneHundredThousandAccountsSyncInPages() async throws {
        let api = try FakeKubernetesAPI()
        try api.generateAccounts(count: 100_000, annotatedEvery: 10)
        try api.behave(times: 1, delay: .seconds(3))
        let setup = try await WatchModeWebhook(api: api, waitForSync: false)
        let pid = setup.webhook.process.processIdentifier
        let before = ProcessFigures.residentKilobytes(pid) ?? 0
        let started = ContinuousClock.now
        #expect(try await setup.webhook.waitForOutput(containing: "Kubernetes API reachable", timeout: .seconds(120)))
        let synced = ContinuousClock.now - started
        try await Task.sleep(for: .milliseconds(500))
        let after = ProcessFigures.residentKilobytes(pid) ?? 0
        let listed = setup.webhook.output.split(separator: "\n").first { $0.contains("ServiceAccounts listed") } ?? ""
        let pages = setup.api.requests.filter { $0.contains("/api/v1/serviceaccounts?limit=500") }.count
        let fake = try api.listTime()
        print("100,000 accounts: first sync \(synced) including the 3 s delayed first page (\(listed)); \(pages) pages; "
            + "the fake API's own time for its \(fake.requests) LIST answers: \(fake.seconds) s; "
            + "RSS \(before) KiB before, \(after) KiB after: \((after - before) * 1024 / 100_000) bytes per account")
        #expect(pages == 200)
        let account = FakeKubernetesAPI.generatedAccount(99_990)
        #expect(try await setup.admittedRole(account.name, namespace: account.namespace) == account.annotations["vultr.com/role-arn"])
        #expect(try await setup.metric("irsa_serviceaccount_store_entries") == 100_000)
    }

    /// Shutdown cancels the informer and waits for it: its watch wait ends at once, its
    /// connections close, and the process exits 0 well within the grace period.
    @Test func sigtermWhileTheWatchIsConnectedExitsPromptlyWithTheInformerStopped() async throws {
        let setup = try await WatchModeWebhook(api: try Self.api(), watchTimeout: "300s")
        let deadline = ContinuousClock.now + .seconds(20)
        while !setup.api.requests.contains(where: { $0.contains("watch=1") }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(setup.api.requests.contains { $0.contains("watch=1") }, "\(setup.api.requests)")
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        let status = try await setup.webhook.stop(signal: SIGTERM, timeout: .seconds(20))
        let elapsed = ContinuousClock.now - start
        #expect(status == 0, "\(setup.webhook.output.suffix(2000))")
        #expect(elapsed < .seconds(5), "exit took \(elapsed)")
        #expect(setup.webhook.output.contains("ServiceAccount informer stopped"), "\(setup.webhook.output.suffix(2000))")
    }
}
