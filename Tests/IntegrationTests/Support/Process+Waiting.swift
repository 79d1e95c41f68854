import Foundation

/// Bounded waits on a child process, shared by `WebhookProcess` and `LoadgenProcess`.
extension Process {
    /// Waits until `read()` (what the process has written so far) contains `text`, the process
    /// exits (then it looks once more), or `timeout` passes.
    func waitUntil(_ read: () -> String, contains text: String, timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if read().contains(text) { return true }
            if !isRunning { return read().contains(text) }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Waits up to `timeout` for the exit; returns the status, nil on timeout.
    func waitForExit(timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        return isRunning ? nil : terminationStatus
    }
}
