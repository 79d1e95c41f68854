import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real HTTPS Kubernetes API stand-in for client and process tests: a Python process on
/// 127.0.0.1 speaking the real ServiceAccount path and JSON, with certificates made by the openssl
/// CLI (a CA, a server certificate for 127.0.0.1 and a client certificate).
///
/// It can be told to misbehave (`behave`: delay, an injected status with Retry-After, a dropped
/// connection, a response cut off mid-body, each optionally flapping on and off) and to go down
/// and come back on the same port (`stop`, `restart`). Killed (and waited for) on `stop()` or
/// deinit, and it exits by itself when the test process dies. Used by one test at a time.
public final class FakeKubernetesAPI: @unchecked Sendable {
    /// The server could not be started or controlled; the message says why.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Holds the certificates, the script and the server's state files.
    public let directory: TemporaryDirectory
    /// The port on 127.0.0.1, kept across `restart()`.
    public private(set) var port = 0
    /// The bearer token required, nil for none.
    public let token: String?
    /// The CA that signed the server and client certificates.
    public let certificateAuthorityPEM: String
    /// A client certificate the server accepts in client-certificate mode.
    public let clientCertificatePEM: String
    /// The key of `clientCertificatePEM`.
    public let clientKeyPEM: String
    /// The service account issuer in /.well-known/openid-configuration.
    public let issuer: String
    /// The key set served at /openid/v1/jwks (one RSA key, made by the openssl CLI at start),
    /// computed here from openssl's output so tests can compare what a client read.
    public let jwks: [JSONWebKey]
    /// The PEM public key (SubjectPublicKeyInfo) behind `jwks`.
    public let serviceAccountPublicKeyPEM: String
    private let requireClientCertificate: Bool
    private var process: Process?
    /// The server's stdin: it exits when this closes, so it never outlives the test process.
    private var lifeline: Pipe?
    private var controlID = 0

    /// Starts a server on a free port that serves no accounts until `setAccounts`.
    ///
    /// - Parameters:
    ///   - token: The bearer token every request must carry (401 otherwise); nil accepts any.
    ///   - requireClientCertificate: Demand a client certificate signed by the CA.
    ///   - issuer: The service account issuer the OIDC discovery document names.
    public init(
        token: String? = "fake-token", requireClientCertificate: Bool = false,
        issuer: String = "https://kubernetes.default.svc.cluster.local"
    ) throws {
        directory = try TemporaryDirectory()
        self.token = token
        self.issuer = issuer
        self.requireClientCertificate = requireClientCertificate
        try Self.makeCertificates(in: directory.path)
        certificateAuthorityPEM = try String(contentsOfFile: directory.path + "/ca.crt", encoding: .utf8)
        clientCertificatePEM = try String(contentsOfFile: directory.path + "/client.crt", encoding: .utf8)
        clientKeyPEM = try String(contentsOfFile: directory.path + "/client.key", encoding: .utf8)
        serviceAccountPublicKeyPEM = try String(contentsOfFile: directory.path + "/sa.pub", encoding: .utf8)
        jwks = try Self.serviceAccountKeySet(in: directory.path)
        try directory.write("jwks.json", JSONEncoder().encode(["keys": jwks]))
        try directory.write("fake-kubernetes-api.py", Self.script)
        port = try launch(port: 0)
    }

    deinit { stop() }

    /// The CA certificate's file.
    public var certificateAuthorityFile: String { directory.path + "/ca.crt" }

    /// True while the server process runs.
    public var isRunning: Bool { process?.isRunning ?? false }

    /// Replaces the accounts served: annotations by "namespace/name".
    public func setAccounts(_ annotationsByAccount: [String: [String: String]]) throws {
        try writeAtomically("accounts.json", JSONSerialization.data(withJSONObject: annotationsByAccount))
    }

