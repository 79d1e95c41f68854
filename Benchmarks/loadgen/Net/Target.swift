/// Where the load goes: `https://HOST:PORT/PATH`, HOST an IPv4 literal or `localhost`.
struct Target: Sendable, CustomStringConvertible {
    let host: String
    let port: UInt16
    let path: String

    /// Parses an https URL; loadgen only speaks TLS.
    init?(url: String) {
        guard url.hasPrefix("https://") else { return nil }
        let rest = url.dropFirst("https://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        guard let colon = authority.lastIndex(of: ":"), let port = UInt16(authority[authority.index(after: colon)...]), port > 0
        else { return nil }
        let host = String(authority[..<colon])
        guard !host.isEmpty else { return nil }
        self.host = host == "localhost" ? "127.0.0.1" : host
        self.port = port
        self.path = path.isEmpty ? "/" : String(path)
    }

    var description: String { "https://\(host):\(port)\(path)" }
}
