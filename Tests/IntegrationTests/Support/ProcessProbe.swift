import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What /proc tells about a running child process: open descriptors, resident memory and CPU time.
struct ProcessProbe {
    let pid: Int32

    /// Descriptors open in the process now (entries of /proc/PID/fd); nil once it is gone.
    var openDescriptors: Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
    }

    /// Resident set size in bytes (VmRSS of /proc/PID/status); nil once the process is gone.
    var residentBytes: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kibibytes = Int(fields[1]) { return kibibytes * 1024 }
        }
        return nil
    }

    /// User plus system CPU time consumed so far, in seconds (/proc/PID/stat fields 14 and 15).
    var cpuSeconds: Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)" start at field 3, the state.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
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
    @discardableResult
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
