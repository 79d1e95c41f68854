import CEventLoopShims
import EventLoop
#if canImport(Glibc)
import Glibc
#endif

/// Where log lines go: a bounded buffer that one writer thread drains into a descriptor
/// (standard error), so a stalled reader (a full pipe, a slow journald) never blocks an event
/// loop. When the buffer is full a line is dropped and counted (`droppedLines`, exported as
/// `irsa_log_lines_dropped_total`); `flush(within:)` writes out what is buffered at exit.
final class LogSink: Sendable {
    /// Standard error, buffering up to 1 MiB of lines.
    static let standardError = LogSink(descriptor: 2, capacityBytes: 1 << 20)

    private let descriptor: Int32
    private let capacityBytes: Int
    /// Counts lines appended to an empty buffer; the writer sleeps reading it.
    private let wakeup: Int32
    private let state = LockedValue(State())

    private struct State {
        var lines: [[UInt8]] = []
        var bufferedBytes = 0
        /// True while the writer holds a batch it has not written out yet.
        var writing = false
        var dropped = 0
    }

    init(descriptor: Int32, capacityBytes: Int) {
        self.descriptor = descriptor
        self.capacityBytes = capacityBytes
        wakeup = eventfd(0, Int32(EFD_CLOEXEC))
        precondition(wakeup >= 0, "eventfd for the log writer failed: \(errno)")
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            CEventLoopShims_setThreadName("log-writer")  // else it inherits its creator's name
            Unmanaged<LogSink>.fromOpaque(context!).takeRetainedValue().runWriter()
            return nil
        }, context)
        precondition(result == 0, "pthread_create for the log writer failed: \(result)")
        pthread_detach(thread)
    }

    /// Queues one whole line (with its newline); drops it when the buffer is full. Any thread, never blocks on I/O.
    func write(_ line: [UInt8]) {
        let wasEmpty = state.withLock { state -> Bool? in
            guard state.bufferedBytes + line.count <= capacityBytes else {
                state.dropped += 1
                return nil
            }
            state.lines.append(line)
            state.bufferedBytes += line.count
            return state.lines.count == 1
        }
        if wasEmpty == true {
            var one: UInt64 = 1
            _ = Glibc.write(wakeup, &one, MemoryLayout<UInt64>.size)
        }
    }

    /// Lines dropped so far because the buffer was full.
    var droppedLines: Int {
        state.withLock { $0.dropped }
    }

    /// Waits until every buffered line was written, or `timeout` passed (the reader may have
    /// stopped for good); returns whether everything was written.
    @discardableResult
    func flush(within timeout: Duration) -> Bool {
        let deadline = Deadline.after(timeout)
        while state.withLock({ !$0.lines.isEmpty || $0.writing }) {
            guard Deadline.now() < deadline else { return false }
            usleep(5_000)
        }
        return true
    }

    /// The writer thread: takes every buffered line at once and writes them one by one (each
    /// line in whole writes, so lines never interleave), then sleeps until more arrive.
    private func runWriter() {
        while true {
            let batch = state.withLock { state in
                let batch = state.lines
                state.lines.removeAll(keepingCapacity: true)
                state.writing = !batch.isEmpty
                return batch
            }
            if batch.isEmpty {
                var count: UInt64 = 0
                _ = read(wakeup, &count, MemoryLayout<UInt64>.size)
                continue
            }
            for line in batch { writeFully(line) }
            let written = batch.reduce(0) { $0 + $1.count }
            state.withLock { state in
                state.bufferedBytes -= written  // counted until written: the bound covers this batch too
                state.writing = false
            }
        }
    }

    private func writeFully(_ line: [UInt8]) {
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 { if errno == EINTR { continue } else { return } }
                offset += written
            }
        }
    }
}
