#if canImport(Glibc)
import Glibc
#endif

/// Reading the small configuration files the Kubernetes configuration and the static
/// ServiceAccount file come from, with a size limit so a wrong path (a device, a huge log)
/// fails clearly instead of exhausting memory.
public enum ConfigurationFile {
    /// Why a file could not be read; `description` reads "<reason>" for embedding in an error.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// What identifies a file's current contents cheaply: a change means it was rewritten or
    /// replaced (kubelet swaps projected token files through a symlink, which changes the inode).
    struct Identity: Hashable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
    }

    /// The whole file, at most `limit` bytes.
    public static func read(_ path: String, limit: Int) throws(Failure) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(description: "cannot open: \(errorText(errno))") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw Failure(description: "cannot stat: \(errorText(errno))") }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw Failure(description: "not a regular file") }
        guard status.st_size <= limit else {
            throw Failure(description: "\(status.st_size) bytes, more than the limit of \(limit)")
        }
        return try read(descriptor: descriptor, limit: limit)
    }

    /// Everything left to read from `descriptor` (a file, a pipe), at most `limit` bytes.
    static func read(descriptor: Int32, limit: Int) throws(Failure) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "cannot read: \(errorText(errno))")
            }
            filled += count
        }
        guard filled <= limit else { throw Failure(description: "more than the limit of \(limit) bytes") }
        bytes.removeSubrange(filled...)
        return bytes
    }

    /// The file's identity, following symlinks; nil when it cannot be stat'ed.
    static func identity(_ path: String) -> Identity? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Identity(
            device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
            modifiedSeconds: status.st_mtim.tv_sec, modifiedNanoseconds: status.st_mtim.tv_nsec)
    }

    /// The directory part of `path` ("." when it has none), for resolving relative paths.
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `path` resolved against `directory` unless it is absolute.
    static func resolve(_ path: String, against directory: String) -> String {
        path.hasPrefix("/") ? path : (directory.hasSuffix("/") ? directory + path : directory + "/" + path)
    }

    private static func errorText(_ number: Int32) -> String {
        "\(String(cString: strerror(number))) (errno \(number))"
    }
}
