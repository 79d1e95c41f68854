#if canImport(Glibc)
import Glibc
#endif

/// The outcome of a non-blocking system call: its value, or "would block" (EAGAIN).
@usableFromInline
enum SyscallResult<Value> {
    case completed(Value)
    case wouldBlock
}

/// The one place that turns a raw system call's `-1`/errno into Swift.
///
/// Retries EINTR, returns EAGAIN/EWOULDBLOCK as `.wouldBlock`, throws `IOError` naming the call
/// for every other errno. EBADF and EFAULT are bugs in this process (a stale descriptor or a
/// bad pointer), so they stop it rather than travel as errors.
@usableFromInline
enum Syscall {
    @inlinable
    @inline(__always)
    static func run<Value: FixedWidthInteger>(
        _ call: String, _ body: () -> Value
    ) throws(IOError) -> SyscallResult<Value> {
        while true {
            let result = body()
            if result >= 0 { return .completed(result) }
            let code = errno
            switch code {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                return .wouldBlock
            case EBADF, EFAULT:
                preconditionFailure("\(call) failed with errno \(code): a bug in the caller")
            default:
                throw IOError.syscall(call, errno: code)
            }
        }
    }

    /// Like `run`, for calls that never return EAGAIN (blocking or setup calls).
    @inlinable
    @inline(__always)
    static func runBlocking<Value: FixedWidthInteger>(
        _ call: String, _ body: () -> Value
    ) throws(IOError) -> Value {
        switch try run(call, body) {
        case .completed(let value): return value
        case .wouldBlock: throw IOError.syscall(call, errno: EAGAIN)
        }
    }
}
