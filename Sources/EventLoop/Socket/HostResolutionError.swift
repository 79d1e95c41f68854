#if canImport(Glibc)
import Glibc
#endif

/// A host name that did not resolve to any address: the name and the resolver's reason
/// (`gai_strerror`, e.g. "Name or service not known").
public struct HostResolutionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The name that was looked up.
    public let host: String
    /// Why it did not resolve.
    public let reason: String

    public init(host: String, reason: String) {
        self.host = host
        self.reason = reason
    }

    /// The error for a failed `getaddrinfo` with result `code`.
    init(host: String, addressInfoError code: Int32) {
        let reason = code == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(code))
        self.init(host: host, reason: reason)
    }

    public var description: String { "cannot resolve host \"\(host)\": \(reason)" }
}
