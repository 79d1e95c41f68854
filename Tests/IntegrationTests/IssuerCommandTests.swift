import Foundation
import Testing
import TestKubernetesAPI

/// `irsa-webhook issuer` against a fake HTTPS Vultr API and a fake cluster on 127.0.0.1: the
/// body for a VKE cluster and one per signing key read from a cluster, `--apply` sending them
/// with the API key, and clear errors (401, a 4xx with the API's message, an unreachable API,
/// a missing key), with the key never in the output.
@Suite struct IssuerCommandTests {
    static let apiKey = "TESTKEY7Q2XJ5VULTRAPIKEYNEVERPRINTED"

    /// Runs the issuer command with `environment` (plus PATH) and no other.
    static func issuer(_ arguments: [String], environment: [String: String] = [:]) async throws -> TestTools.Result {
        var variables = environment
        variables["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return try await TestTools.run([WebhookProcess.binaryPath, "issuer"] + arguments, environment: variables, timeout: .seconds(30))
    }

    static func lines(_ text: String) -> [[String: String]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
    }

    @Test func vkeClusterBodyIsPrintedAndAppliedWithTheKey() async throws {
        let vultr = try await FakeVultrAPI(apiKey: Self.apiKey)
        let printed = try await Self.issuer(["--vke-cluster-id", "4b4d3d0c-4e5b-4b2a-9d8e-1f2a3b4c5d6e"])
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(printed.stdout == #"{"source":"vke","source_id":"4b4d3d0c-4e5b-4b2a-9d8e-1f2a3b4c5d6e"}"# + "\n")
        #expect(vultr.requests.isEmpty, "without --apply nothing is sent")

        let applied = try await Self.issuer(
            ["--vke-cluster-id", "4b4d3d0c-4e5b-4b2a-9d8e-1f2a3b4c5d6e", "--apply", "--vultr-api-url", vultr.url],
            environment: ["VULTR_API_KEY": Self.apiKey, "SSL_CERT_FILE": vultr.certificateFile])
        #expect(applied.status == 0, "\(applied.stderr)")
        let requests = vultr.requests
        #expect(requests.count == 1)
        #expect(requests.first?.path == "/v2/oidc/issuer")
        #expect(requests.first?.authorization == "Bearer \(Self.apiKey)")
        #expect(requests.first?.contentType == "application/json")
        let sent = try #require(requests.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: String] })
        #expect(sent == ["source": "vke", "source_id": "4b4d3d0c-4e5b-4b2a-9d8e-1f2a3b4c5d6e"])
        // The body, then Vultr's answer.
        let output = applied.stdout.split(separator: "\n")
        #expect(output.count == 2, "\(applied.stdout)")
        #expect(output.last?.contains("cb676a46-66fd-4dfb-b839-443f2e6c0b60") == true, "\(applied.stdout)")
        #expect(!(applied.stdout + applied.stderr).contains(Self.apiKey))
    }

    @Test func externalClusterGetsOneBodyPerSigningKey() async throws {
        let cluster = try FakeKubernetesAPI()
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let kubeconfig = try TestTools.write(cluster.kubeconfig, to: "kubeconfig", in: directory)
        let key = try #require(cluster.jwks.first)

        let discovered = try await Self.issuer(["--kubeconfig", kubeconfig])
        #expect(discovered.status == 0, "\(discovered.stderr)")
        let bodies = Self.lines(discovered.stdout)
        #expect(bodies.count == cluster.jwks.count, "\(discovered.stdout)")
        #expect(bodies.first == [
            "source": "external", "uri": "https://127.0.0.1:\(cluster.port)/openid/v1/jwks",
            "kid": key.kid, "kty": key.kty, "n": key.n, "e": key.e, "alg": key.alg, "use": key.use,
        ])
        #expect(cluster.requests.contains { $0.contains("/.well-known/openid-configuration") }, "\(cluster.requests)")
        #expect(cluster.requests.contains { $0.contains("/openid/v1/jwks") }, "\(cluster.requests)")

        // --jwks-uri: the public URL Vultr reads the keys from, instead of the API server's own.
        let vultr = try await FakeVultrAPI(apiKey: Self.apiKey)
        let applied = try await Self.issuer(
            ["--kubeconfig", kubeconfig, "--jwks-uri", "https://oidc.example.com/openid/v1/jwks", "--apply", "--vultr-api-url", vultr.url],
            environment: ["VULTR_API_KEY": Self.apiKey, "SSL_CERT_FILE": vultr.certificateFile])
        #expect(applied.status == 0, "\(applied.stderr)")
        let sent = vultr.requests.compactMap { try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: String] }
        #expect(sent.count == 1)
        #expect(sent.first?["uri"] == "https://oidc.example.com/openid/v1/jwks")
        #expect(sent.first?["n"] == key.n && sent.first?["kid"] == key.kid)
        #expect(!(applied.stdout + applied.stderr).contains(Self.apiKey))
    }

    /// A cluster in the middle of a key rotation serves two keys: two bodies are printed, and
    /// `--apply` registers both. A key Vultr's body cannot carry (not RSA) is refused by name.
    @Test func everyKeyOfARotatingClusterIsRegistered() async throws {
        let cluster = try FakeKubernetesAPI()
        let kubeconfig = try cluster.directory.write("kubeconfig", cluster.kubeconfig)
        let key = try #require(cluster.jwks.first)
        let current = ["use": key.use, "kty": key.kty, "kid": key.kid, "alg": key.alg, "n": key.n, "e": key.e]
        var previous = current
        previous["kid"] = "previous-key"
        previous["n"] = String(key.n.reversed())
        _ = try cluster.directory.write("jwks.json", try JSONSerialization.data(withJSONObject: ["keys": [current, previous]]))

        let vultr = try await FakeVultrAPI(apiKey: Self.apiKey)
        let applied = try await Self.issuer(
            ["--kubeconfig", kubeconfig, "--apply", "--vultr-api-url", vultr.url],
            environment: ["VULTR_API_KEY": Self.apiKey, "SSL_CERT_FILE": vultr.certificateFile])
        #expect(applied.status == 0, "\(applied.stderr)")
        let printed = Self.lines(applied.stdout).filter { $0["source"] == "external" }
        #expect(printed.map { $0["kid"] } == [key.kid, "previous-key"], "\(applied.stdout)")
        let sent = vultr.requests.compactMap { try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: String] }
        #expect(sent.map { $0["kid"] } == [key.kid, "previous-key"], "\(vultr.requests.map(\.body))")
        #expect(sent.last?["n"] == previous["n"] && sent.allSatisfy { $0["uri"] == "https://127.0.0.1:\(cluster.port)/openid/v1/jwks" })

        let elliptic: [String: String] = ["use": "sig", "kty": "EC", "kid": "ec-key", "alg": "ES256", "crv": "P-256", "x": "AQ", "y": "AQ"]
        _ = try cluster.directory.write("jwks.json", try JSONSerialization.data(withJSONObject: ["keys": [current, elliptic]]))
        let refused = try await Self.issuer(["--kubeconfig", kubeconfig])
        #expect(refused.status == 2)
        #expect(refused.stderr == "irsa-webhook: error: key ec-key in the cluster's /openid/v1/jwks is not RSA; the issuer body carries RSA keys (n, e)\n",
                "\(refused.stderr)")
    }

    @Test func refusedAndFailedRegistrationsSayWhy() async throws {
        let vultr = try await FakeVultrAPI(apiKey: Self.apiKey)
        let arguments = ["--vke-cluster-id", "c-1", "--apply", "--vultr-api-url", vultr.url]
        let wrongKey = "WRONGKEY5TWELVECHARSLONGNOTTHEONE"
        let unauthorized = try await Self.issuer(arguments, environment: ["VULTR_API_KEY": wrongKey, "SSL_CERT_FILE": vultr.certificateFile])
        #expect(unauthorized.status == 1)
        #expect(unauthorized.stderr.split(separator: "\n").count == 1, "\(unauthorized.stderr)")
        #expect(unauthorized.stderr.contains("401") && unauthorized.stderr.contains("VULTR_API_KEY"), "\(unauthorized.stderr)")
        #expect(!(unauthorized.stdout + unauthorized.stderr).contains(wrongKey))

        let rejecting = try await FakeVultrAPI(apiKey: Self.apiKey, rejection: "An OIDC issuer for this cluster already exists.")
        let rejected = try await Self.issuer(
            ["--vke-cluster-id", "c-1", "--apply", "--vultr-api-url", rejecting.url],
            environment: ["VULTR_API_KEY": Self.apiKey, "SSL_CERT_FILE": rejecting.certificateFile])
        #expect(rejected.status == 1)
        #expect(rejected.stderr == "irsa-webhook issuer: the Vultr API answered 400: An OIDC issuer for this cluster already exists.\n")
        #expect(!(rejected.stdout + rejected.stderr).contains(Self.apiKey))

        let unreachable = try await Self.issuer(
            ["--vke-cluster-id", "c-1", "--apply", "--vultr-api-url", "https://127.0.0.1:\(try TestTools.freePort())", "--timeout", "3s"],
            environment: ["VULTR_API_KEY": Self.apiKey])
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.hasPrefix("irsa-webhook issuer: cannot reach the Vultr API at https://127.0.0.1:"), "\(unreachable.stderr)")
        #expect(!(unreachable.stdout + unreachable.stderr).contains(Self.apiKey))

        // The key goes only to an https URL.
        let plain = try await Self.issuer(
            ["--vke-cluster-id", "c-1", "--apply", "--vultr-api-url", "http://127.0.0.1:\(try TestTools.freePort())"],
            environment: ["VULTR_API_KEY": Self.apiKey])
        #expect(plain.status == 2)
        #expect(plain.stderr.hasPrefix("irsa-webhook: error: --vultr-api-url must be an https URL"), "\(plain.stderr)")
        #expect(!(plain.stdout + plain.stderr).contains(Self.apiKey))

        let noKey = try await Self.issuer(arguments)
        #expect(noKey.status == 2)
        #expect(noKey.stderr == "irsa-webhook: error: --apply needs the Vultr API key in the VULTR_API_KEY environment variable\n")
        let neither = try await Self.issuer([])
        #expect(neither.status == 2 && neither.stderr.contains("--vke-cluster-id"), "\(neither.stderr)")
        let both = try await Self.issuer(["--vke-cluster-id", "c-1", "--kubeconfig", "/nonexistent"])
        #expect(both.status == 2 && both.stderr.contains("not both"), "\(both.stderr)")
    }
}
