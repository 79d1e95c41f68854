import Foundation
@testable import loadgen

/// `fake_webhook.py` running as a child process on 127.0.0.1 with a fresh ECDSA certificate.
final class FakeWebhook {
    let directory: URL
    let process: Process
    let port: UInt16
    var certificatePath: String { directory.appendingPathComponent("tls.crt").path }
    var serviceAccountsPath: String { directory.appendingPathComponent("sa.json").path }

    struct StartError: Error, CustomStringConvertible { let description: String }

    /// Starts the server in `mode` (good, fixed-uid, always-patch, bad-patch) with the accounts of `corpus`.
    init(mode: String, corpus: Corpus) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("loadgen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileIO.write(Array(corpus.plan!.serviceAccountList().serialized.utf8), to: directory.appendingPathComponent("sa.json").path)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.currentDirectoryURL = directory
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", "tls.key", "-out", "tls.crt", "-days", "1", "-subj", "/CN=loadgen-test",
                             "-addext", "subjectAltName=IP:127.0.0.1"]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw StartError(description: "openssl failed") }

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fake_webhook.py")
        let output = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, directory.appendingPathComponent("tls.crt").path,
                             directory.appendingPathComponent("tls.key").path, directory.appendingPathComponent("sa.json").path, mode]
        process.standardOutput = output
        try process.run()
        // The first line is "port N"; a dead or silent server ends the wait after 10 s.
        let deadline = Date().addingTimeInterval(10)
        var line = Data()
        while Date() < deadline, !line.contains(0x0A) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let text = String(data: line, encoding: .utf8), text.hasPrefix("port "),
              let port = UInt16(text.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw StartError(description: "fake_webhook.py did not start")
        }
        self.port = port
        self.process = process
    }

    var url: String { "https://127.0.0.1:\(port)/mutate" }

    deinit {
        // SIGKILL: it cannot be blocked, so waiting for the exit is bounded.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}
