import CSystemd
#if canImport(Glibc)
import Glibc
#endif

/// systemd integration through libsystemd: readiness and status notifications, the watchdog,
/// and socket activation. Every call is a no-op outside systemd (no NOTIFY_SOCKET, no LISTEN_FDS).
enum Systemd {
    /// Sends `state` (e.g. "READY=1\nSTATUS=serving") to the service manager; false when not under systemd.
    @discardableResult
    static func notify(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    /// The interval at which to send WATCHDOG=1 (half of WATCHDOG_USEC), or nil when the watchdog is off.
    static func watchdogInterval() -> Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds / 2))
    }

    /// Descriptors passed by socket activation (LISTEN_FDS), starting at SD_LISTEN_FDS_START.
    /// The environment variables are unset so that child processes do not inherit them.
    static func listenDescriptors() -> [Int32] {
        let count = sd_listen_fds(1)
        guard count > 0 else { return [] }
        return (0..<count).map { Int32(SD_LISTEN_FDS_START) + $0 }
    }
}
