import Foundation
import Testing
import Yams

/// deploy/generate-certs.sh, run for real with openssl: the certificate it makes must be one
/// the API server accepts for the Service's names, and the files it writes must carry it.
@Suite("deploy/generate-certs.sh")
struct DeployCertificateTests {
    static let serviceNames = ["irsa-webhook.irsa-system.svc", "irsa-webhook.irsa-system.svc.cluster.local"]

    /// Runs the script with `--out` into a fresh directory and hands that directory to `body`.
    static func withGeneratedCertificates(
        _ extraArguments: [String] = [],
        _ body: (URL) async throws -> Void
    ) async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("certs")
        let result = try await TestTools.run(
            ["bash", Deploy.url("generate-certs.sh").path, "--out", out.path] + extraArguments,
            timeout: .seconds(60))
        try #require(result.status == 0, "generate-certs.sh failed: \(result.stderr)")
        try await body(out)
    }

    static func openssl(_ arguments: [String]) async throws -> TestTools.Result {
        try await TestTools.run(["openssl"] + arguments, timeout: .seconds(20))
    }

    @Test("the CA verifies the serving certificate for each Service name, and for no other")
    func chainAndNames() async throws {
        try await Self.withGeneratedCertificates { out in
            let ca = out.appendingPathComponent("ca.crt").path
            let cert = out.appendingPathComponent("tls.crt").path
            for name in Self.serviceNames {
                let verify = try await Self.openssl(["verify", "-CAfile", ca, "-purpose", "sslserver", "-verify_hostname", name, cert])
                #expect(verify.status == 0, "\(name): \(verify.stdout) \(verify.stderr)")
                #expect(verify.stdout.contains("OK"))
            }
            let wrongName = try await Self.openssl(["verify", "-CAfile", ca, "-verify_hostname", "irsa-webhook.default.svc", cert])
            #expect(wrongName.status != 0, "a name the certificate is not for must not verify")
            // The CA is a CA; the serving certificate is not one.
            let asCA = try await Self.openssl(["verify", "-CAfile", cert, "-purpose", "sslserver", cert])
            #expect(asCA.status != 0, "the serving certificate must not be able to sign")
        }
    }

    @Test("the serving certificate: ECDSA P-256, exact SANs, server-only key usage")
    func servingCertificateContents() async throws {
        try await Self.withGeneratedCertificates { out in
            let cert = out.appendingPathComponent("tls.crt").path
            let text = try await Self.openssl(["x509", "-in", cert, "-noout", "-text"]).stdout
            #expect(text.contains("NIST CURVE: P-256"))
            #expect(text.contains("ecdsa-with-SHA256"))

            let sans = try await Self.openssl(["x509", "-in", cert, "-noout", "-ext", "subjectAltName"]).stdout
            let names = sans.components(separatedBy: CharacterSet(charactersIn: ", \n"))
                .filter { $0.hasPrefix("DNS:") }.map { String($0.dropFirst(4)) }
            #expect(names == Self.serviceNames)

            let usage = try await Self.openssl(["x509", "-in", cert, "-noout", "-ext", "keyUsage,extendedKeyUsage,basicConstraints"]).stdout
            #expect(usage.contains("X509v3 Key Usage: critical"))
            #expect(usage.contains("Digital Signature"))
            #expect(!usage.contains("Certificate Sign"))
            #expect(usage.contains("TLS Web Server Authentication"))
            #expect(usage.contains("CA:FALSE"))

            // The key is the certificate's.
            let keyPublic = try await Self.openssl(["pkey", "-in", out.appendingPathComponent("tls.key").path, "-pubout"]).stdout
            let certPublic = try await Self.openssl(["x509", "-in", cert, "-noout", "-pubkey"]).stdout
            #expect(!keyPublic.isEmpty && keyPublic == certPublic)

            let mode = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent("tls.key").path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "private keys must be readable by their owner only")
        }
    }

    @Test("--san adds names; a real TLS client accepts the Service name and rejects another")
    func extraSANsAndHandshake() async throws {
        try await Self.withGeneratedCertificates(["--san", "IP:127.0.0.1", "--san", "DNS:webhook.example"]) { out in
            let cert = out.appendingPathComponent("tls.crt").path
            let sans = try await Self.openssl(["x509", "-in", cert, "-noout", "-ext", "subjectAltName"]).stdout
            #expect(sans.contains("IP Address:127.0.0.1") && sans.contains("DNS:webhook.example"))
            #expect(Self.serviceNames.allSatisfy { sans.contains("DNS:\($0)") })

            let log = out.appendingPathComponent("s_server.log")
            try Data().write(to: log)
            let server = Process()
            server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            server.arguments = ["openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "2", "-www",
                                "-cert", cert, "-key", out.appendingPathComponent("tls.key").path]
            let logHandle = try FileHandle(forWritingTo: log)
            defer { try? logHandle.close() }
            server.standardOutput = logHandle
            server.standardError = logHandle
            try server.run()
            defer { if server.isRunning { server.terminate(); server.waitUntilExit() } }

            var port: String?
            let deadline = ContinuousClock.now + .seconds(10)
            while port == nil && ContinuousClock.now < deadline && server.isRunning {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                port = text.firstMatch(of: /ACCEPT 127\.0\.0\.1:(\d+)/).map { String($0.1) }
                if port == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            let listening = try #require(port, "openssl s_server did not start")

            func curl(_ host: String) async throws -> TestTools.Result {
                try await TestTools.run(["curl", "-sS", "--max-time", "5", "--resolve", "\(host):\(listening):127.0.0.1",
                                "--cacert", out.appendingPathComponent("ca.crt").path,
                                "-o", "/dev/null", "-w", "%{http_code}", "https://\(host):\(listening)/"],
                               timeout: .seconds(15))
            }
            let good = try await curl(Self.serviceNames[0])
            #expect(good.status == 0 && good.stdout == "200", "\(good.stderr)")
            let bad = try await curl("irsa-webhook.other.svc")
            #expect(bad.status == 60, "curl must reject a name the certificate is not for: \(bad.status) \(bad.stderr)")
        }
    }

    @Test("secret.yaml, webhook.yaml and deploy.yaml carry the new certificate and CA")
    func writtenManifests() async throws {
        try await Self.withGeneratedCertificates { out in
            let caPEM = try Data(contentsOf: out.appendingPathComponent("ca.crt"))

            let secret = try #require(try Deploy.documents(yaml: String(contentsOf: out.appendingPathComponent("secret.yaml"), encoding: .utf8)).first)
            #expect(secret["kind"]?.string == "Secret")
            #expect(secret["type"]?.string == "kubernetes.io/tls")
            #expect(secret["metadata"]?["name"]?.string == "irsa-webhook-tls")
            #expect(secret["metadata"]?["namespace"]?.string == "irsa-system")
            for key in ["tls.crt", "tls.key", "ca.crt"] {
                let encoded = secret["data"]?[key]?.string ?? ""
                #expect(Data(base64Encoded: encoded) == (try Data(contentsOf: out.appendingPathComponent(key))), "data.\(key)")
            }

            for file in ["webhook.yaml", "deploy.yaml"] {
                let text = try String(contentsOf: out.appendingPathComponent(file), encoding: .utf8)
                let patched = try Deploy.documents(yaml: text)
                let original = try Deploy.documents(file)
                #expect(patched.count == original.count)
                let index = try #require(original.firstIndex { $0["kind"]?.string == "MutatingWebhookConfiguration" })
                let bundle = patched[index]["webhooks"]?[0]?["clientConfig"]?["caBundle"]?.string ?? ""
                #expect(Data(base64Encoded: bundle) == caPEM, "\(file): caBundle is not the CA")
                // Everything but the caBundle is untouched.
                var restored = patched[index]
                var hook = try #require(restored["webhooks"]?[0])
                hook["clientConfig"]?["caBundle"] = Node("", Tag(.str))
                restored["webhooks"] = .sequence([hook])
                #expect(restored == original[index])
                for other in original.indices where other != index {
                    #expect(patched[other] == original[other])
                }
            }

            if Deploy.which("kubernetes-validate") != nil {
                let files = ["secret.yaml", "webhook.yaml", "deploy.yaml"].map { out.appendingPathComponent($0).path }
                let schema = try await TestTools.run(["kubernetes-validate", "--strict", "--quiet"] + files, timeout: .seconds(120))
                #expect(schema.status == 0, "\(schema.stdout)\(schema.stderr)")
            }
        }
    }

    @Test("without --out it prints the Secret and the patched webhook configuration")
    func stdoutMode() async throws {
        let result = try await TestTools.run(["bash", Deploy.url("generate-certs.sh").path], timeout: .seconds(60))
        #expect(result.status == 0, "\(result.stderr)")
        let documents = try Deploy.documents(yaml: result.stdout)
        #expect(documents.compactMap { $0["kind"]?.string } == ["Secret", "MutatingWebhookConfiguration"])
        let bundle = documents.last?["webhooks"]?[0]?["clientConfig"]?["caBundle"]?.string ?? ""
        let caPEM = try #require(Data(base64Encoded: bundle).flatMap { String(data: $0, encoding: .utf8) })
        #expect(caPEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(!result.stdout.contains("PRIVATE KEY-----"), "keys appear only base64-encoded in the Secret")
    }

    @Test("bad arguments are refused with a message and exit code 2",
          arguments: [["--san", "webhook.example"], ["--days", "ten"], ["--out"], ["--frobnicate"]])
    func badArguments(arguments: [String]) async throws {
        let result = try await TestTools.run(["bash", Deploy.url("generate-certs.sh").path] + arguments, timeout: .seconds(20))
        #expect(result.status == 2)
        #expect(result.stderr.contains("generate-certs.sh"))
        #expect(result.stdout.isEmpty)
    }
}
