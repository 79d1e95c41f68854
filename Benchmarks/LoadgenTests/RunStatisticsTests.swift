import Testing
@testable import loadgen

/// Latency kept apart by body size, so that the 1 MiB outliers' own latency is visible.
@Suite struct RunStatisticsTests {
    private static let large = RunStatistics.largeBodyBytes

    @Test func splitStartsAtTheFirstLargeBodyAndKeepsEarlierSmallOnes() {
        var statistics = RunStatistics()
        statistics.recordSuccess(nanoseconds: 100_000, bodyBytes: 4_800)
        statistics.recordSuccess(nanoseconds: 200_000, bodyBytes: Self.large - 1)
        #expect(statistics.latencyBySize == nil)
        statistics.recordSuccess(nanoseconds: 40_000_000, bodyBytes: Self.large)
        statistics.recordSuccess(nanoseconds: 300_000, bodyBytes: 2_048)
        let bySize = try! #require(statistics.latencyBySize)
        #expect(statistics.latency.totalCount == 4)
        #expect(bySize.small.totalCount == 3)
        #expect(bySize.large.totalCount == 1)
        #expect(bySize.small.max < 1_000_000)
        #expect(bySize.large.min > 39_000_000)
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func mergeKeepsTheSplitWhicheverSideHasIt(_ leftHasLarge: Bool, _ rightHasLarge: Bool) {
        var left = RunStatistics(), right = RunStatistics()
        left.recordSuccess(nanoseconds: 100_000, bodyBytes: 1_000)
        right.recordSuccess(nanoseconds: 100_000, bodyBytes: 1_000)
        if leftHasLarge { left.recordSuccess(nanoseconds: 50_000_000, bodyBytes: Self.large) }
        if rightHasLarge { right.recordSuccess(nanoseconds: 50_000_000, bodyBytes: Self.large) }
        left.merge(right)
        let largeCount = (leftHasLarge ? 1 : 0) + (rightHasLarge ? 1 : 0)
        #expect(left.latency.totalCount == UInt64(2 + largeCount))
        if largeCount == 0 {
            #expect(left.latencyBySize == nil)
        } else {
            #expect(left.latencyBySize?.small.totalCount == 2)
            #expect(left.latencyBySize?.large.totalCount == UInt64(largeCount))
        }
    }

    @Test func reportsShowTheSplit() {
        var statistics = RunStatistics()
        statistics.recordSuccess(nanoseconds: 500_000, bodyBytes: 1_000)
        statistics.recordSuccess(nanoseconds: 30_000_000, bodyBytes: 1 << 20)
        let report = RunReport(target: "https://127.0.0.1:1/mutate", mode: "closed loop", connections: 1, threads: 1,
                               measuredSeconds: 1, statistics: statistics)
        #expect(report.text.contains("bodies under 256 KiB  1 requests, p50 500"))
        #expect(report.text.contains("bodies from 256 KiB   1 requests, p50 30000"))
        #expect(report.json.contains(#""from256KiB":{"requests":1,"p50":30000.0,"p99":30000.0,"p999":30000.0,"max":30015.5}"#))
    }
}
