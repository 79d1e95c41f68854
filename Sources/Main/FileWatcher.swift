import Admission
import CEventLoopShims
#if canImport(Glibc)
import Glibc
#endif

/// Watches the directories holding some files with inotify and calls back, on its own thread,
/// after they change. Kubernetes updates a mounted Secret by swapping a `..data` symlink inside
/// the directory, so the directory, not the file, is what gets watched.
///
/// Changes are debounced: the callback runs once the directory has been quiet for `settle`.
final class FileWatcher: @unchecked Sendable {
    private let descriptor: Int32

    /// Starts watching the directories of `paths`; throws when inotify cannot be set up.
    init(paths: [String], settle: Duration = .milliseconds(200), onChange: @escaping @Sendable () -> Void) throws(ConfigurationError) {
        descriptor = inotify_init1(Int32(IN_CLOEXEC))
        guard descriptor >= 0 else {
            throw ConfigurationError("inotify_init1 failed: \(String(cString: strerror(errno)))")
        }
        let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_ATTRIB)
        for directory in Set(paths.map(ConfigurationFile.directory(of:))) {
            guard inotify_add_watch(descriptor, directory, mask) >= 0 else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw ConfigurationError("cannot watch \(directory) for changes: \(reason)")
            }
        }
        let settleMilliseconds = Int32(clamping: settle.totalNanoseconds / 1_000_000)
        let context = Unmanaged.passRetained(WatchContext(descriptor: descriptor, settleMilliseconds: settleMilliseconds, onChange: onChange))
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            Unmanaged<WatchContext>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, context.toOpaque())
        precondition(result == 0, "pthread_create for the file watcher failed: \(result)")
        pthread_detach(thread)
    }

    private final class WatchContext {
        let descriptor: Int32
        let settleMilliseconds: Int32
        let onChange: @Sendable () -> Void

        init(descriptor: Int32, settleMilliseconds: Int32, onChange: @escaping @Sendable () -> Void) {
            self.descriptor = descriptor
            self.settleMilliseconds = settleMilliseconds
            self.onChange = onChange
        }

        func run() {
            CEventLoopShims_setThreadName("file-watcher")
            var buffer = [UInt8](repeating: 0, count: 4096)
            var poll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            while true {
                // Wait for the first event, then until the directory is quiet.
                guard Glibc.poll(&poll, 1, -1) > 0 else { continue }
                repeat {
                    _ = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                } while Glibc.poll(&poll, 1, settleMilliseconds) > 0
                onChange()
            }
        }
    }
}
