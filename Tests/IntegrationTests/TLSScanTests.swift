import Foundation
import Testing

/// sslyze (PyPI) scans the running webhook on 127.0.0.1 and the test reads its JSON report:
/// only TLS 1.2 and 1.3, each accepted suite forward-secret AEAD (the exact configured set), no
/// compression, no client-initiated renegotiation, not vulnerable to Heartbleed, ROBOT or CCS
/// injection, and the certificate chain (leaf, then intermediate, no root) served in order and
/// verifying against the root. Once with an ECDSA leaf (as deploy/generate-certs.sh makes) and
/// once with an RSA leaf (cert-manager's default).
@Suite(.serialized) struct TLSScanTests {
    /// The key of the leaf certificate, and the TLS 1.2 suites the webhook accepts with it.
    static let leaves: [(key: String, tls12Suites: Set<String>)] = [
        ("ec", ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"]),
        ("rsa", ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                 "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"]),
    ]
    static let tls13Suites: Set<String> = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]

    @Test("sslyze finds only TLS 1.2/1.3 with forward-secret AEAD suites and a correctly served chain",
          .enabled(if: Deploy.which("sslyze") != nil, "sslyze is not installed (PyPI package sslyze; make python-deps)"),
          .timeLimit(.minutes(5)),
          arguments: leaves)
    func scan(leafKey: String, tls12Suites: Set<String>) async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // The certificates get a directory of their own: the webhook reloads on changes beside them.
        let certificates = directory.appendingPathComponent("certificates")
        try FileManager.default.createDirectory(at: certificates, withIntermediateDirectories: true)
        let chain = try await CertificateChain.make(in: certificates, leafKey: leafKey)
        let webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "1",
            "--tls-cert-file", chain.served, "--tls-key-file", chain.leafKey,
            "--service-accounts-file", TestTools.root.appendingPathComponent("deploy/dev/serviceaccounts.yaml").path,
        ])
        let port = try await webhook.listeningPort()

        let reportPath = directory.appendingPathComponent("sslyze.json").path
        let started = ContinuousClock.now
        let run = try await TestTools.run([
            "sslyze", "--quiet", "--json_out", reportPath, "--mozilla_config", "disable",
            "--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3",
            "--compression", "--reneg", "--heartbleed", "--robot", "--openssl_ccs",
            "--certinfo", "--certinfo_ca_file", chain.root, "127.0.0.1:\(port)",
        ], timeout: .seconds(240))
        let elapsed = ContinuousClock.now - started
        print("sslyze \(leafKey) leaf: scan took \(elapsed)")
        #expect(run.status == 0, "sslyze failed:\n\(run.stdout)\n\(run.stderr)")
        let report = try await SSLyzeReport(path: reportPath)

        for version in ["ssl_2_0", "ssl_3_0", "tls_1_0", "tls_1_1"] {
            let result = try report.result("\(version)_cipher_suites")
            #expect(result["is_tls_version_supported"] as? Bool == false, "\(version) is accepted")
            #expect(SSLyzeReport.suites(result, "accepted_cipher_suites").isEmpty, "\(version) suites accepted")
        }
        let tls12 = try report.result("tls_1_2_cipher_suites")
        let tls13 = try report.result("tls_1_3_cipher_suites")
        #expect(tls12["is_tls_version_supported"] as? Bool == true)
        #expect(tls13["is_tls_version_supported"] as? Bool == true)
        #expect(Set(SSLyzeReport.suites(tls12, "accepted_cipher_suites").map(\.name)) == tls12Suites)
        #expect(Set(SSLyzeReport.suites(tls13, "accepted_cipher_suites").map(\.name)) == Self.tls13Suites)
        for suite in SSLyzeReport.suites(tls12, "accepted_cipher_suites") + SSLyzeReport.suites(tls13, "accepted_cipher_suites") {
            #expect(suite.isAEAD, "\(suite.name) is not AEAD")
            #expect(suite.ephemeralKeyType != nil, "\(suite.name) has no ephemeral key: not forward-secret")
            #expect(!suite.isAnonymous, "\(suite.name) is anonymous")
            #expect(suite.keySize >= 128, "\(suite.name) has a \(suite.keySize)-bit key")
        }

        #expect(try report.result("tls_compression")["supports_compression"] as? Bool == false)
        let renegotiation = try report.result("session_renegotiation")
        #expect(renegotiation["supports_secure_renegotiation"] as? Bool == true)
        #expect(renegotiation["is_vulnerable_to_client_renegotiation_dos"] as? Bool == false)
        #expect(renegotiation["client_renegotiations_success_count"] as? Int == 0)
        #expect(try report.result("heartbleed")["is_vulnerable_to_heartbleed"] as? Bool == false)
        #expect(try report.result("openssl_ccs_injection")["is_vulnerable_to_ccs_injection"] as? Bool == false)
        let robot = try report.result("robot")["robot_result"] as? String ?? ""
        #expect(robot.hasPrefix("NOT_VULNERABLE"), "ROBOT: \(robot)")

        let deployments = try report.result("certificate_info")["certificate_deployments"] as? [[String: Any]] ?? []
        #expect(deployments.count == 1)
        let deployment = try #require(deployments.first)
        let received = deployment["received_certificate_chain"] as? [[String: Any]] ?? []
        #expect(received.map { $0["fingerprint_sha256"] as? String } == [chain.leafFingerprint, chain.intermediateFingerprint],
                "the server did not send leaf then intermediate")
        #expect(deployment["received_chain_has_valid_order"] as? Bool == true)
        #expect(deployment["received_chain_contains_anchor_certificate"] as? Bool == false)
        let validations = deployment["path_validation_results"] as? [[String: Any]] ?? []
        let supplied = validations.first { ($0["trust_store"] as? [String: Any])?["name"] as? String == "Supplied CA file" }
        #expect(supplied?["was_validation_successful"] as? Bool == true, "\(supplied?["validation_error"] ?? "no validation")")

        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }
}

