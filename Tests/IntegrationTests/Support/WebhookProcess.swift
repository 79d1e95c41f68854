import Foundation
import Testing

/// The `irsa-webhook` binary run as a child process by a test, with its standard error captured.
final class WebhookProcess: @unchecked Sendable {
    /// The binary built next to the test bundle, or `IRSA_TEST_WEBHOOK_BINARY` when set (e.g. a
    /// release build, for figures).
    static var binaryPath: String {
        if let binary = ProcessInfo.processInfo.environment["IRSA_TEST_WEBHOOK_BINARY"] { return binary }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        if directory.lastPathComponent.hasSuffix(".xctest") { directory.deleteLastPathComponent() }
        return directory.appendingPathComponent("irsa-webhook").path
    }

    let process = Process()
    let logPath: String
    private let logHandle: FileHandle

    /// Starts the binary with `arguments`; `environment` replaces the inherited one when given.
    /// `executable` runs another program instead (a launcher such as systemd-socket-activate
    /// that starts the binary itself). With `--kubeconfig` and no `--serviceaccount-source`, the
    /// test environment's `IRSA_TEST_SERVICEACCOUNT_SOURCE` (watch or get) is passed on, so whole
    /// suites run in either mode; unset, the binary's default (watch) applies.
    init(
        _ arguments: [String], environment: [String: String]? = nil, currentDirectory: String? = nil,
        executable: String? = nil
    ) throws {
        logPath = NSTemporaryDirectory() + "irsa-webhook-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: executable ?? Self.binaryPath)
        process.arguments = arguments + Self.serviceAccountSource(for: arguments)
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? logHandle.close()
        try? FileManager.default.removeItem(atPath: logPath)
    }

    /// `--serviceaccount-source` from the test environment, for runs against a Kubernetes API.
    static func serviceAccountSource(for arguments: [String]) -> [String] {
        guard arguments.contains("--kubeconfig"), !arguments.contains(where: { $0.hasPrefix("--serviceaccount-source") }),
              let mode = ProcessInfo.processInfo.environment["IRSA_TEST_SERVICEACCOUNT_SOURCE"]
        else { return [] }
        return ["--serviceaccount-source", mode]
    }

    /// Everything the process has written so far.
    var output: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// Waits until the output contains `text`, or the process exits, or `timeout` passes.
    func waitForOutput(containing text: String, timeout: Duration = .seconds(20)) async throws -> Bool {
        try await process.waitUntil({ output }, contains: text, timeout: timeout)
    }

    /// The port from the `listening` log line (`address=127.0.0.1:PORT`), once the server is up.
    func listeningPort(timeout: Duration = .seconds(30)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let port = Self.port(in: output, after: "listening") { return port }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("irsa-webhook did not report a listening port; output:\n\(output)")
        throw WebhookProcessError.notListening
    }

    /// Sends `signal` and waits up to `timeout` for the exit; returns the exit status, nil on timeout.
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(30)) async throws -> Int32? {
        if process.isRunning { kill(process.processIdentifier, signal) }
        return try await waitForExit(timeout: timeout)
    }

    /// Waits up to `timeout` for the process to exit; returns its status, nil on timeout.
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32? {
        try await process.waitForExit(timeout: timeout)
    }

    private static func port(in output: String, after marker: String) -> Int? {
        for line in output.split(separator: "\n") where line.contains(marker) {
            guard let range = line.range(of: "127.0.0.1:") else { continue }
            let digits = line[range.upperBound...].prefix { $0.isNumber }
            if let port = Int(digits) { return port }
        }
        return nil
    }
}

/// Why a child process could not be used.
enum WebhookProcessError: Error {
    case notListening
}
