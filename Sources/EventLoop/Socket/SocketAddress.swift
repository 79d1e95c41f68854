#if canImport(Glibc)
import Glibc
#endif

/// A numeric IPv4 or IPv6 address with a port.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// An address string that is not a numeric IPv4/IPv6 host or `host:port`.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The text that could not be parsed.
        public let input: String
        /// What is wrong with it.
        public let reason: String
        public var description: String { "invalid socket address \"\(input)\": \(reason)" }
    }

    private enum Storage: Sendable {
        case v4(sockaddr_in)
        case v6(sockaddr_in6)
    }

    private var storage: Storage

    /// `host` must be numeric: "127.0.0.1", "::1", "0.0.0.0", "::".
    public init(host: String, port: UInt16) throws(ParseError) {
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            storage = .v4(v4)
            return
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            storage = .v6(v6)
            return
        }
        throw ParseError(input: host, reason: "not a numeric IPv4 or IPv6 address")
    }

    /// Parses "127.0.0.1:8443" or "[::1]:8443".
    public init(parsing text: String) throws(ParseError) {
        let host: Substring
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"),
                  text[text.index(after: close)...].hasPrefix(":") else {
                throw ParseError(input: text, reason: "expected [IPv6]:port")
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ParseError(input: text, reason: "expected host:port")
            }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
            if host.contains(":") { throw ParseError(input: text, reason: "an IPv6 host needs brackets: [host]:port") }
        }
        guard let portNumber = UInt16(port) else {
            throw ParseError(input: text, reason: "port must be a number from 0 to 65535")
        }
        do {
            try self.init(host: String(host), port: portNumber)
        } catch {
            throw ParseError(input: text, reason: error.reason)
        }
    }

    /// Reads an address filled in by the kernel (accept, getsockname); nil for other families.
    init?(_ address: UnsafePointer<sockaddr_storage>) {
        switch Int32(address.pointee.ss_family) {
        case AF_INET:
            storage = .v4(UnsafeRawPointer(address).load(as: sockaddr_in.self))
        case AF_INET6:
            storage = .v6(UnsafeRawPointer(address).load(as: sockaddr_in6.self))
        default:
            return nil
        }
    }

    /// The numeric host, e.g. "127.0.0.1" or "::1".
    public var host: String {
        get {
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            switch storage {
            case .v4(var address):
                inet_ntop(AF_INET, &address.sin_addr, &buffer, socklen_t(buffer.count))
            case .v6(var address):
                inet_ntop(AF_INET6, &address.sin6_addr, &buffer, socklen_t(buffer.count))
            }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        set {
            guard let replacement = try? SocketAddress(host: newValue, port: port) else {
                preconditionFailure("SocketAddress.host set to a non-numeric host \"\(newValue)\"")
            }
            self = replacement
        }
    }

    /// The port in host byte order.
    public var port: UInt16 {
        get {
            switch storage {
            case .v4(let address): return UInt16(bigEndian: address.sin_port)
            case .v6(let address): return UInt16(bigEndian: address.sin6_port)
            }
        }
        set {
            switch storage {
            case .v4(var address):
                address.sin_port = newValue.bigEndian
                storage = .v4(address)
            case .v6(var address):
                address.sin6_port = newValue.bigEndian
                storage = .v6(address)
            }
        }
    }

    /// AF_INET or AF_INET6.
    var family: Int32 {
        switch storage {
        case .v4: return AF_INET
        case .v6: return AF_INET6
        }
    }

    public var description: String {
        switch storage {
        case .v4: return "\(host):\(port)"
        case .v6: return "[\(host)]:\(port)"
        }
    }

    /// Calls `body` with the address as a `sockaddr` pointer and its length.
    func withSocketAddress<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(IOError) -> Result) throws(IOError) -> Result {
        switch storage {
        case .v4(var address):
            return try withUnsafeBytes(of: &address) { (bytes) throws(IOError) -> Result in
                try body(bytes.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(bytes.count))
            }
        case .v6(var address):
            return try withUnsafeBytes(of: &address) { (bytes) throws(IOError) -> Result in
                try body(bytes.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(bytes.count))
            }
        }
    }

    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        lhs.family == rhs.family && lhs.port == rhs.port && lhs.rawHost == rhs.rawHost
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(family)
        hasher.combine(port)
        hasher.combine(rawHost)
    }

    /// The address bytes in network order (4 or 16), for equality and hashing.
    private var rawHost: [UInt8] {
        switch storage {
        case .v4(var address): return withUnsafeBytes(of: &address.sin_addr) { Array($0) }
        case .v6(var address): return withUnsafeBytes(of: &address.sin6_addr) { Array($0) }
        }
    }
}
