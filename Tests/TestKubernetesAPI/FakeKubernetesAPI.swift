import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real HTTPS Kubernetes API stand-in for client and process tests: a Python process on
/// 127.0.0.1 speaking kube-apiserver's protocol for ServiceAccounts (GET, LIST with `limit` and
/// `continue`, WATCH as a chunked event stream, resourceVersions, bookmarks, 410s) and the service
/// account issuer's OIDC discovery, with certificates made by the openssl CLI (a CA, a server
/// certificate for 127.0.0.1 and a client certificate). The protocol is described on `script`.
///
/// The test drives it over a command channel (the process's stdin and stdout, a socket pair):
/// accounts change at once and every open watch sees the event (`setAccounts`, `upsert`, `delete`,
/// `generateAccounts`, `compact`). It can be told to misbehave (`behave` for GET and LIST,
/// `behaveWatch` for LIST and WATCH) and to go down and come back on the same port (`stop`,
/// `restart`) with its state kept. Killed (and waited for) on deinit, and it exits by itself when
/// the test process dies (its stdin closes). Used by one test at a time.
public final class FakeKubernetesAPI: @unchecked Sendable {
    /// The server could not be started or controlled; the message says why.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Holds the certificates, the script and the request log.
    public let directory: TemporaryDirectory
    /// The port on 127.0.0.1, kept across `restart()`.
    public let port: Int
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
    /// The key set served at /openid/v1/jwks (one RSA key, made by the openssl CLI once per test
    /// process), computed from openssl's output so tests can compare what a client read.
    public let jwks: [JSONWebKey]
    /// The PEM public key (SubjectPublicKeyInfo) behind `jwks`.
    public let serviceAccountPublicKeyPEM: String
    /// The PEM private key behind `jwks`, to sign tokens the key set verifies.
    public let serviceAccountSigningKeyPEM: String
    private let process: Process
    private let channel: CommandChannel
    /// Guards `serving` and serialises commands.
    private let lock = NSLock()
    private var serving = true

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
        try Self.makeCertificates(in: directory.path)
        certificateAuthorityPEM = try String(contentsOfFile: directory.path + "/ca.crt", encoding: .utf8)
        clientCertificatePEM = try String(contentsOfFile: directory.path + "/client.crt", encoding: .utf8)
        clientKeyPEM = try String(contentsOfFile: directory.path + "/client.key", encoding: .utf8)
        let signingKey = try ServiceAccountSigningKey.shared.get()
        serviceAccountPublicKeyPEM = signingKey.publicKeyPEM
        serviceAccountSigningKeyPEM = signingKey.privateKeyPEM
        jwks = signingKey.jwks
        try directory.write("jwks.json", JSONEncoder().encode(["keys": jwks]))
        try directory.write("fake-kubernetes-api.py", Self.script)
        channel = try CommandChannel()
        process = Process()
        let errors = directory.path + "/server.err"
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        let errorHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        defer { try? errorHandle.close() }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", directory.path + "/fake-kubernetes-api.py", directory.path, token ?? "",
            directory.path + "/server.crt", directory.path + "/server.key",
            requireClientCertificate ? directory.path + "/ca.crt" : "-", "0", issuer,
        ]
        process.standardInput = channel.processEnd
        process.standardOutput = channel.processEnd
        process.standardError = errorHandle
        try process.run()
        channel.processStarted()
        let line = try? channel.readLine(timeout: .seconds(60))
        guard let port = line.flatMap({ Int(String(decoding: $0, as: UTF8.self)) }) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let reason = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
            throw Failure(description: "fake API server did not start: \(reason)")
        }
        self.port = port
    }

    deinit { terminate() }

    /// The CA certificate's file.
    public var certificateAuthorityFile: String { directory.path + "/ca.crt" }

    /// True while the server listens (between `stop()` and `restart()` it does not).
    public var isRunning: Bool { lock.withLock { serving } && process.isRunning }

    /// Every request so far, across restarts: "<path with query> <Authorization or ->".
    public var requests: [String] {
        ((try? String(contentsOfFile: directory.path + "/requests.log", encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    /// Takes the API down: the port stops listening, open connections (watches too) are closed.
    /// Accounts can still be changed; `restart()` brings it back.
    public func stop() {
        guard (try? command(["op": "down"])) != nil else { return }
        lock.withLock { serving = false }
    }

    /// Listens again on the same port, with the same accounts and behaviour; the watch history
    /// starts again at the current resourceVersion (as a restarted kube-apiserver's watch cache
    /// does), so a watch from an older one gets 410. Retries for up to `timeout` while the port
    /// cannot be bound yet.
    public func restart(timeout: Duration = .seconds(5)) throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                _ = try command(["op": "up"])
                lock.withLock { serving = true }
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

    /// Sends one command and returns its answer; throws the server's error, or when the
    /// server does not answer within `timeout`.
    func command(_ command: [String: Any], timeout: Duration = .seconds(60)) throws -> [String: Any] {
        try lock.withLock {
            guard process.isRunning else { throw Failure(description: "the fake API server process has exited") }
            var line = try JSONSerialization.data(withJSONObject: command)
            line.append(UInt8(ascii: "\n"))
            try channel.send(line)
            let answer = try channel.readLine(timeout: timeout)
            guard let object = try JSONSerialization.jsonObject(with: answer) as? [String: Any] else {
                throw Failure(description: "the fake API server answered \(String(decoding: answer, as: UTF8.self))")
            }
            if let error = object["error"] as? String { throw Failure(description: "fake API server: \(error)") }
            return object
        }
    }

    /// Kills the process (SIGKILL: the test runner's threads block SIGTERM, and children inherit
    /// the mask) and waits for it.
    private func terminate() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
