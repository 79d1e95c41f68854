import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What /proc tells about a running child process: its open descriptors and its threads.
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

    /// One thread as `/proc/PID/task/TID` shows it.
    struct ThreadSample: Equatable {
        let id: Int
        /// `comm`: the name the thread gave itself (`event-loop-0`), else the program's.
        let name: String
        /// `voluntary_ctxt_switches`: how often it blocked, i.e. how often it was woken.
        let voluntarySwitches: Int
    }

    /// The process's threads, sorted by id; nil once the process is gone.
    var threads: [ThreadSample]? {
        let directory = "/proc/\(pid)/task"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return nil }
        return entries.compactMap { entry -> ThreadSample? in
            guard let id = Int(entry),
                  let name = try? String(contentsOfFile: "\(directory)/\(entry)/comm", encoding: .utf8),
                  let status = try? String(contentsOfFile: "\(directory)/\(entry)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("voluntary_ctxt_switches:") }),
                  let switches = Int(line.split(separator: "\t").last?.trimmingCharacters(in: .whitespaces) ?? "")
            else { return nil }
            return ThreadSample(id: id, name: name.trimmingCharacters(in: .whitespacesAndNewlines), voluntarySwitches: switches)
        }.sorted { $0.id < $1.id }
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