    /// Changes how the next requests are answered; `behave()` restores normal service.
    ///
    /// - Parameters:
    ///   - status: Answer this status (with a Kubernetes Status body) instead.
    ///   - times: Misbehave for this many requests only; nil for every request.
    ///   - retryAfter: The Retry-After header sent with `status`.
    ///   - delay: Wait this long before answering (or dropping).
    ///   - drop: Close the connection without answering.
    ///   - truncate: Send the head (with the full Content-Length) and half the body, then close.
    ///   - stall: With `truncate`, wait this long after the half body before closing.
    ///   - flapPeriod: Misbehave during the first period, serve normally during the next, and so
    ///     on, counted from the first request that sees this behaviour.
    public func behave(
        status: Int? = nil, times: Int? = nil, retryAfter: String? = nil, delay: Duration = .zero, drop: Bool = false,
        truncate: Bool = false, stall: Duration = .zero, flapPeriod: Duration? = nil
    ) throws {
        controlID += 1
        var control: [String: Any] = [
            "id": controlID, "drop": drop, "truncate": truncate, "delay": Self.seconds(delay), "stall": Self.seconds(stall),
        ]
        control["status"] = status
        control["times"] = times
        control["retryAfter"] = retryAfter
        control["flap"] = flapPeriod.map(Self.seconds)
        try writeAtomically("control.json", JSONSerialization.data(withJSONObject: control))
    }

    /// Every request so far, across restarts: "<path> <Authorization or ->".
    public var requests: [String] {
        ((try? String(contentsOfFile: directory.path + "/requests.log", encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    /// Kills the server (SIGKILL: the test runner's threads block SIGTERM, and children inherit
    /// the mask) and waits for it: the port stops listening and open connections are closed.
    public func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Starts the server again on the same port, with the same accounts and behaviour. Retries
    /// for up to `timeout` while the port cannot be bound yet.
    public func restart(timeout: Duration = .seconds(5)) throws {
        stop()
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                _ = try launch(port: port)
                return
            } catch {
                if ContinuousClock.now >= deadline { throw error }
            }
            usleep(100_000)
        }
    }

    /// A kubeconfig for this server, trusting its CA, with its token.
    public var kubeconfig: String {
        Self.kubeconfig(port: port, certificateAuthorityPEM: certificateAuthorityPEM, token: token)
    }

    /// A kubeconfig for `https://127.0.0.1:<port>` trusting `certificateAuthorityPEM`, with a
    /// bearer token when given.
    public static func kubeconfig(port: Int, certificateAuthorityPEM: String, token: String?) -> String {
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: test
          cluster:
            server: https://127.0.0.1:\(port)
            certificate-authority-data: \(Data(certificateAuthorityPEM.utf8).base64EncodedString())
        users:
        - name: test
          user:\(token.map { "\n    token: \($0)" } ?? " {}")
        contexts:
        - name: test
          context:
            cluster: test
            user: test
        current-context: test

        """
    }

    /// Runs the script on `requested` (0: any free port) and returns the port it listens on.
    private func launch(port requested: Int) throws -> Int {
        let process = Process()
        let output = Pipe()
        let lifeline = Pipe()
        let errors = directory.path + "/server.err"
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        let errorHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        defer { try? errorHandle.close() }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", directory.path + "/fake-kubernetes-api.py", directory.path, token ?? "",
            directory.path + "/server.crt", directory.path + "/server.key",
            requireClientCertificate ? directory.path + "/ca.crt" : "-", String(requested), issuer,
        ]
        process.standardOutput = output
        process.standardError = errorHandle
        process.standardInput = lifeline
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let reason = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
            throw Failure(description: "fake API server did not start on port \(requested): \(line)\(reason)")
        }
        self.process = process
        self.lifeline = lifeline
        return port
    }

    private func writeAtomically(_ name: String, _ data: Data) throws {
        let staging = try directory.write(name + ".tmp", data)
        guard rename(staging, directory.path + "/" + name) == 0 else { throw Failure(description: "rename \(name) failed") }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
