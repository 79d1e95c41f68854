import Foundation
import TestKubernetesAPI
import Testing

/// Issue 14's figures: for 10, 1,000 and 9,996 accounts with a role (`sa-<i>` in 100 namespaces
/// `ns-<i % 100>`, the largest such set whose exact condition fits in 100,000 code points), the
/// size of the configuration written and the time from a ServiceAccount event (the fake API's
/// write of it to the watch) to the configuration write (the fake's commit of the apply).
@Suite(.serialized, .timeLimit(.minutes(10))) struct NarrowingFiguresTests {
    @Test(arguments: [10, 1_000, 9_996]) func configurationSizeAndEventToWriteTime(accounts: Int) async throws {
        let narrowing = try await NarrowingWebhook { api in
            try api.generateAccounts(count: accounts - 1, annotatedEvery: 1, namespaces: 100)
        }
        let last = FakeKubernetesAPI.generatedAccount(accounts - 1, annotatedEvery: 1, namespaces: 100)
        #expect(try await narrowing.waitForCondition(timeout: .seconds(60)) { NarrowingWebhook.names($0, "sa-\(accounts - 2)") })
        var delays: [Double] = []
        for round in 0..<6 {
            let adding = round % 2 == 0
            let before = try narrowing.patches(objects: false).count
            let version = try narrowing.api.upsert(namespace: last.namespace, name: last.name, annotations: adding ? last.annotations : [:])
            #expect(try await narrowing.waitForCondition(timeout: .seconds(10)) { NarrowingWebhook.names($0, last.name) == adding })
            let write = try #require(try narrowing.firstWrite(from: before) { NarrowingWebhook.names($0, last.name) == adding })
            let event = try #require(try narrowing.api.eventWriteTimes()[version])
            delays.append(write.at - event)
        }
        let condition = try #require(try narrowing.condition())
        #expect(condition.contains(".exists(m, "), "the exact form, not a downgrade")
        let stored = try narrowing.api.webhookConfiguration(named: NarrowingWebhook.configuration)
        var withoutManagedFields = stored ?? [:]
        var metadata = withoutManagedFields["metadata"] as? [String: Any] ?? [:]
        metadata["managedFields"] = nil
        withoutManagedFields["metadata"] = metadata
        let bytes = try JSONSerialization.data(withJSONObject: stored ?? [:]).count
        let bytesWithout = try JSONSerialization.data(withJSONObject: withoutManagedFields).count
        delays.sort()
        let writeSeconds = try await narrowing.setup.metric("irsa_narrowing_write_duration_seconds_sum")
        let writeCount = try await narrowing.setup.metric("irsa_narrowing_write_duration_seconds_count")
        print(String(format: "figures: %d accounts: expression %d code points, configuration %d bytes as JSON (%d without managedFields); "
                + "event to write over 6 changes (3 added, 3 removed): median %.1f ms, max %.1f ms; the webhook's own mean write "
                + "(request to answer) %.1f ms",
            accounts, condition.unicodeScalars.count, bytes, bytesWithout, delays[delays.count / 2] * 1000, (delays.last ?? 0) * 1000,
            writeSeconds / max(writeCount, 1) * 1000))
        #expect(condition.unicodeScalars.count <= 100_000)
        // A bound for a debug build (the figures are a release build's); a sanitizer's is about
        // three times slower (ThreadSanitizer: 1.17 s for 9,996 accounts).
        #expect((delays.last ?? 1) < (Sanitizers.any ? 3.0 : 1.0))
    }
}
