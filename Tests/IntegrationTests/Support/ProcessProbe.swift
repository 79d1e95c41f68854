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

    /// What each open descriptor is, sorted, leaving out the anonymous ones (eventfd, timerfd,
    /// epoll, inotify) that the runtime may open lazily: sockets (`socket`, without the inode),
    /// pipes and files. Nil once the process is gone.
    var connectionsAndFiles: [String]? {
        let directory = "/proc/\(pid)/fd"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return nil }
        return entries.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)") }
            .filter { !$0.hasPrefix("anon_inode:") }
            .map { $0.hasPrefix("socket:") ? "socket" : $0 }
            .sorted()
    }

    /// Waits until `connectionsAndFiles` equals `expected`, or `timeout` passes; returns the
    /// last value seen (nil when the process is gone).
    func waitForConnectionsAndFiles(_ expected: [String], timeout: Duration) async throws -> [String]? {
        let deadline = ContinuousClock.now + timeout
        var current = connectionsAndFiles
        while let seen = current, seen != expected, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            current = connectionsAndFiles
        }
        return current
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
