#if canImport(Glibc)
import Glibc
#endif

/// An HTTP request method (a token such as `GET`); methods are case-sensitive.
public struct HTTPMethod: Hashable, Sendable, CustomStringConvertible {
    /// The method token as sent on the wire.
    public let rawValue: String

    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// The method named by `token` (validated bytes): the common methods without making a string.
    init(token: UnsafeRawBufferPointer) {
        switch token.count {
        case 3 where HTTPMethod.matches(token, "GET"): self = .GET
        case 4 where HTTPMethod.matches(token, "POST"): self = .POST
        case 4 where HTTPMethod.matches(token, "HEAD"): self = .HEAD
        case 3 where HTTPMethod.matches(token, "PUT"): self = .PUT
        default: self.init(String(decoding: token, as: UTF8.self))
        }
    }

    @inline(__always)
    private static func matches(_ token: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        memcmp(token.baseAddress!, name.utf8Start, token.count) == 0
    }

    public static let GET = HTTPMethod("GET")
    public static let HEAD = HTTPMethod("HEAD")
    public static let POST = HTTPMethod("POST")
    public static let PUT = HTTPMethod("PUT")
    public static let PATCH = HTTPMethod("PATCH")
    public static let DELETE = HTTPMethod("DELETE")
    public static let OPTIONS = HTTPMethod("OPTIONS")
    public static let CONNECT = HTTPMethod("CONNECT")
    public static let TRACE = HTTPMethod("TRACE")

    /// Whether repeating the request has the same effect as sending it once (RFC 9110 9.2.2),
    /// so a client may retry it on a fresh connection.
    public var isIdempotent: Bool {
        switch self {
        case .GET, .HEAD, .PUT, .DELETE, .OPTIONS, .TRACE: return true
        default: return false
        }
    }

    public var description: String { rawValue }
}

/// An HTTP/1.x protocol version.
public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    public var description: String { "HTTP/\(major).\(minor)" }
}
