import Foundation
import Glibc
import Synchronization
import Testing
@testable import EventLoop

/// The resolver: the system's answers, a cache with short positive and negative lifetimes,
/// one lookup for concurrent callers, deadlines, and a loop that keeps running meanwhile.
@Suite(.serialized) struct HostResolverTests {
    /// A lookup from a table that counts its calls and can be held (to act like a slow DNS).
    final class TableLookup: Sendable {
        let calls = Atomic<Int>(0)
        let delay: Duration
        let table: [String: [String]]

        init(_ table: [String: [String]], delay: Duration = .zero) {
            self.table = table
            self.delay = delay
        }

        func lookup(_ host: String) throws(HostResolutionError) -> [SocketAddress] {
            calls.add(1, ordering: .relaxed)
            if delay > .zero { usleep(UInt32(delay.components.seconds * 1_000_000 + delay.components.attoseconds / 1_000_000_000_000)) }
            guard let hosts = table[host] else { throw HostResolutionError(host: host, reason: "not in the table") }
            return hosts.map { try! SocketAddress(host: $0, port: 0) }
        }

        var count: Int { calls.load(ordering: .relaxed) }
    }

    private static func resolver(_ lookup: TableLookup, positiveTTL: Duration = .seconds(30), negativeTTL: Duration = .seconds(5)) -> HostResolver {
        var configuration = HostResolver.Configuration()
        configuration.positiveTTL = positiveTTL
        configuration.negativeTTL = negativeTTL
        return HostResolver(configuration: configuration) { host throws(HostResolutionError) in try lookup.lookup(host) }
    }

    private static func resolve(_ resolver: HostResolver, _ host: String, on loop: EventLoop, within: Duration = .seconds(5)) async throws -> [SocketAddress] {
        try await onLoop(loop) { try await resolver.resolve(host, port: 443, deadline: .after(within), on: loop) }
    }

    @Test func localhostResolvesThroughTheSystemWithThePortSet() async throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let addresses = try await Self.resolve(HostResolver(), "localhost", on: group.loops[0])
        #expect(addresses.contains(try SocketAddress(host: "127.0.0.1", port: 443)), "\(addresses)")
        #expect(addresses.allSatisfy { $0.port == 443 })
    }

    @Test func anInvalidNameFailsNamingTheHost() async throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let host = "irsa-webhook-resolver-test.invalid"  // RFC 6761: never resolves; one lookup
        await #expect { try await Self.resolve(HostResolver(), host, on: group.loops[0]) } throws: { error in
            guard let error = error as? HostResolutionError else { return false }
            return error.host == host && error.description.hasPrefix("cannot resolve host \"\(host)\": ")
        }
    }

    @Test func numericHostsNeedNoLookup() async throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let table = TableLookup([:])
        let resolver = Self.resolver(table)
        #expect(try await Self.resolve(resolver, "127.0.0.1", on: group.loops[0]) == [try SocketAddress(host: "127.0.0.1", port: 443)])
        #expect(try await Self.resolve(resolver, "::1", on: group.loops[0]) == [try SocketAddress(host: "::1", port: 443)])
        #expect(table.count == 0)
    }

    @Test func answersKeepTheirOrderAndAreCachedForTheirLifetime() async throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let table = TableLookup(["api.test": ["::1", "127.0.0.1"]])
        let resolver = Self.resolver(table, positiveTTL: .seconds(2))
        let expected = [try SocketAddress(host: "::1", port: 443), try SocketAddress(host: "127.0.0.1", port: 443)]
        #expect(try await Self.resolve(resolver, "api.test", on: group.loops[0]) == expected)
        #expect(try await Self.resolve(resolver, "api.test", on: group.loops[0]) == expected)
        #expect(table.count == 1, "the second answer came from the cache")
        try await Task.sleep(for: .milliseconds(2_100))
        #expect(try await Self.resolve(resolver, "api.test", on: group.loops[0]) == expected)
        #expect(table.count == 2, "an expired answer is looked up again")
    }

    @Test func failuresAreRememberedBriefly() async throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let table = TableLookup([:])
        let resolver = Self.resolver(table, negativeTTL: .seconds(2))
        for _ in 0..<3 {
            await #expect(throws: HostResolutionError.self) { try await Self.resolve(resolver, "missing.test", on: group.loops[0]) }
        }
        #expect(table.count == 1)
        try await Task.sleep(for: .milliseconds(2_100))
        await #expect(throws: HostResolutionError.self) { try await Self.resolve(resolver, "missing.test", on: group.loops[0]) }
        #expect(table.count == 2)
    }

    @Test func concurrentCallersShareOneLookupWhileTheLoopKeepsRunning() async throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let table = TableLookup(["slow.test": ["127.0.0.1"]], delay: .milliseconds(300))
        let resolver = Self.resolver(table)
        let ticks = Atomic<Int>(0)
        let ticker = Task(executorPreference: loop) {
            while !Task.isCancelled {
                ticks.add(1, ordering: .relaxed)
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        let answers = try await withThrowingTaskGroup(of: [SocketAddress].self) { tasks in
            for _ in 0..<50 { tasks.addTask { try await Self.resolve(resolver, "slow.test", on: loop) } }
            return try await tasks.reduce(into: []) { $0.append($1) }
        }
        ticker.cancel()
        #expect(answers.count == 50 && answers.allSatisfy { $0 == [try! SocketAddress(host: "127.0.0.1", port: 443)] })
        #expect(table.count == 1)
        #expect(ticks.load(ordering: .relaxed) >= 5, "the loop ran other work during the 300 ms lookup")
    }

    @Test func theDeadlineEndsTheWaitNotTheLookup() async throws {
        let group = EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let table = TableLookup(["slow.test": ["127.0.0.1"]], delay: .seconds(3))
        let resolver = Self.resolver(table)
        let start = Deadline.now()
        await #expect { try await Self.resolve(resolver, "slow.test", on: group.loops[0], within: .milliseconds(50)) } throws: { error in
            (error as? IOError)?.code == .timedOut
        }
        #expect(Deadline.now().duration(since: start) < .seconds(2), "the wait ended at its deadline, before the 3 s lookup")
        #expect(await eventually { table.count == 1 })
        try await Task.sleep(for: .milliseconds(3_200))
        #expect(try await Self.resolve(resolver, "slow.test", on: group.loops[0]).count == 1)
        #expect(table.count == 1, "the finished lookup filled the cache")
    }
}
