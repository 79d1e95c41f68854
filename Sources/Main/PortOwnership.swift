import EventLoop

/// One port, one process. The listeners of one process share their port through SO_REUSEPORT
/// (one per event loop), which would let a second irsa-webhook on the same address bind too and
/// silently take half the connections (and answer half the /metrics scrapes with its own
/// counters). So at start each port is probed first, and a port another process listens on is
/// a configuration error, unless `--reuse-port` asks for exactly that: a handover, where the new
/// process starts beside the old one and the old one is then stopped with SIGTERM.
enum PortOwnership {
    /// Throws when another process listens on `host:port`; `flag` names the port's option.
    /// Port 0 (the kernel picks a free port) needs no check.
    static func ensureUnclaimed(host: String, port: UInt16, flag: String) throws(ConfigurationError) {
        guard port != 0 else { return }
        let taken: Bool
        do {
            taken = try ListeningSocket.isListenedOn(try SocketAddress(host: host, port: port))
        } catch {
            throw ConfigurationError("cannot listen on \(host):\(port) (\(flag)): \(error)")
        }
        if taken {
            throw ConfigurationError(
                "another process already listens on \(host):\(port) (\(flag)); stop it first, or pass --reuse-port "
                    + "to start beside it for a handover (then stop the old process with SIGTERM)")
        }
    }
}
