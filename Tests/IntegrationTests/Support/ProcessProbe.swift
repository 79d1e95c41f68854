import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What /proc tells about a running child process: its open descriptors.
struct ProcessProbe {
    let pid: Int32

    /// Descriptors open in the process now (entries of /proc/PID/fd); nil once it is gone.
    var openDescriptors: Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
    }

    /// What each open descriptor is (`socket:[inode]`, `anon_inode:[eventfd]`, a path), sorted.
    var descriptorTargets: [String] {
        let directory = "/proc/\(pid)/fd"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)") }
            .map { $0.hasPrefix("socket:") ? "socket" : $0 }.sorted()
    }

    /// Waits until the process has at most `count` descriptors open, or `timeout` passes;
    /// returns the last count seen (nil when the process is gone).
    func waitForDescriptors(atMost count: Int, timeout: Duration) async throws -> Int? {
        let deadline = ContinuousClock.now + timeout
        var open = openDescriptors
        while let current = open, current > count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            open = openDescriptors
        }
        return open
    }

    /// Raises this process's soft RLIMIT_NOFILE to at least `minimum` (up to the hard limit), so
    /// that it and the children it starts can hold that many descriptors; returns the soft limit.
    static func raiseDescriptorLimit(to minimum: Int) -> Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < rlim_t(minimum) {
            limit.rlim_cur = min(rlim_t(minimum), limit.rlim_max)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return Int(limit.rlim_cur)
    }
}
