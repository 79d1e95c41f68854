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

    /// Runs the script with `--out out` (an existing directory or not) and `arguments`; requires success.
    @discardableResult
    static func generate(into out: URL, _ arguments: [String] = []) async throws -> TestTools.Result {
        let result = try await TestTools.run(["bash", Deploy.url("generate-certs.sh").path, "--out", out.path] + arguments,
                                             timeout: .seconds(60))
        try #require(result.status == 0, "generate-certs.sh failed: \(result.stderr)")
        return result
    }

    /// The bytes of out/<file>.
    static func bytes(_ out: URL, _ file: String) throws -> Data {
        try Data(contentsOf: out.appendingPathComponent(file))
    }

    /// The PEM certificates webhook.yaml's caBundle holds, in order.
    static func caBundle(_ out: URL, _ file: String = "webhook.yaml") throws -> [String] {
        let documents = try Deploy.documents(yaml: String(contentsOf: out.appendingPathComponent(file), encoding: .utf8))
        let webhook = try #require(documents.first { $0["kind"]?.string == "MutatingWebhookConfiguration" })
        let encoded = webhook["webhooks"]?[0]?["clientConfig"]?["caBundle"]?.string ?? ""
        let pem = try #require(Data(base64Encoded: encoded).flatMap { String(data: $0, encoding: .utf8) })
        return pem.components(separatedBy: "-----END CERTIFICATE-----\n").filter { !$0.isEmpty }
            .map { $0 + "-----END CERTIFICATE-----\n" }
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

    @Test("secret.yaml, webhook.yaml, deploy.yaml and webhook-url.yaml carry the new certificate and CA")
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

            for (file, source) in [("webhook.yaml", "webhook.yaml"), ("deploy.yaml", "deploy.yaml"),
                                   ("webhook-url.yaml", "systemd/webhook-url.yaml")] {
                let text = try String(contentsOf: out.appendingPathComponent(file), encoding: .utf8)
                let patched = try Deploy.documents(yaml: text)
                let original = try Deploy.documents(source)
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
                let files = ["secret.yaml", "webhook.yaml", "deploy.yaml", "webhook-url.yaml"].map { out.appendingPathComponent($0).path }
                let schema = try await TestTools.run(["kubernetes-validate", "--strict", "--quiet"] + files, timeout: .seconds(120))
                #expect(schema.status == 0, "\(schema.stdout)\(schema.stderr)")
            }
        }
    }

    @Test("a re-run reuses the CA: caBundle unchanged, only the serving certificate renewed")
    func rerunKeepsTheCA() async throws {
        try await Self.withGeneratedCertificates { out in
            let ca = try Self.bytes(out, "ca.crt"), caKey = try Self.bytes(out, "ca.key")
            let firstLeaf = try Self.bytes(out, "tls.crt"), firstKey = try Self.bytes(out, "tls.key")
            let bundle = try Self.caBundle(out)
            let second = try await Self.generate(into: out)
            #expect(try Self.bytes(out, "ca.crt") == ca)
            #expect(try Self.bytes(out, "ca.key") == caKey)
            #expect(try Self.caBundle(out) == bundle)
            #expect(try Self.caBundle(out, "deploy.yaml") == bundle)
            #expect(bundle == [String(decoding: ca, as: UTF8.self)])
            #expect(try Self.bytes(out, "tls.crt") != firstLeaf, "the serving certificate is renewed")
            #expect(try Self.bytes(out, "tls.key") != firstKey)
            let verify = try await Self.openssl(["verify", "-CAfile", out.appendingPathComponent("ca.crt").path,
                                                 out.appendingPathComponent("tls.crt").path])
            #expect(verify.status == 0, "\(verify.stderr)")
            #expect(second.stderr.contains("reused the CA (caBundle unchanged)"), "\(second.stderr)")
            #expect(second.stderr.contains("kubectl apply -f \(out.path)/secret.yaml"))
            #expect(!second.stderr.contains("-f \(out.path)/webhook.yaml"), "caBundle unchanged: nothing to re-register")
        }
    }

    @Test("--new-ca replaces the CA, trusts both in caBundle, prints the steps; the next run drops the old one")
    func newCA() async throws {
        try await Self.withGeneratedCertificates { out in
            let oldCA = String(decoding: try Self.bytes(out, "ca.crt"), as: UTF8.self)
            let replaced = try await Self.generate(into: out, ["--new-ca"])
            let newCA = String(decoding: try Self.bytes(out, "ca.crt"), as: UTF8.self)
            #expect(newCA != oldCA)
            #expect(try Self.caBundle(out) == [newCA, oldCA], "caBundle trusts the new CA and, until the next run, the old")
            #expect(try Self.caBundle(out, "deploy.yaml") == [newCA, oldCA])
            #expect(replaced.stderr.contains("NEW CA"), "\(replaced.stderr)")
            #expect(replaced.stderr.contains("kubectl apply -f \(out.path)/webhook.yaml"), "the caBundle step is printed")
            #expect(replaced.stdout.isEmpty)
            let leafFromNew = try await Self.openssl(["verify", "-CAfile", out.appendingPathComponent("ca.crt").path,
                                                      out.appendingPathComponent("tls.crt").path])
            #expect(leafFromNew.status == 0, "the serving certificate is signed by the new CA")

            let after = try await Self.generate(into: out)
            #expect(try Self.caBundle(out) == [newCA])
            #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("ca.previous.crt").path))
            #expect(after.stderr.contains("no longer trusts the previous CA") && after.stderr.contains("-f \(out.path)/webhook.yaml"),
                    "dropping the old CA asks for webhook.yaml again: \(after.stderr)")
        }
    }

    @Test("a CA key that is not the CA's, or half a CA, is refused instead of replaced")
    func brokenCAIsRefused() async throws {
        try await Self.withGeneratedCertificates { out in
            let other = try TestTools.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: other) }
            try await Self.generate(into: other)
            try FileManager.default.removeItem(at: out.appendingPathComponent("ca.key"))
            try FileManager.default.copyItem(at: other.appendingPathComponent("ca.key"), to: out.appendingPathComponent("ca.key"))
            let ca = try Self.bytes(out, "ca.crt")
            let mismatched = try await TestTools.run(["bash", Deploy.url("generate-certs.sh").path, "--out", out.path], timeout: .seconds(60))
            #expect(mismatched.status == 1)
            #expect(mismatched.stderr.contains("is not the key of"), "\(mismatched.stderr)")
            #expect(try Self.bytes(out, "ca.crt") == ca, "nothing is overwritten")

            try FileManager.default.removeItem(at: out.appendingPathComponent("ca.key"))
            let half = try await TestTools.run(["bash", Deploy.url("generate-certs.sh").path, "--out", out.path], timeout: .seconds(60))
            #expect(half.status == 1)
            #expect(half.stderr.contains("only one of ca.crt and ca.key"), "\(half.stderr)")
        }
    }

    @Test("--namespace puts every object it writes, and the certificate's names, in that namespace")
    func namespaceEverywhere() async throws {
        try await Self.withGeneratedCertificates(["--namespace", "team-a"]) { out in
            for file in ["secret.yaml", "webhook.yaml", "deploy.yaml", "webhook-url.yaml"] {
                let text = try String(contentsOf: out.appendingPathComponent(file), encoding: .utf8)
                #expect(!text.contains("irsa-system"), "\(file) still names irsa-system")
                for object in try Deploy.documents(yaml: text) {
                    let kind = object["kind"]?.string ?? "?"
                    if let namespace = object["metadata"]?["namespace"]?.string {
                        #expect(namespace == "team-a", "\(file): \(kind) in \(namespace)")
                    }
                    if kind == "Namespace" { #expect(object["metadata"]?["name"]?.string == "team-a") }
                    if kind == "ClusterRoleBinding" {
                        #expect(object["subjects"]?[0]?["namespace"]?.string == "team-a")
                    }
                    if kind == "MutatingWebhookConfiguration" {
                        let hook = try #require(object["webhooks"]?[0])
                        if file != "webhook-url.yaml" {
                            #expect(hook["clientConfig"]?["service"]?["namespace"]?.string == "team-a")
                        }
                        let selector = LabelSelector(node: try #require(hook["namespaceSelector"]))
                        #expect(try !selector.matches(["kubernetes.io/metadata.name": "team-a"]),
                                "the webhook's own namespace stays excluded")
                        #expect(try selector.matches(["kubernetes.io/metadata.name": "irsa-system"]))
                    }
                }
            }
            let sans = try await Self.openssl(["x509", "-in", out.appendingPathComponent("tls.crt").path, "-noout", "-ext", "subjectAltName"]).stdout
            #expect(sans.contains("DNS:irsa-webhook.team-a.svc,") && sans.contains("DNS:irsa-webhook.team-a.svc.cluster.local"))
            if Deploy.which("kubernetes-validate") != nil {
                let files = ["secret.yaml", "webhook.yaml", "deploy.yaml"].map { out.appendingPathComponent($0).path }
                let schema = try await TestTools.run(["kubernetes-validate", "--strict", "--quiet"] + files, timeout: .seconds(120))
                #expect(schema.status == 0, "\(schema.stdout)\(schema.stderr)")
            }
        }
    }

    @Test("--apply applies the caBundle before the Secret, and alone refuses a registered webhook")
    func applyOrder() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A kubectl that records its arguments and answers `get` with $REGISTERED_CA_BUNDLE: the
        // script's calls are what is checked here (no API server runs on this machine).
        let bin = directory.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let kubectl = try TestTools.write(#"""
            #!/bin/sh
            echo "$*" >> "$KUBECTL_LOG"
            if [ "$1" = get ]; then printf '%s' "$REGISTERED_CA_BUNDLE"; fi
            """# + "\n", to: "bin/kubectl", in: directory)
        #expect(chmod(kubectl, 0o755) == 0)
        let log = directory.appendingPathComponent("kubectl.log")
        func run(_ arguments: [String], registered: String = "") async throws -> (TestTools.Result, [String]) {
            try? FileManager.default.removeItem(at: log)
            var environment = ProcessInfo.processInfo.environment
            environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
            environment["KUBECTL_LOG"] = log.path
            environment["REGISTERED_CA_BUNDLE"] = registered
            let result = try await TestTools.run(["bash", Deploy.url("generate-certs.sh").path] + arguments,
                                                 environment: environment, timeout: .seconds(60))
            let calls = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            return (result, calls)
        }

        let out = directory.appendingPathComponent("certs").path
        for arguments in [["--out", out, "--apply"], ["--out", out, "--new-ca", "--apply"], ["--out", out, "--apply"]] {
            let (result, calls) = try await run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(calls == ["apply -f \(out)/webhook.yaml", "apply -f \(out)/secret.yaml"], "\(arguments)")
        }

        let (first, firstCalls) = try await run(["--apply"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(firstCalls.count == 3 && firstCalls[0].hasPrefix("get mutatingwebhookconfiguration irsa-webhook"), "\(firstCalls)")
        #expect(firstCalls.dropFirst().map { $0.hasSuffix("/webhook.yaml") } == [true, false], "\(firstCalls)")

        let (renewal, renewalCalls) = try await run(["--apply"], registered: "LS0tLS1CRUdJTg==")
        #expect(renewal.status == 1)
        #expect(renewal.stderr.contains("registered already") && renewal.stderr.contains("--out DIR"), "\(renewal.stderr)")
        #expect(renewalCalls.count == 1, "nothing applied: \(renewalCalls)")
    }

    @Test("--help prints the usage on standard output and exits 0")
    func help() async throws {
        for flag in ["--help", "-h"] {
            let result = try await TestTools.run(["bash", Deploy.url("generate-certs.sh").path, flag], timeout: .seconds(20))
            #expect(result.status == 0)
            #expect(result.stdout.contains("Usage:") && result.stdout.contains("--new-ca") && result.stdout.contains("--namespace"))
            #expect(result.stderr.isEmpty)
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
          arguments: [["--san", "webhook.example"], ["--days", "ten"], ["--out"], ["--frobnicate"],
                      ["--namespace", "Team_A"], ["--namespace", "a.b"], ["--new-ca"]])
    func badArguments(arguments: [String]) async throws {
        let result = try await TestTools.run(["bash", Deploy.url("generate-certs.sh").path] + arguments, timeout: .seconds(20))
        #expect(result.status == 2)
        #expect(result.stderr.contains("generate-certs.sh"))
        #expect(result.stdout.isEmpty)
    }
}