/// A root CA, an intermediate CA and a leaf for IP:127.0.0.1, made with openssl; the webhook
/// serves `served` (leaf then intermediate), clients trust `root`.
private struct CertificateChain {
    var root: String
    var served: String
    var leafKey: String
    var leafFingerprint: String
    var intermediateFingerprint: String

    static func make(in directory: URL, leafKey keyType: String) async throws -> CertificateChain {
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let newKey = keyType == "rsa" ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        let ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        let caExtensions = ["-addext", "keyUsage=critical,keyCertSign,cRLSign"]
        try await openssl(["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=scan root"] + ecKey + caExtensions
            + ["-addext", "basicConstraints=critical,CA:TRUE", "-keyout", path("root.key"), "-out", path("root.crt")])
        try await openssl(["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=scan intermediate"] + ecKey + caExtensions
            + ["-addext", "basicConstraints=critical,CA:TRUE,pathlen:0", "-CA", path("root.crt"), "-CAkey", path("root.key"),
               "-keyout", path("intermediate.key"), "-out", path("intermediate.crt")])
        try await openssl(["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=scan leaf"] + newKey
            + ["-addext", "basicConstraints=critical,CA:FALSE", "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
               "-addext", "extendedKeyUsage=serverAuth", "-addext", "subjectAltName=IP:127.0.0.1",
               "-CA", path("intermediate.crt"), "-CAkey", path("intermediate.key"),
               "-keyout", path("leaf.key"), "-out", path("leaf.crt")])
        let served = try String(contentsOfFile: path("leaf.crt"), encoding: .utf8)
            + String(contentsOfFile: path("intermediate.crt"), encoding: .utf8)
        try served.write(toFile: path("served.crt"), atomically: true, encoding: .utf8)
        return CertificateChain(
            root: path("root.crt"), served: path("served.crt"), leafKey: path("leaf.key"),
            leafFingerprint: try await fingerprint(path("leaf.crt")),
            intermediateFingerprint: try await fingerprint(path("intermediate.crt")))
    }

