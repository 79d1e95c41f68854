import Foundation
import Testing
import TestKubernetesAPI

/// The fake Kubernetes API speaks kube-apiserver's protocol: checked with real clients (curl, and
/// small Python clients that see chunk framing and arrival times) over real TLS.
/// Serialized: the timing checks (live events, bookmarks, timeouts) need the Python clients to
/// start promptly, not behind eleven other fakes and 100,000 generated accounts.
@Suite(.serialized) struct FakeKubernetesAPITests {
    private func get(_ api: FakeKubernetesAPI, _ path: String) async throws -> KubernetesAPIRequest {
        try await KubernetesAPIRequest.get(path, port: api.port, caFile: api.certificateAuthorityFile, token: api.token)
    }

    private func watch(_ api: FakeKubernetesAPI, _ path: String, lines: Int? = nil, limit: Duration = .seconds(20)) async throws
        -> KubernetesAPIStream
    {
        try await KubernetesAPIStream.read(
            path, port: api.port, caFile: api.certificateAuthorityFile, token: api.token, lines: lines, limit: limit)
    }

    private static func metadata(_ object: [String: Any]?) -> [String: Any] { object?["metadata"] as? [String: Any] ?? [:] }

    private static func keys(_ list: [String: Any]?) -> [String] {
        (list?["items"] as? [[String: Any]] ?? []).map { "\(metadata($0)["namespace"] ?? "")/\(metadata($0)["name"] ?? "")" }
    }

    private static func now() -> Double { Date().timeIntervalSince1970 }

