import Foundation

/// A child process for tests (openssl, curl, python3), always bounded by a timeout and killed
/// if the test gives up on it.
final class TLSTestProcess: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The outcome of a finished process.
    struct Result: Sendable {
        let status: Int32
        let standardOutput: String
        let standardError: String
        var succeeded: Bool { status == 0 }
    }

    private let process = Process()
    private let outputPipe = Pipe()
    private let errorPipe = Pipe()
    private let inputPipe = Pipe()
    private let lock = NSLock()
    private var output = Data()
    private var errors = Data()

    /// Starts `executable` (looked up in PATH) with `arguments`, in `directory` if given.
    init(_ executable: String, _ arguments: [String], directory: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        process.standardInput = inputPipe
        outputPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }  // EOF: stop polling
            guard let self else { return }
            self.lock.withLock { self.output.append(data) }
        }
        errorPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }  // EOF: stop polling
            guard let self else { return }
            self.lock.withLock { self.errors.append(data) }
        }
        try process.run()
    }

    deinit {
        kill()
        outputPipe.fileHandleForReading.readabilityHandler = nil
        errorPipe.fileHandleForReading.readabilityHandler = nil
    }

    /// Runs a process to completion within `timeout`; kills it and throws if it takes longer.
    static func run(_ executable: String, _ arguments: [String], directory: String? = nil, input: String? = nil, timeout: Duration = .seconds(20)) async throws -> Result {
        let child = try TLSTestProcess(executable, arguments, directory: directory)
        if let input { child.send(input) }
        child.closeInput()
        return try await child.waitForExit(timeout: timeout)
    }

    /// Writes `text` to the child's standard input.
    func send(_ text: String) {
        try? inputPipe.fileHandleForWriting.write(contentsOf: Data(text.utf8))
    }

    /// Closes the child's standard input.
    func closeInput() {
        try? inputPipe.fileHandleForWriting.close()
    }

    /// Everything the child wrote to standard output so far.
    var standardOutput: String {
        lock.withLock { String(decoding: output, as: UTF8.self) }
    }

    /// Waits until standard output contains a full line, returns the first line.
    func firstLine(timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = standardOutput
            if let newline = text.firstIndex(of: "\n") { return String(text[..<newline]) }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill()
        let errorText = lock.withLock { String(decoding: errors, as: UTF8.self) }
        throw Failure(description: "no output line from \(process.arguments ?? []) (stderr: \(errorText))")
    }

    /// Waits for exit within `timeout`; kills the child and throws if it is still running.
    func waitForExit(timeout: Duration = .seconds(20)) async throws -> Result {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill()
                throw Failure(description: "\(process.arguments ?? []) did not exit within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        // Let the readability handlers collect the last output.
        try await Task.sleep(for: .milliseconds(30))
        return lock.withLock {
            Result(status: process.terminationStatus,
                   standardOutput: String(decoding: output, as: UTF8.self),
                   standardError: String(decoding: errors, as: UTF8.self))
        }
    }

    /// Kills the child (SIGKILL: the test process may block SIGTERM, and children inherit
    /// blocked signals) if it is still running, and reaps it.
    func kill() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
