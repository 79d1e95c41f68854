import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What the process-level tests share: bounded child processes (curl, openssl, python3),
/// certificates made at test time, free ports, and the repository's sample files.
enum TestTools {
    /// The repository root (this file is Tests/IntegrationTests/Support/TestTools.swift).
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// What a finished child process left.
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `command` (looked up on PATH) to completion in `directory` (default: ours), killing
    /// it after `timeout`. Waits with `Task.sleep`, so parallel tests keep the cooperative pool;
    /// output goes through files, so a chatty child never blocks on a full pipe.
    static func run(
        _ command: [String], in directory: URL? = nil, environment: [String: String]? = nil, stdin: String? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> Result {
        let scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        let inURL = scratch.appendingPathComponent("stdin")
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        try Data((stdin ?? "").utf8).write(to: inURL)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let input = try FileHandle(forReadingFrom: inURL)
        defer { try? out.close(); try? err.close(); try? input.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        if let directory { process.currentDirectoryURL = directory }
        if let environment { process.environment = environment }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TestToolError("\(command.prefix(3).joined(separator: " ")) did not finish within \(timeout)")
        }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    /// Runs a Python 3 script with `arguments`; its standard output must be one JSON object.
    static func python(_ script: String, _ arguments: [String], timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        let result = try await run(["python3", "-c", script] + arguments, timeout: timeout)
        guard result.status == 0,
              let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        else {
            throw TestToolError("python script failed (exit \(result.status)):\n\(result.stdout)\n\(result.stderr)")
        }
        return object
    }

    /// A fresh temporary directory; the caller removes it.
    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("irsa-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Makes a self-signed ECDSA P-256 certificate for IP:127.0.0.1 (its own CA), valid for
    /// `days`, as `<name>.crt` and `<name>.key` in `directory`.
    static func makeCertificate(in directory: URL, name: String, commonName: String = "irsa-webhook test", days: Int = 2) async throws
        -> (certificate: String, key: String)
    {
        let certificate = directory.appendingPathComponent("\(name).crt").path
        let key = directory.appendingPathComponent("\(name).key").path
        let result = try await run([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "\(days)", "-subj", "/CN=\(commonName)", "-addext", "subjectAltName=IP:127.0.0.1",
            "-addext", "basicConstraints=critical,CA:TRUE", "-keyout", key, "-out", certificate,
        ])
        guard result.status == 0 else { throw TestToolError("openssl req failed: \(result.stderr)") }
        return (certificate, key)
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestToolError("socket: errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(descriptor, generic, length) == 0 && getsockname(descriptor, generic, &length) == 0
            }
        }
        guard bound else { throw TestToolError("bind/getsockname: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// An HTTP answer seen by curl.
    struct HTTPAnswer {
        var status: Int
        var body: String

        /// The body as a JSON object.
        var json: [String: Any]? {
            try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        }
    }

    /// One request with curl: HTTPS (trusting `caFile`) when given, else plain HTTP.
    static func curl(
        _ method: String, port: Int, path: String, caFile: String?, contentType: String? = nil,
        bodyFile: String? = nil, timeout: Duration = .seconds(10)
    ) async throws -> HTTPAnswer {
        var command = ["curl", "-sS", "-X", method, "--max-time", "\(timeout.components.seconds)", "-w", "\n%{http_code}"]
        if let caFile { command += ["--cacert", caFile] }
        if let contentType { command += ["-H", "Content-Type: \(contentType)"] }
        if let bodyFile { command += ["--data-binary", "@\(bodyFile)"] }
        command.append("\(caFile == nil ? "http" : "https")://127.0.0.1:\(port)\(path)")
        let result = try await run(command, timeout: timeout + .seconds(5))
        guard result.status == 0, let newline = result.stdout.lastIndex(of: "\n"),
              let status = Int(result.stdout[result.stdout.index(after: newline)...])
        else {
            throw TestToolError("curl \(method) \(path) failed (exit \(result.status)): \(result.stderr)")
        }
        return HTTPAnswer(status: status, body: String(result.stdout[..<newline]))
    }

    /// The JSON Patch of an AdmissionReview response (base64 in `response.patch`), nil if none.
    static func patch(of review: [String: Any]) throws -> [[String: Any]]? {
        guard let response = review["response"] as? [String: Any] else { throw TestToolError("no response in \(review)") }
        guard let encoded = response["patch"] as? String else { return nil }
        guard let data = Data(base64Encoded: encoded),
              let operations = try JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        else { throw TestToolError("patch is not base64 JSON: \(encoded)") }
        return operations
    }

    /// The value of a Prometheus sample line `<series> <value>`, nil when absent.
    static func metric(_ series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1).split(separator: " ").first ?? "")
        }
        return nil
    }

    /// Writes `text` to `name` in `directory`; returns its path.
    static func write(_ text: String, to name: String, in directory: URL) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}

/// A test helper that could not do its job; the message says which tool and why.
struct TestToolError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
