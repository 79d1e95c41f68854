import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The `loadgen` binary (built beside irsa-webhook) run as a child process while a test does
/// other things: its standard output (the `--json` report) and standard error (progress) go to
/// files the test reads. Killed when dropped.
final class LoadgenProcess: @unchecked Sendable {
    /// The binary next to irsa-webhook in the build directory.
    static var binaryPath: String {
        URL(fileURLWithPath: WebhookProcess.binaryPath).deletingLastPathComponent().appendingPathComponent("loadgen").path
    }

    let process = Process()
    private let directory: URL

    /// Starts `loadgen` with `arguments`; with `fileLimit`, under a raised descriptor limit
    /// (`ulimit -n`, through `withFileLimit`).
    init(_ arguments: [String], fileLimit: Int? = nil) throws {
        directory = try TestTools.temporaryDirectory()
        let out = directory.appendingPathComponent("stdout")
        let err = directory.appendingPathComponent("stderr")
        try Data().write(to: out)
        try Data().write(to: err)
        let command = [Self.binaryPath] + arguments
        let launched = fileLimit.map { Self.withFileLimit($0, command) } ?? command
        process.executableURL = URL(fileURLWithPath: launched[0])
        process.arguments = Array(launched.dropFirst())
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// `command` run by bash after `ulimit -n limit` (soft and hard must allow it), so the
    /// process can hold that many descriptors; `exec` keeps the process id.
    static func withFileLimit(_ limit: Int, _ command: [String]) -> [String] {
        ["/bin/bash", "-c", "ulimit -n \(limit) && exec \"$0\" \"$@\""] + command
    }

    /// Everything written to standard output so far.
    var standardOutput: String {
        (try? String(contentsOf: directory.appendingPathComponent("stdout"), encoding: .utf8)) ?? ""
    }

    /// Everything written to standard error so far.
    var standardError: String {
        (try? String(contentsOf: directory.appendingPathComponent("stderr"), encoding: .utf8)) ?? ""
    }

    /// Waits until standard error contains `text`, the process exits, or `timeout` passes.
    func waitForError(containing text: String, timeout: Duration) async throws -> Bool {
        try await process.waitUntil({ standardError }, contains: text, timeout: timeout)
    }

    /// Waits up to `timeout` for the exit; returns the status, nil on timeout.
    func waitForExit(timeout: Duration) async throws -> Int32? {
        try await process.waitForExit(timeout: timeout)
    }

    /// The `--json` report (the last line of standard output).
    func report() throws -> [String: Any] {
        let line = standardOutput.split(separator: "\n").last.map(String.init) ?? ""
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw TestToolError("loadgen printed no JSON report; stdout:\n\(standardOutput)\nstderr:\n\(standardError.suffix(3000))")
        }
        return object
    }

    /// Runs loadgen to completion (bounded by `timeout`) and returns its `--json` report.
    static func run(_ arguments: [String], timeout: Duration) async throws -> (status: Int32, report: [String: Any]) {
        let loadgen = try LoadgenProcess(arguments + ["--json"])
        guard let status = try await loadgen.waitForExit(timeout: timeout) else {
            throw TestToolError("loadgen did not finish within \(timeout); stderr:\n\(loadgen.standardError.suffix(3000))")
        }
        return (status, try loadgen.report())
    }
}
