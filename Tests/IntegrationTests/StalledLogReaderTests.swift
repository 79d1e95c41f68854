import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Standard error piped to a reader that stops reading (a wedged log shipper): the pipe fills,
/// yet admissions keep flowing because no event loop writes a log line itself; lines that do
/// not fit the log buffer are dropped and counted, and SIGTERM still ends the process promptly.
@Suite(.timeLimit(.minutes(5))) struct StalledLogReaderTests {
    @Test func admissionsKeepFlowingWhenStandardErrorIsNeverRead() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: WebhookProcess.binaryPath)
        process.arguments = [
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "2", "--log-level", "debug",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key,
            "--service-accounts-file", TestTools.root.appendingPathComponent("deploy/dev/serviceaccounts.yaml").path,
        ]
        let standardError = Pipe()
        process.standardError = standardError
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        // Read up to the `listening` line for the port, then never again.
        let port = try Self.readPort(from: standardError.fileHandleForReading)

        // Every admission logs a debug line of about 300 bytes: 6,000 of them are far more than
        // the 64 KiB pipe and the 1 MiB log buffer hold.
        let plan = Array(repeating: Array(repeating: "app-sa", count: 200), count: 30)
        let answers = try await AdmissionBatch.send(port: port, caFile: tls.certificate, connections: plan, timeout: .seconds(150))
        let served = answers.filter { $0.status == 200 && $0.patch != nil }
        #expect(served.count == 6_000, "e.g. \(answers.first { $0.status != 200 }.map(String.init(describing:)) ?? "-")")
        let latencies = answers.map(\.latency).sorted()
        let p99 = latencies[latencies.count * 99 / 100]
        print("6,000 admissions with standard error never read: p99 \(p99), max \(latencies.last!)")
        #expect(p99 < .milliseconds(500), "p99 \(p99)")

        let metrics = try await TestTools.curl("GET", port: port, path: "/metrics", caFile: tls.certificate)
        let dropped = TestTools.metric(#"irsa_log_lines_dropped_total{sink="stderr"}"#, in: metrics.body) ?? 0
        print("log lines dropped: \(Int(dropped))")
        #expect(dropped > 0, "\(metrics.body)")

        let start = ContinuousClock.now
        kill(process.processIdentifier, SIGTERM)
        let status = try await process.waitForExit(timeout: .seconds(15))
        #expect(status == 0 && process.terminationReason == .exit, "status \(String(describing: status))")
        #expect(ContinuousClock.now - start < .seconds(10), "exit took \(ContinuousClock.now - start)")
    }

    /// The port from the `listening` log line.
    private static func readPort(from handle: FileHandle) throws -> Int {
        var text = ""
        while !text.contains("\"listening\"") {
            let chunk = handle.availableData
            guard !chunk.isEmpty else { throw TestToolError("standard error ended before the listening line: \(text)") }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first(where: { $0.contains("\"listening\"") }),
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let address = object["address"] as? String, let port = Int(address.split(separator: ":").last ?? "")
        else { throw TestToolError("no port in the listening line: \(text)") }
        return port
    }
}
