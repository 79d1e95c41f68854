import Testing
@testable import Admission

private let vultr = ServiceAccountAnnotationFilter(prefixes: ["vultr.com/"])

private func decode(_ line: String) throws -> ServiceAccountWatchEvent {
    try Array(line.utf8).withUnsafeBytes { try ServiceAccountWatchEvent.decode($0, keeping: vultr).event }
}

/// Watch events and LIST pages as the API server writes them.
@Suite struct ServiceAccountWatchEventTests {
    @Test func decodesModifiedKeepingOnlyTheFilteredAnnotations() throws {
        let line = #"{"type":"MODIFIED","object":{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"app","namespace":"shop","uid":"1","resourceVersion":"4712","annotations":{"vultr.com/role-arn":"arn:aws:iam::1:role/app","kubectl.kubernetes.io/last-applied-configuration":"{}"}},"secrets":[{"name":"x"}]}}"#
        #expect(try decode(line) == .upserted(
            ServiceAccount(namespace: "shop", name: "app", annotations: ["vultr.com/role-arn": "arn:aws:iam::1:role/app"], resourceVersion: 4712),
            resourceVersion: "4712"))
    }

    @Test func decodesDeletedBookmarkAndError() throws {
        #expect(try decode(#"{"type":"DELETED","object":{"metadata":{"name":"a","namespace":"n","resourceVersion":"9"}}}"#)
            == .deleted(ServiceAccount(namespace: "n", name: "a", resourceVersion: 9), resourceVersion: "9"))
        #expect(try decode(#"{"type":"BOOKMARK","object":{"kind":"ServiceAccount","metadata":{"resourceVersion":"12746","annotations":{"k8s.io/initial-events-end":"true"}}}}"#)
            == .bookmark(resourceVersion: "12746"))
        #expect(try decode(#"{"object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410},"type":"ERROR"}"#)
            == .error(code: 410, message: "too old resource version: 1 (5)"))
    }

    @Test(arguments: [
        #"{"type":"ADDED","object":{"metadata":{"name":"a","namespace":"n"}}}"#,
        #"{"type":"ADDED","object":{"metadata":{"namespace":"n","resourceVersion":"1"}}}"#,
        #"{"type":"SHRUGGED","object":{}}"#,
        #"{"type":"ADDED"}"#,
        #"{"type":"ADDED","object":{"metadata":{"name":"a","namespace":"n","resourceVersion":"1"}}"#,
        "\u{0}garbage",
    ])
    func refusesBrokenEvents(_ line: String) {
        #expect(throws: ServiceAccountDecodingError.self) { try decode(line) }
    }

    @Test func decodesAListPage() throws {
        let body = #"{"kind":"ServiceAccountList","apiVersion":"v1","metadata":{"resourceVersion":"77","continue":"tok=="},"items":[{"metadata":{"name":"default","namespace":"a","resourceVersion":"5"}},{"metadata":{"name":"app","namespace":"b","resourceVersion":"6","annotations":{"vultr.com/role-arn":"r","other":"x"}}}]}"#
        let page = try Array(body.utf8).withUnsafeBytes { try ServiceAccountListPage.decode($0, keeping: vultr) }
        #expect(page.resourceVersion == "77")
        #expect(page.continueToken == "tok==")
        #expect(page.accounts == [
            ServiceAccount(namespace: "a", name: "default", resourceVersion: 5),
            ServiceAccount(namespace: "b", name: "app", annotations: ["vultr.com/role-arn": "r"], resourceVersion: 6),
        ])
        let last = #"{"metadata":{"resourceVersion":"78","continue":""},"items":null}"#
        let lastPage = try Array(last.utf8).withUnsafeBytes { try ServiceAccountListPage.decode($0, keeping: vultr) }
        #expect(lastPage.continueToken == nil && lastPage.accounts.isEmpty)
    }

    @Test func splitterCutsEventsAtNewlinesWhereverTheRunsEnd() throws {
        let events = #"{"a":1}"# + "\n\n" + #"{"b":"é"}"# + "\n" + #"{"c":3}"# + "\n"
        let bytes = Array(events.utf8)
        for cut in 1..<bytes.count {
            var splitter = WatchEventSplitter()
            var lines: [String] = []
            try splitter.feed(Array(bytes[..<cut])) { lines.append(String(decoding: $0, as: UTF8.self)) }
            try splitter.feed(Array(bytes[cut...])) { lines.append(String(decoding: $0, as: UTF8.self)) }
            #expect(lines == [#"{"a":1}"#, #"{"b":"é"}"#, #"{"c":3}"#])
            #expect(!splitter.hasPartialEvent)
        }
    }

    @Test func splitterRefusesAnEventLongerThanItsLimit() throws {
        var splitter = WatchEventSplitter(maximumEventBytes: 16)
        try splitter.feed(Array("0123456789".utf8)) { _ in }
        #expect(splitter.hasPartialEvent)
        #expect(throws: ServiceAccountDecodingError.self) { try splitter.feed(Array("0123456789".utf8)) { _ in } }
    }

    @Test func backoffGrowsWithJitterUpToItsMaximumAndResets() {
        var backoff = ReconnectBackoff()
        let pauses = (0..<10).map { _ in backoff.next(random: 0.999_999) }
        #expect(pauses[0] <= .milliseconds(500) && pauses[0] > .milliseconds(499))
        #expect(pauses[1] > .milliseconds(999) && pauses[9] <= .seconds(30))
        #expect(backoff.next(random: 0) == .seconds(15))
        backoff.reset()
        #expect(backoff.next(random: 0) == .milliseconds(250))
    }
}