    /// Waits (at most 60 s) until `count` requests whose path contains `fragment` have reached
    /// the server, then 100 ms more for it to set them up; returns that moment.
    @discardableResult
    private func connected(_ api: FakeKubernetesAPI, _ fragment: String, count: Int = 1) async throws -> Double {
        let deadline = ContinuousClock.now + .seconds(60)
        while api.requests.filter({ $0.contains(fragment) }).count < count {
            guard ContinuousClock.now < deadline else { throw TestToolError("no request with \(fragment) reached the fake API") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let arrived = Self.now()
        try await Task.sleep(for: .milliseconds(100))
        return arrived
    }

    /// The OIDC discovery document and key set, as kube-apiserver serves them; the key set
    /// matches what openssl says about the key.
    @Test func servesTheServiceAccountIssuerDiscovery() async throws {
        let api = try FakeKubernetesAPI(issuer: "https://issuer.example")
        let discovery = try await get(api, "/.well-known/openid-configuration")
        #expect(discovery.status == 200 && discovery.fields["content-type"] == "application/json")
        let document = try #require(discovery.json)
        #expect(document["issuer"] as? String == "https://issuer.example")
        #expect(document["jwks_uri"] as? String == "https://127.0.0.1:\(api.port)/openid/v1/jwks")
        #expect(document["response_types_supported"] as? [String] == ["id_token"])
        #expect(document["subject_types_supported"] as? [String] == ["public"])
        #expect(document["id_token_signing_alg_values_supported"] as? [String] == ["RS256"])

        let keys = try await get(api, "/openid/v1/jwks")
        #expect(keys.status == 200 && keys.fields["content-type"] == "application/jwk-set+json")
        let set = try JSONDecoder().decode([String: [JSONWebKey]].self, from: Data(keys.body.utf8))
        #expect(set["keys"] == api.jwks)
        let key = try #require(api.jwks.first)
        #expect(key.kty == "RSA" && key.alg == "RS256" && key.use == "sig" && key.e == "AQAB")
        #expect(key.n.count == 342 && key.kid.count == 43, "2048-bit modulus and SHA-256 key ID, unpadded base64url")
        #expect(api.serviceAccountPublicKeyPEM.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        #expect(api.serviceAccountSigningKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
    }

    /// Each change takes the next global resourceVersion, which the account then carries; an
    /// account keeps its uid and creationTimestamp across changes; an unchanged upsert is no change.
    @Test func everyChangeTakesTheNextResourceVersion() async throws {
        let api = try FakeKubernetesAPI()
        let role = ["vultr.com/role-arn": "arn:aws:iam::111122223333:role/app"]
        let created = try api.upsert(namespace: "default", name: "app", annotations: role)
        let first = try #require(try await get(api, "/api/v1/namespaces/default/serviceaccounts/app").json)
        #expect(first["kind"] as? String == "ServiceAccount" && first["apiVersion"] as? String == "v1")
        #expect(Self.metadata(first)["resourceVersion"] as? String == created)
        #expect(Self.metadata(first)["annotations"] as? [String: String] == role)
        #expect((Self.metadata(first)["uid"] as? String)?.count == 36 && Self.metadata(first)["creationTimestamp"] is String)

        let changed = try api.upsert(namespace: "default", name: "app")
        #expect(try Int(#require(Int(changed))) > Int(created)!)
        #expect(try api.upsert(namespace: "default", name: "app") == changed, "no change, no new resourceVersion")
        let second = try #require(try await get(api, "/api/v1/namespaces/default/serviceaccounts/app").json)
        #expect(Self.metadata(second)["resourceVersion"] as? String == changed && Self.metadata(second)["annotations"] == nil)
        #expect(Self.metadata(second)["uid"] as? String == Self.metadata(first)["uid"] as? String)

        let deleted = try api.delete(namespace: "default", name: "app")
        #expect(try api.resourceVersion() == deleted && Int(deleted)! > Int(changed)!)
        let gone = try await get(api, "/api/v1/namespaces/default/serviceaccounts/app")
        #expect(gone.status == 404 && gone.json?["reason"] as? String == "NotFound")
        #expect(throws: FakeKubernetesAPI.Failure.self) { try api.delete(namespace: "default", name: "app") }
    }

    /// Every page of a LIST is the snapshot at the first page's resourceVersion, whatever changes
    /// in between; a fresh LIST sees the changes.
    @Test func listPagesAreOneSnapshotWhileWritesHappen() async throws {
        let api = try FakeKubernetesAPI()
        var table: [String: [String: String]] = [:]
        for index in 0..<25 { table[String(format: "default/app-%02d", index)] = ["n": "\(index)"] }
        for index in 0..<5 { table["kube-system/sys-\(index)"] = [:] }
        try api.setAccounts(table)
        let page1 = try #require(try await get(api, "/api/v1/serviceaccounts?limit=10").json)
        #expect(page1["kind"] as? String == "ServiceAccountList")
        let version = try #require(Self.metadata(page1)["resourceVersion"] as? String)
        #expect(Self.metadata(page1)["remainingItemCount"] as? Int == 20)
        try api.delete(namespace: "default", name: "app-15")
        try api.upsert(namespace: "default", name: "app-16", annotations: ["n": "changed"])
        try api.upsert(namespace: "default", name: "app-99")

        var listed = Self.keys(page1)
        var token = try #require(Self.metadata(page1)["continue"] as? String)
        var remaining: [Int?] = []
        while !token.isEmpty {
            let page = try #require(try await get(api, "/api/v1/serviceaccounts?limit=10&continue=\(token)").json)
            #expect(Self.metadata(page)["resourceVersion"] as? String == version)
            listed += Self.keys(page)
            remaining.append(Self.metadata(page)["remainingItemCount"] as? Int)
            if let changed = (page["items"] as? [[String: Any]])?.first(where: { Self.metadata($0)["name"] as? String == "app-16" }) {
                #expect(Self.metadata(changed)["annotations"] as? [String: String] == ["n": "16"], "the snapshot's version")
            }
            token = Self.metadata(page)["continue"] as? String ?? ""
        }
        #expect(listed == table.keys.sorted(), "every account of the snapshot once, in etcd key order")
        #expect(remaining == [10, nil])

        let fresh = try #require(try await get(api, "/api/v1/serviceaccounts").json)
        #expect(Self.keys(fresh).contains("default/app-99") && !Self.keys(fresh).contains("default/app-15"))
        #expect(Int(Self.metadata(fresh)["resourceVersion"] as? String ?? "")! > Int(version)!)
        let namespaced = try #require(try await get(api, "/api/v1/namespaces/kube-system/serviceaccounts?limit=3").json)
        #expect(Self.keys(namespaced) == ["kube-system/sys-0", "kube-system/sys-1", "kube-system/sys-2"])
        #expect(Self.metadata(namespaced)["remainingItemCount"] as? Int == 2)
        let exact = try #require(try await get(api, "/api/v1/serviceaccounts?resourceVersion=\(version)&resourceVersionMatch=Exact").json)
        #expect(Self.keys(exact) == table.keys.sorted(), "Exact: the state at that resourceVersion")
        let fromCache = try #require(try await get(api, "/api/v1/serviceaccounts?resourceVersion=0&limit=5").json)
        #expect(Self.keys(fromCache).count == 30 && Self.metadata(fromCache)["continue"] == nil, "resourceVersion=0 ignores limit")

        #expect(try await get(api, "/api/v1/serviceaccounts?limit=5&continue=bm90LWEtdG9rZW4").status == 400)
        #expect(try await get(api, "/api/v1/serviceaccounts?resourceVersionMatch=Exact").status == 422)
        #expect(try await get(api, "/api/v1/serviceaccounts?limit=5&resourceVersion=1&continue=\(token)x").status == 400)
    }

    /// A continue token whose snapshot is gone gets 410 Expired with a token that goes on at
    /// the latest version, as kube-apiserver answers; so does every token with expireContinueTokens.
    @Test func expiredContinueTokensGet410WithATokenThatContinues() async throws {
        let api = try FakeKubernetesAPI()
        try api.setAccounts(Dictionary(uniqueKeysWithValues: (0..<6).map { ("default/app-\($0)", [String: String]()) }))
        let page1 = try #require(try await get(api, "/api/v1/serviceaccounts?limit=2").json)
        let token = try #require(Self.metadata(page1)["continue"] as? String)
        try api.compact()
        let expired = try await get(api, "/api/v1/serviceaccounts?limit=2&continue=\(token)")
        #expect(expired.status == 410 && expired.json?["kind"] as? String == "Status")
        #expect(expired.json?["reason"] as? String == "Expired" && expired.json?["code"] as? Int == 410)
        #expect((expired.json?["message"] as? String)?.hasPrefix("The provided continue parameter is too old") == true)
        let inconsistent = try #require(Self.metadata(expired.json)["continue"] as? String)
        let rest = try #require(try await get(api, "/api/v1/serviceaccounts?limit=10&continue=\(inconsistent)").json)
        #expect(Self.keys(rest) == (2..<6).map { "default/app-\($0)" })

        try api.behaveWatch(.init(times: 2, expireContinueTokens: true))
        let again = try #require(Self.metadata(try await get(api, "/api/v1/serviceaccounts?limit=2").json)["continue"] as? String)
        #expect(try await get(api, "/api/v1/serviceaccounts?limit=2&continue=\(again)").status == 410)
        #expect(try await get(api, "/api/v1/serviceaccounts?limit=2&continue=\(again)").status == 200, "only the first 2 LISTs")
    }

    /// 403 on LIST and on WATCH with the Status an RBAC denial carries, for `times` requests.
    @Test func forbiddenListAndWatch() async throws {
        let api = try FakeKubernetesAPI()
        try api.behaveWatch(.init(times: 1, listForbidden: true, watchForbidden: true))
        let list = try await get(api, "/api/v1/serviceaccounts?limit=500")
        #expect(list.status == 403 && list.json?["reason"] as? String == "Forbidden")
        #expect((list.json?["message"] as? String)?.contains(#"cannot list resource "serviceaccounts" in API group "" at the cluster scope"#) == true)
        let watch = try await get(api, "/api/v1/serviceaccounts?watch=1&timeoutSeconds=1")
        #expect(watch.status == 403 && (watch.json?["message"] as? String)?.contains("cannot watch resource") == true)
        #expect(try await get(api, "/api/v1/serviceaccounts?limit=500").status == 200)
        #expect(try await get(api, "/api/v1/serviceaccounts?watch=1&timeoutSeconds=1").status == 200)
    }

    /// A watch replays the events after its resourceVersion (a DELETED one carries the last
    /// state at the deletion's version), then follows changes live within milliseconds.
    @Test func watchReplaysFromAResourceVersionThenFollowsLive() async throws {
        let api = try FakeKubernetesAPI()
        try api.setAccounts(["default/a": [:], "default/b": ["k": "v"]])
        let start = try api.resourceVersion()
        let modified = try api.upsert(namespace: "default", name: "a", annotations: ["k": "new"])
        let deleted = try api.delete(namespace: "default", name: "b")
        async let streamed = watch(api, "/api/v1/serviceaccounts?watch=1&resourceVersion=\(start)&timeoutSeconds=60", lines: 3)
        try await connected(api, "watch=1")
        let sent = Self.now()
        let added = try api.upsert(namespace: "kube-system", name: "c")
        let stream = try await streamed

        #expect(stream.status == 200 && stream.fields["transfer-encoding"] == "chunked")
        #expect(stream.fields["content-type"] == "application/json")
        #expect(stream.lines.map { $0.type ?? "?" } == ["MODIFIED", "DELETED", "ADDED"])
        #expect(stream.lines.map { $0.resourceVersion ?? "?" } == [modified, deleted, added])
        #expect(Self.metadata(stream.lines[1].object)["name"] as? String == "b")
        #expect(stream.lines.allSatisfy { $0.object?["kind"] as? String == "ServiceAccount" })
        #expect(stream.end == .enoughLines && stream.partial.isEmpty)
        #expect(stream.chunkSizes.count == 2, "the replayed burst shares a chunk, the live event has its own")
        let live = try #require(stream.lines.last)
        let written = try #require(try api.eventWriteTimes()[added])
        #expect(sent <= written && written <= live.arrival)
        #expect(written - sent < 1, "pushed at once (no polling)")
        print("fake-api live event: written \(Int((written - sent) * 1000)) ms after the change, "
            + "read \(Int((live.arrival - written) * 1000)) ms after the write")
    }

    /// Without a resourceVersion a watch starts with an ADDED event per existing account; a
    /// namespaced watch sees its namespace only; every open watch sees a change.
    @Test func watchWithoutResourceVersionStartsWithTheStateAndEveryWatchSeesChanges() async throws {
        let api = try FakeKubernetesAPI()
        try api.setAccounts(["default/a": [:], "default/b": [:], "other/c": [:]])
        async let all = watch(api, "/api/v1/serviceaccounts?watch=true&timeoutSeconds=60", lines: 5)
        async let namespaced = watch(api, "/api/v1/namespaces/default/serviceaccounts?watch=1&timeoutSeconds=60", lines: 3)
        try await connected(api, "watch=", count: 2)
        let changed = try api.upsert(namespace: "default", name: "a", annotations: ["x": "1"])
        try api.upsert(namespace: "other", name: "c", annotations: ["x": "1"])
        let (everything, defaultOnly) = try await (all, namespaced)
        #expect(everything.lines.map { $0.type ?? "?" } == ["ADDED", "ADDED", "ADDED", "MODIFIED", "MODIFIED"])
        #expect(defaultOnly.lines.map { $0.type ?? "?" } == ["ADDED", "ADDED", "MODIFIED"])
        #expect(defaultOnly.lines.last?.resourceVersion == changed)

        let large = String(repeating: "x", count: 10_000)
        try api.upsert(namespace: "default", name: "a", annotations: ["large": large])
        let framed = try await watch(api, "/api/v1/namespaces/default/serviceaccounts?watch=1&timeoutSeconds=1")
        #expect(framed.chunkSizes.prefix(2) == [4096, 4096], "a long event spans 4096-byte chunks, as Go's net/http writes it")
        #expect(Self.metadata(framed.lines.first?.object)["annotations"] as? [String: String] == ["large": large])
    }

    /// Bookmarks carry only kind, apiVersion and metadata.resourceVersion, come every interval
    /// and once 2 s before timeoutSeconds, and only when asked for; sendInitialEvents ends its
    /// ADDED events with the one bookmark annotated k8s.io/initial-events-end.
    @Test func bookmarks() async throws {
        let api = try FakeKubernetesAPI()
        try api.setAccounts(["default/a": [:], "default/b": [:]])
        try api.behaveWatch(.init(bookmarkInterval: .milliseconds(300)))
        let version = try api.resourceVersion()
        let stream = try await watch(api, "/api/v1/serviceaccounts?watch=1&resourceVersion=\(version)&allowWatchBookmarks=true&timeoutSeconds=4")
        #expect(stream.lines.count >= 3 && stream.lines.allSatisfy { $0.type == "BOOKMARK" }, "\(stream.lines.map(\.text))")
        for line in stream.lines {
            #expect(Set(line.object?.keys.map { $0 } ?? []) == ["kind", "apiVersion", "metadata"])
            #expect(line.resourceVersion == version && Self.metadata(line.object)["annotations"] == nil)
            #expect(stream.ended - line.arrival > 1.5, "none after the one 2 s before the timeout")
        }
        #expect(stream.end == .complete)
        let without = try await watch(api, "/api/v1/serviceaccounts?watch=1&resourceVersion=\(version)&timeoutSeconds=1")
        #expect(without.lines.isEmpty && without.end == .complete)

        let initial = try await watch(api, "/api/v1/serviceaccounts?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
            + "&resourceVersion=&allowWatchBookmarks=true&timeoutSeconds=1")
        #expect(initial.lines.prefix(3).map { $0.type ?? "?" } == ["ADDED", "ADDED", "BOOKMARK"])
        let annotated = initial.lines.filter { Self.metadata($0.object)["annotations"] != nil }
        #expect(annotated.count == 1 && annotated.first?.type == "BOOKMARK")
        #expect(Self.metadata(annotated.first?.object)["annotations"] as? [String: String] == ["k8s.io/initial-events-end": "true"])
    }

    /// A watch from a resourceVersion older than the history gets an ERROR event carrying a 410
    /// Expired Status, then the end of the stream; or HTTP 410 when so configured.
    @Test func tooOldResourceVersionIs410AsAnEventOrAsAStatus() async throws {
        let api = try FakeKubernetesAPI()
        let old = try api.upsert(namespace: "default", name: "a")
        try api.upsert(namespace: "default", name: "b")
        try api.compact()
        let stream = try await watch(api, "/api/v1/serviceaccounts?watch=1&resourceVersion=\(old)&allowWatchBookmarks=true")
        #expect(stream.status == 200 && stream.end == .complete)
        #expect(stream.lines.count == 1 && stream.lines.first?.type == "ERROR")
        let status = try #require(stream.lines.first?.object)
        #expect(status["kind"] as? String == "Status" && status["code"] as? Int == 410 && status["reason"] as? String == "Expired")
        #expect((status["message"] as? String)?.hasPrefix("too old resource version: \(old) (") == true)

        try api.behaveWatch(.init(gone: .httpStatus))
        let answer = try await get(api, "/api/v1/serviceaccounts?watch=1&resourceVersion=\(old)")
        #expect(answer.status == 410 && answer.json?["reason"] as? String == "Expired")
        let opened = Self.now()
        let current = try await watch(api, "/api/v1/serviceaccounts?watch=1&resourceVersion=\(try api.resourceVersion())&timeoutSeconds=1")
        #expect(current.status == 200 && current.lines.isEmpty && current.end == .complete)
        #expect(current.ended - opened >= 1, "ended cleanly by timeoutSeconds=1")
    }

    /// Stream faults: closed early (cleanly or not), stalled mid-event, silent past its
    /// timeoutSeconds, a garbage chunk; each for `times` watches only.
    @Test func streamFaults() async throws {
        let api = try FakeKubernetesAPI()
        try api.setAccounts(["default/a": [:], "default/b": [:]])
        let path = "/api/v1/serviceaccounts?watch=1&timeoutSeconds=10"

        try api.behaveWatch(.init(closeAfter: .milliseconds(500)))
        let opened = Self.now()
        let closed = try await watch(api, path)
        #expect(closed.end == .complete && closed.ended - opened < 9.5 && closed.lines.count == 2, "before timeoutSeconds=10")
        try api.behaveWatch(.init(closeAfter: .milliseconds(500), closeAbruptly: true))
        let cut = try await watch(api, path)
        #expect(cut.end == .closed && cut.lines.count == 2)

        try api.behaveWatch(.init(times: 1, stallMidEvent: true, faultAfterEvents: 1))
        let stalled = try await watch(api, path, limit: .milliseconds(1500))
        #expect(stalled.end == .timeout && stalled.lines.count == 1)
        #expect(stalled.partial.hasPrefix(#"{"type":"ADDED","object":{"kind":"ServiceAccount""#) && !stalled.partial.hasSuffix("}"))
        #expect(try await watch(api, "/api/v1/serviceaccounts?watch=1&timeoutSeconds=1").lines.count == 2, "only the first")

        try api.behaveWatch(.init(times: 1, silent: true))
        let silent = try await watch(api, "/api/v1/serviceaccounts?watch=1&allowWatchBookmarks=true&timeoutSeconds=1",
                                     limit: .milliseconds(2500))
        #expect(silent.status == 200 && silent.end == .timeout && silent.lines.isEmpty && silent.partial.isEmpty)

        try api.behaveWatch(.init(garbageChunk: true, faultAfterEvents: 1))
        let garbled = try await watch(api, "/api/v1/serviceaccounts?watch=1&timeoutSeconds=1")
        #expect(garbled.lines.count == 3 && garbled.lines[1].json == nil)
        #expect(garbled.lines[0].type == "ADDED" && garbled.lines[2].type == "ADDED")
    }

    /// stop() closes the port and every open watch; accounts change while it is down; after
    /// restart() the watch history starts again, so a watch from before gets 410.
    @Test func stopClosesWatchesAndRestartStartsANewHistory() async throws {
        let api = try FakeKubernetesAPI()
        let before = try api.upsert(namespace: "default", name: "a")
        async let streamed = watch(api, "/api/v1/serviceaccounts?watch=1&resourceVersion=\(before)&timeoutSeconds=30")
        let opened = try await connected(api, "watch=1")
        api.stop()
        #expect(!api.isRunning)
        let stream = try await streamed
        #expect(stream.end != .timeout && stream.ended - opened < 10)
        try api.delete(namespace: "default", name: "a")
        await #expect(throws: (any Error).self) { try await get(api, "/api/v1/serviceaccounts") }
        try api.restart()
        #expect(api.isRunning)
        #expect(Self.keys(try await get(api, "/api/v1/serviceaccounts").json).isEmpty)
        let after = try await watch(api, "/api/v1/serviceaccounts?watch=1&resourceVersion=\(before)")
        #expect(after.lines.first?.type == "ERROR" && after.lines.first?.object?["code"] as? Int == 410)
    }

    /// 100,000 generated accounts (10% annotated) listed 500 at a time over one connection:
    /// 200 pages of one snapshot, every account once.
    @Test func hundredThousandAccountsListedInPages() async throws {
        let api = try FakeKubernetesAPI()
        let generating = ContinuousClock.now
        try api.generateAccounts(count: 100_000, annotatedEvery: 10, namespaces: 100)
        let generated = ContinuousClock.now - generating
        let listing = try await KubernetesAPIPager.list(
            "/api/v1/serviceaccounts", limit: 500, port: api.port, caFile: api.certificateAuthorityFile, token: api.token)
        let server = try api.listTime()
        #expect(listing.keys.count == 100_000 && Set(listing.keys).count == 100_000)
        #expect(listing.keys == listing.keys.sorted() && listing.annotated == 10_000)
        let version = try api.resourceVersion()
        #expect(listing.resourceVersions.count == 200 && Set(listing.resourceVersions) == [version])
        #expect(listing.remaining.first == 99_500 && listing.remaining.last == .some(nil))
        let sample = FakeKubernetesAPI.generatedAccount(12_340, annotatedEvery: 10, namespaces: 100)
        let object = try await get(api, "/api/v1/namespaces/\(sample.namespace)/serviceaccounts/\(sample.name)").json
        #expect(Self.metadata(object)["annotations"] as? [String: String] == sample.annotations && !sample.annotations.isEmpty)
        #expect(server.requests == 200 && server.seconds < 10, "the target is well under 2 s of server time")
        print("fake-api 100,000 accounts: generated in \(generated); 200 pages of 500 took "
            + "\(String(format: "%.2f", server.seconds)) s of server time, \(String(format: "%.2f", listing.seconds)) s "
            + "for the client over one connection")
    }
}
