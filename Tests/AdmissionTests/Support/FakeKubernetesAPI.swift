import Admission
import Foundation

/// A real HTTPS Kubernetes API stand-in for client tests: a Python process on 127.0.0.1 speaking
/// the real ServiceAccount path and JSON, with certificates made by the openssl CLI (a CA, a
/// server certificate for 127.0.0.1 and a client certificate). See `script` for what it can be
/// told to do. Stopped (and waited for) on `stop()` or deinit, and it exits by itself when the
/// test process dies.
final class FakeKubernetesAPI {
    struct Failure: Error, CustomStringConvertible { let description: String }

    let directory: TemporaryDirectory
    let port: Int
    let token: String?
    let certificateAuthorityPEM: String
    let clientCertificatePEM: String
    let clientKeyPEM: String
    private let process: Process
    /// The server's stdin: it exits when this closes, so it never outlives the test process.
    private let lifeline = Pipe()
    private var controlID = 0

    init(accounts: [ServiceAccount] = [], token: String? = "fake-token", requireClientCertificate: Bool = false) throws {
        directory = try TemporaryDirectory()
        self.token = token
        try Self.makeCertificates(in: directory.path)
        certificateAuthorityPEM = try String(contentsOfFile: directory.path + "/ca.crt", encoding: .utf8)
        clientCertificatePEM = try String(contentsOfFile: directory.path + "/client.crt", encoding: .utf8)
        clientKeyPEM = try String(contentsOfFile: directory.path + "/client.key", encoding: .utf8)
        try directory.write("fake-kubernetes-api.py", Self.script)
        process = Process()

        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", directory.path + "/fake-kubernetes-api.py", directory.path, token ?? "",
            directory.path + "/server.crt", directory.path + "/server.key",
            requireClientCertificate ? directory.path + "/ca.crt" : "-",
        ]
        process.standardOutput = output
        process.standardInput = lifeline
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw Failure(description: "fake API server did not start: \(line)")
        }
        self.port = port
        try setAccounts(accounts)
    }

    deinit { stop() }

    /// The configuration a client uses to reach this server (CA-verified, with the token).
    var configuration: KubernetesAPIConfiguration {
        KubernetesAPIConfiguration(
            host: "127.0.0.1", port: port, certificateAuthorityPEM: certificateAuthorityPEM,
            token: token.map { .fixed($0) })
    }

    /// Replaces the accounts served.
    func setAccounts(_ accounts: [ServiceAccount]) throws {
        var table: [String: [String: String]] = [:]
        for account in accounts { table["\(account.namespace)/\(account.name)"] = account.annotations }
        try writeAtomically("accounts.json", JSONSerialization.data(withJSONObject: table))
    }

    /// Changes how the next requests are answered (see `script`); `behave()` restores normal service.
    func behave(status: Int? = nil, times: Int? = nil, retryAfter: String? = nil, delay: Duration = .zero, drop: Bool = false) throws {
        controlID += 1
        var control: [String: Any] = ["id": controlID, "drop": drop]
        control["status"] = status
        control["times"] = times
        control["retryAfter"] = retryAfter
        let (seconds, attoseconds) = delay.components
        control["delay"] = Double(seconds) + Double(attoseconds) / 1e18
        try writeAtomically("control.json", JSONSerialization.data(withJSONObject: control))
    }

    /// Every request so far: "<path> <Authorization or ->".
    var requests: [String] {
        ((try? String(contentsOfFile: directory.path + "/requests.log", encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    /// Kills the server (SIGKILL: the test runner's threads block SIGTERM, and children inherit
    /// the mask) and waits for it.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    private func writeAtomically(_ name: String, _ data: Data) throws {
        let staging = try directory.write(name + ".tmp", data)
        guard rename(staging, directory.path + "/" + name) == 0 else { throw Failure(description: "rename \(name) failed") }
    }

    /// A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all P-256.
    private static func makeCertificates(in directory: String) throws {
        let commands = [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
             "-out", "ca.crt", "-subj", "/CN=fake-kubernetes-ca", "-days", "2"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key",
             "-out", "server.csr", "-subj", "/CN=kube-apiserver"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt",
             "-days", "2", "-extfile", "server.ext"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "client.key",
             "-out", "client.csr", "-subj", "/CN=system:serviceaccount:irsa:webhook"],
            ["x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.crt",
             "-days", "2"],
        ]
        try Data("subjectAltName=IP:127.0.0.1,DNS:localhost\n".utf8).write(to: URL(fileURLWithPath: directory + "/server.ext"))
        for arguments in commands {
            let openssl = Process()
            openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            openssl.arguments = ["openssl"] + arguments
            openssl.currentDirectoryURL = URL(fileURLWithPath: directory)
            openssl.standardOutput = FileHandle.nullDevice
            openssl.standardError = FileHandle.nullDevice
            try openssl.run()
            openssl.waitUntilExit()
            guard openssl.terminationStatus == 0 else {
                throw Failure(description: "openssl \(arguments.joined(separator: " ")) failed")
            }
        }
    }
}
