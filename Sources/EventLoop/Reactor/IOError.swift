#if canImport(Glibc)
import Glibc
#endif

/// A failed I/O operation: the system call (or operation) that failed and why.
///
/// A struct with static codes rather than an enum, so that new kinds can be added
/// without breaking callers that switch over it.
public struct IOError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// A system call returned an error; `errorNumber` holds errno.
        public static let syscall = Code(name: "syscall")
        /// A deadline passed before the operation could complete.
        public static let timedOut = Code(name: "timed out")
        /// The stream was closed (locally, or by the peer before the operation completed).
        public static let closed = Code(name: "closed")
        public var description: String { name }
    }

    /// The kind of failure.
    public let code: Code
    /// The system call or operation that failed, e.g. `"recv"` or `"read head"`.
    public let call: String
    /// errno for `.syscall`, else 0.
    public let errorNumber: Int32

    public init(code: Code, call: String, errorNumber: Int32 = 0) {
        self.code = code
        self.call = call
        self.errorNumber = errorNumber
    }

    /// A system call failure with the current errno.
    public static func syscall(_ call: String, errno errorNumber: Int32) -> IOError {
        IOError(code: .syscall, call: call, errorNumber: errorNumber)
    }

    /// `call` did not complete before its deadline.
    public static func timedOut(_ call: String) -> IOError {
        IOError(code: .timedOut, call: call)
    }

    /// `call` found the stream closed.
    public static func closed(_ call: String) -> IOError {
        IOError(code: .closed, call: call)
    }

    /// Whether a read's deadline passed. A TLS read can also fail with the timeout of a write
    /// it made (a KeyUpdate reply), which is no reason to read on.
    public var isReadTimeout: Bool {
        code == .timedOut && call == "read"
    }

    public var description: String {
        switch code {
        case .syscall:
            return "\(call) failed: \(String(cString: strerror(errorNumber))) (errno \(errorNumber))"
        default:
            return "\(call): \(code)"
        }
    }
}