    private static func openssl(_ arguments: [String]) async throws {
        let result = try await TestTools.run(["openssl"] + arguments)
        guard result.status == 0 else { throw TestToolError("openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(result.stderr)") }
    }

    /// The SHA-256 fingerprint as sslyze's JSON has it: base64.
    private static func fingerprint(_ certificate: String) async throws -> String {
        let result = try await TestTools.run(["openssl", "x509", "-in", certificate, "-noout", "-fingerprint", "-sha256"])
        guard result.status == 0, let equals = result.stdout.firstIndex(of: "=") else {
            throw TestToolError("openssl x509 -fingerprint failed: \(result.stderr)")
        }
        let hex = result.stdout[result.stdout.index(after: equals)...].trimmingCharacters(in: .whitespacesAndNewlines)
        return Data(hex.split(separator: ":").compactMap { UInt8($0, radix: 16) }).base64EncodedString()
    }
}

/// sslyze's `--json_out` report for one server, read through the fields the test checks.
private struct SSLyzeReport {
    /// One accepted or rejected cipher suite.
    struct Suite {
        var name: String
        var isAnonymous: Bool
        var keySize: Int
        var ephemeralKeyType: String?

        /// AES-GCM, ChaCha20-Poly1305 or AES-CCM: authenticated encryption, no CBC or stream cipher.
        var isAEAD: Bool { ["_GCM_", "_CHACHA20_POLY1305_", "_CCM"].contains { name.contains($0) } }
    }

    private let scanResult: [String: Any]

    /// Python re-serializes the report first, integers too large for a Double (RSA moduli) as strings.
    static let normalize = """
        import json, sys
        def fix(value):
            if isinstance(value, dict): return {key: fix(item) for key, item in value.items()}
            if isinstance(value, list): return [fix(item) for item in value]
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2 ** 53: return str(value)
            return value
        json.dump(fix(json.load(open(sys.argv[1]))), sys.stdout)
        """

    init(path: String) async throws {
        let normalized = try await TestTools.run(["python3", "-c", Self.normalize, path])
        guard normalized.status == 0 else { throw TestToolError("cannot read the sslyze report: \(normalized.stderr)") }
        let root = try JSONSerialization.jsonObject(with: Data(normalized.stdout.utf8)) as? [String: Any]
        guard let server = (root?["server_scan_results"] as? [[String: Any]])?.first else {
            throw TestToolError("sslyze report without server_scan_results")
        }
        guard server["connectivity_status"] as? String == "COMPLETED", server["scan_status"] as? String == "COMPLETED",
              let scanResult = server["scan_result"] as? [String: Any]
        else {
            throw TestToolError("sslyze could not scan: \(server["connectivity_error_trace"] ?? server["scan_status"] ?? "?")")
        }
        self.scanResult = scanResult
    }

    /// The `result` of one scan command, which must have completed.
    func result(_ command: String) throws -> [String: Any] {
        guard let attempt = scanResult[command] as? [String: Any] else { throw TestToolError("sslyze did not run \(command)") }
        guard attempt["status"] as? String == "COMPLETED", let result = attempt["result"] as? [String: Any] else {
            throw TestToolError("sslyze \(command): \(attempt["status"] ?? "?"): \(attempt["error_trace"] ?? attempt["error_reason"] ?? "")")
        }
        return result
    }

    static func suites(_ result: [String: Any], _ key: String) -> [Suite] {
        (result[key] as? [[String: Any]] ?? []).compactMap { entry in
            guard let suite = entry["cipher_suite"] as? [String: Any], let name = suite["name"] as? String else { return nil }
            return Suite(
                name: name, isAnonymous: suite["is_anonymous"] as? Bool ?? true, keySize: suite["key_size"] as? Int ?? 0,
                ephemeralKeyType: (entry["ephemeral_key"] as? [String: Any])?["type_name"] as? String)
        }
    }
}
