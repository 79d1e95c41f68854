import EventLoop

/// The bearer token for Kubernetes API requests: fixed, or read from a file that is re-read when
/// it changes.
///
/// Projected ServiceAccount tokens rotate (kubelet replaces the file, typically hourly, through a
/// symlink swap). A file-backed provider stats the file at most once per `checkInterval` and
/// re-reads it when its identity (device, inode, size, mtime) changed, and at least every
/// `rereadInterval` in any case. A failed re-read keeps the last good token and is retried at
/// the next check. `token()` does blocking file I/O only on those checks (a cache miss path).
public final class KubernetesTokenProvider: Sendable {
    private struct FileState {
        var token: String?
        var identity: ConfigurationFile.Identity?
        var checkedAt: Deadline
        var readAt: Deadline
    }

    private enum Source {
        case fixed(String)
        case file(path: String, checkInterval: Duration, rereadInterval: Duration, now: @Sendable () -> Deadline)
    }

    /// Token files larger than this are refused.
    static let maximumTokenBytes = 64 << 10

    private let source: Source
    private let fileState = LockedValue<FileState?>(nil)

    /// A provider that always returns `token`.
    public static func fixed(_ token: String) -> KubernetesTokenProvider {
        KubernetesTokenProvider(source: .fixed(token))
    }

    /// A provider reading the token from `path`.
    ///
    /// - Parameters:
    ///   - checkInterval: The least time between two checks of the file's identity.
    ///   - rereadInterval: The most time a token is used without reading the file again.
    ///   - now: The clock; tests pass a manual one.
    public convenience init(
        file path: String,
        checkInterval: Duration = .seconds(1),
        rereadInterval: Duration = .seconds(60),
        now: @escaping @Sendable () -> Deadline = { Deadline.now() }
    ) {
        self.init(source: .file(path: path, checkInterval: checkInterval, rereadInterval: rereadInterval, now: now))
    }

    private init(source: Source) {
        self.source = source
    }

    /// The file the token is read from; nil for a fixed token.
    public var path: String? {
        if case .file(let path, _, _, _) = source { return path }
        return nil
    }

    /// The current token.
    ///
    /// - Throws: `KubernetesConfigurationError` when the file has never been read successfully.
    public func token() throws(KubernetesConfigurationError) -> String {
        switch source {
        case .fixed(let token):
            return token
        case .file(let path, let checkInterval, let rereadInterval, let now):
            let now = now()
            return try fileState.withLock { (state: inout FileState?) throws(KubernetesConfigurationError) -> String in
                if let current = state, let token = current.token, now < current.checkedAt + checkInterval,
                   now < current.readAt + rereadInterval {
                    return token
                }
                let identity = ConfigurationFile.identity(path)
                if var current = state, let token = current.token, identity == current.identity,
                   now < current.readAt + rereadInterval {
                    current.checkedAt = now
                    state = current
                    return token
                }
                do throws(KubernetesConfigurationError) {
                    let token = try Self.read(path)
                    state = FileState(token: token, identity: identity, checkedAt: now, readAt: now)
                    return token
                } catch {
                    guard let token = state?.token else { throw error }
                    state?.checkedAt = now
                    return token
                }
            }
        }
    }

    private static func read(_ path: String) throws(KubernetesConfigurationError) -> String {
        let bytes: [UInt8]
        do {
            bytes = try ConfigurationFile.read(path, limit: maximumTokenBytes)
        } catch {
            throw KubernetesConfigurationError(subject: path, problem: error.description)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KubernetesConfigurationError(subject: path, problem: "the token is not UTF-8 text")
        }
        let token = text.trimmingASCIIWhitespace()
        guard !token.isEmpty else { throw KubernetesConfigurationError(subject: path, problem: "the token file is empty") }
        guard !token.utf8.contains(where: { $0 < 0x21 || $0 == 0x7f }) else {
            throw KubernetesConfigurationError(subject: path, problem: "the token contains whitespace or control characters")
        }
        return token
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs, CR and LF.
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}

/// The Kubernetes API cannot be configured or authenticated to: what (a variable, a file) and why.
public struct KubernetesConfigurationError: Error, Hashable, CustomStringConvertible {
    /// The environment variable or file the problem is about.
    public var subject: String
    /// What is wrong.
    public var problem: String

    public init(subject: String, problem: String) {
        self.subject = subject
        self.problem = problem
    }

    public var description: String { "Kubernetes API configuration: \(subject): \(problem)" }
}
