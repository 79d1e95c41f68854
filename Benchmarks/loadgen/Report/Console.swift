#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered writes to standard output and standard error (progress lines and reports).
enum Console {
    /// Writes `line` and a newline to standard error.
    static func error(_ line: String) { writeAll(line + "\n", to: 2) }

    /// Writes `line` and a newline to standard output.
    static func output(_ line: String) { writeAll(line + "\n", to: 1) }

    private static func writeAll(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}
