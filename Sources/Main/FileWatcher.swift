import Admission
import CEventLoopShims
import EventLoop
#if canImport(Glibc)
import Glibc
#endif

/// Watches the directories holding some files with inotify and calls back, on its own thread,
/// after they change. Kubernetes updates a mounted Secret by swapping a `..data` symlink inside
/// the directory, so the directory, not the file, is what gets watched.
///
/// Only events naming a watched file, or Kubernetes' `..data` link, count: a change to another
/// file in the same directory (a log written beside the configuration, `/tmp`) calls nothing
/// back. Changes are debounced: the callback runs once the directory has been quiet for `settle`.
/// `stop()` (or releasing the watcher) ends and joins the thread, so no callback, which may be
/// inside OpenSSL reloading a certificate, runs while the process exits.
final class FileWatcher: @unchecked Sendable {
    private let descriptor: Int32
    /// Written once by `stop()` to wake the thread.
    private let stopEvent: Int32
    private let thread: pthread_t
    private let stopped = LockedValue(false)

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
        stopEvent = eventfd(0, Int32(EFD_CLOEXEC))
        guard stopEvent >= 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw ConfigurationError("eventfd for the certificate watcher failed: \(reason)")
        }
        let settleMilliseconds = Int32(clamping: settle.totalNanoseconds / 1_000_000)
        let names = Set(paths.map { String($0.split(separator: "/").last ?? Substring($0)) } + ["..data"])
        let context = Unmanaged.passRetained(WatchContext(
            descriptor: descriptor, stopEvent: stopEvent, settleMilliseconds: settleMilliseconds, names: names, onChange: onChange))
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            Unmanaged<WatchContext>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, context.toOpaque())
        precondition(result == 0, "pthread_create for the file watcher failed: \(result)")
        self.thread = thread
    }

    deinit { stop() }

    /// Ends the watch: wakes the thread, waits for a callback in progress to finish, joins the
    /// thread and closes the descriptors. Idempotent.
    func stop() {
        guard !stopped.withLock({ stopped in defer { stopped = true }; return stopped }) else { return }
        var one: UInt64 = 1
        _ = write(stopEvent, &one, MemoryLayout<UInt64>.size)
        pthread_join(thread, nil)
        close(descriptor)
        close(stopEvent)
    }

    private final class WatchContext {
        let descriptor: Int32
        let stopEvent: Int32
        let settleMilliseconds: Int32
        /// The file names whose events count.
        let names: Set<String>
        let onChange: @Sendable () -> Void

        init(descriptor: Int32, stopEvent: Int32, settleMilliseconds: Int32, names: Set<String>, onChange: @escaping @Sendable () -> Void) {
            self.descriptor = descriptor
            self.stopEvent = stopEvent
            self.settleMilliseconds = settleMilliseconds
            self.names = names
            self.onChange = onChange
        }

        /// Whether the events in `bytes` (as `read` returned them) name a watched file; a queue
        /// overflow, which loses names, counts too.
        func namesAWatchedFile(_ bytes: UnsafeRawBufferPointer) -> Bool {
            let header = MemoryLayout<inotify_event>.size
            var offset = 0
            while offset + header <= bytes.count {
                let event = bytes.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 { return true }
                let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[(offset + header)..<min(bytes.count, offset + header + Int(event.len))])
                let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                if names.contains(name) { return true }
                offset += header + Int(event.len)
            }
            return false
        }

        /// Until `stop()`: waits for an event naming a watched file, then until the directory is
        /// quiet, then calls back.
        func run() {
            CEventLoopShims_setThreadName("file-watcher")
            var buffer = [UInt8](repeating: 0, count: 4096)
            var fds = [
                pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stopEvent, events: Int16(POLLIN), revents: 0),
            ]
            var changed = false
            while true {
                let ready = Glibc.poll(&fds, 2, changed ? settleMilliseconds : -1)
                if ready < 0 { continue }
                if ready == 0 {
                    onChange()
                    changed = false
                    continue
                }
                if fds[1].revents != 0 { return }
                if fds[0].revents != 0 {
                    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                    if count > 0, buffer.withUnsafeBytes({ namesAWatchedFile(UnsafeRawBufferPointer(rebasing: $0[..<count])) }) {
                        changed = true
                    }
                }
            }
        }
    }
}
