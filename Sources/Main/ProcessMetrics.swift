#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` metrics operators' dashboards expect (as Prometheus's client
/// libraries export them), read from /proc at scrape time: CPU seconds, resident and virtual
/// memory, open and maximum descriptors, start time.
enum ProcessMetrics {
    /// The metrics in the Prometheus text format; empty when /proc cannot be read.
    static func render() -> String {
        guard let stat = readFile("/proc/self/stat"), let closing = stat.lastIndex(of: ")") else { return "" }
        // Fields after the command name, which may hold spaces: the state is field 3.
        let fields = stat[stat.index(after: closing)...].split(separator: " ")
        func field(_ number: Int) -> Double { Double(fields.count > number - 3 ? fields[number - 3] : "") ?? 0 }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        var text = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: Double) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", (field(14) + field(15)) / ticks)
        metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", field(24) * pageSize)
        metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", field(23))
        metric("process_open_fds", "gauge", "Number of open file descriptors.", Double(openDescriptors()))
        metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", Double(limit.rlim_cur))
        if let boot = bootTime() {
            metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", boot + field(22) / ticks)
        }
        return text
    }

    /// Entries of /proc/self/fd, less the one this count opens.
    private static func openDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count - 1
    }

    /// The `btime` line of /proc/stat: boot time in seconds since the epoch.
    private static func bootTime() -> Double? {
        readFile("/proc/stat")?.split(separator: "\n").first { $0.hasPrefix("btime ") }.flatMap { Double($0.dropFirst(6)) }
    }

    private static func readFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
