import Foundation
import Testing

/// Issue #5's goal "one cold ServiceAccount hit by 500 concurrent admissions: exactly one API
/// request", end to end: the real webhook, 500 TLS connections each sending one pod of the same
/// uncached account at once, and the fake Kubernetes API (answering after 5 s, so that every
/// admission arrives while the first lookup is in flight: opening 500 TLS connections took the
/// test's client over 2 s on a 2-core machine, and with a 2 s answer half arrived after it) counting what it was asked. In get
/// mode: in watch mode every account is in the store after the LIST, and the same burst for an
/// account the watch has not delivered yet is `ServiceAccountInformerTests`'s.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ColdServiceAccountBurstTests {
    static let account = WebhookWithFakeAPI.coldAccounts[0]
    static let path = "/api/v1/namespaces/default/serviceaccounts/\(account)"

    @Test(arguments: [1, 2])
    func fiveHundredAdmissionsOfAColdAccountMakeOneAPIRequest(threads: Int) async throws {
        let setup = try await WebhookWithFakeAPI(apiTimeout: .seconds(10), cacheTTL: .seconds(60), threads: threads, serviceAccountSource: "get")
        #expect(Self.lookups(in: setup.api.requests) == 0, "the account is cold")
        try setup.api.behave(delay: .seconds(5))
        let started = ContinuousClock.now
        let answers = try await setup.admit(Array(repeating: [Self.account], count: 500))
        let elapsed = ContinuousClock.now - started
        let mutated = answers.filter {
            $0.status == 200 && $0.uidEchoed && $0.allowed == true
                && $0.patch?.contains(WebhookWithFakeAPI.role(for: Self.account) + "\"") == true
        }
        #expect(answers.count == 500)
        #expect(mutated.count == 500, "e.g. \(answers.first { $0.patch == nil }.map(String.init(describing:)) ?? "-")")
        #expect(Self.lookups(in: setup.api.requests) == 1, "\(setup.api.requests.suffix(5))")
        let waited = answers.filter { $0.latency >= .milliseconds(1_500) }.count
        print("cold burst, \(threads) thread(s): 500 admissions in \(elapsed), \(waited) waited for the one lookup, "
            + "API requests for the account: \(Self.lookups(in: setup.api.requests))")
        #expect(waited >= 250, "most admissions arrived while the lookup was in flight")
        #expect(try await setup.webhook.stop(timeout: .seconds(10)) == 0)
    }

    /// How many requests in the fake API's log asked for the account.
    static func lookups(in requests: [String]) -> Int {
        requests.filter { $0.split(separator: " ").first.map { $0.split(separator: "?").first == Substring(path) } ?? false }.count
    }
}
