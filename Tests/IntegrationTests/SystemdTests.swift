import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// systemd without systemd as PID 1: socket activation through `systemd-socket-activate`, and
/// the notifications (READY=1, STATUS=, WATCHDOG=1, STOPPING=1) on a NOTIFY_SOCKET the test owns.
@Suite struct SystemdTests {
    static let launcher = "/usr/bin/systemd-socket-activate"

    /// `systemd-socket-activate` waits for the first connection, then execs the service, passing
    /// only LISTEN_* and the variables named with `-E`. WATCHDOG_PID stays unset, and
    /// `sd_watchdog_enabled(3)` then applies the watchdog to the process itself ("if the
    /// $WATCHDOG_PID variable is unset or set to the PID of the current process").
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: launcher), "systemd-socket-activate is not installed (Debian package systemd)"))
    func socketActivationReadinessWatchdogAndStopping() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        let notify = try NotifySocket(path: directory.appendingPathComponent("notify").path)
        let port = try TestTools.freePort()
        // Through `sh`: the launcher closes every inherited descriptor, including the one
        // Foundation's Process watches to learn that its child exited (it would then block in
        // waitpid on a live process); `sh` keeps it open and waits for the launcher.
        let webhook = try WebhookProcess(["-c", #""$@"; status=$?; exit $status"#, "sh", Self.launcher,
            "-l", "127.0.0.1:\(port)", "-E", "NOTIFY_SOCKET=\(notify.path)", "-E", "WATCHDOG_USEC=400000",
            WebhookProcess.binaryPath, "--host", "127.0.0.1", "--port", "1", "--metrics-port", "0", "--threads", "1",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key,
            "--service-accounts-file", TestTools.root.appendingPathComponent("deploy/dev/serviceaccounts.yaml").path,
        ], executable: "/bin/sh")
        #expect(try await webhook.waitForOutput(containing: "Listening on 127.0.0.1:\(port)", timeout: .seconds(10)), "\(webhook.output)")

        // The first connection makes the launcher start the webhook, which serves it on the inherited socket.
        let answer = try await TestTools.curl(
            "POST", port: port, path: "/mutate", caFile: tls.certificate, contentType: "application/json",
            bodyFile: TestTools.root.appendingPathComponent("deploy/dev/review.json").path, timeout: .seconds(20))
        #expect(answer.status == 200)
        let answerJSON = try #require(answer.json, "\(answer.body)")
        #expect(try TestTools.patch(of: answerJSON) != nil)
        #expect(webhook.output.contains("address=127.0.0.1:\(port)") || webhook.output.contains(#""address":"127.0.0.1:\#(port)""#),
                "the webhook did not serve the inherited socket:\n\(webhook.output)")

        let ready = try await notify.waitFor("READY=1", timeout: .seconds(10))
        #expect(ready?.contains("STATUS=serving on 127.0.0.1:\(port)") == true, "\(notify.received)")
        // WATCHDOG_USEC=400000: pings every 200 ms.
        #expect(try await notify.waitFor("WATCHDOG=1", timeout: .seconds(3)) != nil, "\(notify.received)")

        // The launcher execs the webhook in its own process: the child of `sh`.
        let child = try await Self.child(of: webhook.process.processIdentifier)
        kill(child, SIGTERM)
        let stopping = try await notify.waitFor("STOPPING=1", timeout: .seconds(5))
        #expect(stopping != nil, "\(notify.received)")
        let deadline = ContinuousClock.now + .seconds(10)
        while kill(child, 0) == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(kill(child, 0) != 0, "the webhook did not exit after SIGTERM")
        _ = try await webhook.stop(timeout: .seconds(5))
    }

    /// The one child process of `parent`.
    static func child(of parent: Int32) async throws -> Int32 {
        let children = try await TestTools.run(["pgrep", "-P", "\(parent)"])
        return try #require(Int32(children.stdout.split(separator: "\n").first ?? ""), "no child of \(parent): \(children)")
    }
}

/// A unix datagram socket standing in for systemd's notification socket.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let descriptor: Int32
    /// Every datagram received so far, in order.
    private(set) var received: [String] = []

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw TestToolError("socket(AF_UNIX): errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw TestToolError("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            close(descriptor)
            throw TestToolError("bind(\(path)): errno \(errno)")
        }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// Waits for a datagram containing the line `line`; returns that datagram, nil on timeout.
    func waitFor(_ line: String, timeout: Duration) async throws -> String? {
        let deadline = ContinuousClock.now + timeout
        var checked = 0
        while true {
            drain()
            while checked < received.count {
                let message = received[checked]
                checked += 1
                if message.split(separator: "\n").contains(Substring(line)) { return message }
            }
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// How many datagrams received so far contain the line `line`.
    func count(of line: String) -> Int {
        drain()
        return received.filter { $0.split(separator: "\n").contains(Substring(line)) }.count
    }

    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            received.append(String(decoding: buffer[0..<count], as: UTF8.self))
        }
    }
}
