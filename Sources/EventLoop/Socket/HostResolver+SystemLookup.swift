#if canImport(Glibc)
import Glibc
#endif

extension HostResolver {
    /// The system's answer for `host` (`getaddrinfo`: /etc/hosts, then DNS as nsswitch.conf
    /// says), in the order it sorted them (RFC 6724), without duplicates, with port 0. Blocks:
    /// called only on the resolver's own threads.
    public static func systemLookup(_ host: String) throws(HostResolutionError) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let result = getaddrinfo(host, nil, &hints, &list)
        guard result == 0 else { throw HostResolutionError(host: host, addressInfoError: result) }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var entry = list
        while let info = entry?.pointee {
            entry = info.ai_next
            guard let raw = info.ai_addr, info.ai_addrlen <= socklen_t(MemoryLayout<sockaddr_storage>.size) else { continue }
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: Int(info.ai_addrlen))) }
            if let address = withUnsafePointer(to: &storage, { SocketAddress($0) }), !addresses.contains(address) {
                addresses.append(address)
            }
        }
        guard !addresses.isEmpty else { throw HostResolutionError(host: host, reason: "no IPv4 or IPv6 address") }
        return addresses
    }
}
