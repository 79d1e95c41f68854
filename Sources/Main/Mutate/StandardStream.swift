#if canImport(Glibc)
import Glibc
#endif

/// Whole writes to standard output and standard error, for the commands that print results.
enum StandardStream {
    /// Writes `text` to standard output as it is.
    static func output(_ text: String) {
        write(text, to: 1)
    }

    /// Writes `line` and a newline to standard error.
    static func error(_ line: String) {
        write(line + "\n", to: 2)
    }

    private static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
