import Foundation
import Testing
import TestKubernetesAPI

/// The fake Kubernetes API speaks the real protocol: checked with curl over real TLS.
@Suite struct FakeKubernetesAPITests {
    private func get(_ api: FakeKubernetesAPI, _ path: String) async throws -> KubernetesAPIRequest {
        try await KubernetesAPIRequest.get(path, port: api.port, caFile: api.certificateAuthorityFile, token: api.token)
    }

    /// The OIDC discovery document and key set, as kube-apiserver serves them; the key set
    /// matches what openssl says about the key.
    @Test func servesTheServiceAccountIssuerDiscovery() async throws {
        let api = try FakeKubernetesAPI(issuer: "https://issuer.example")
        let discovery = try await get(api, "/.well-known/openid-configuration")
        #expect(discovery.status == 200 && discovery.fields["content-type"] == "application/json")
        let document = try #require(discovery.json)
        #expect(document["issuer"] as? String == "https://issuer.example")
        #expect(document["jwks_uri"] as? String == "https://127.0.0.1:\(api.port)/openid/v1/jwks")
        #expect(document["response_types_supported"] as? [String] == ["id_token"])
        #expect(document["subject_types_supported"] as? [String] == ["public"])
        #expect(document["id_token_signing_alg_values_supported"] as? [String] == ["RS256"])

        let keys = try await get(api, "/openid/v1/jwks")
        #expect(keys.status == 200 && keys.fields["content-type"] == "application/jwk-set+json")
        let set = try JSONDecoder().decode([String: [JSONWebKey]].self, from: Data(keys.body.utf8))
        #expect(set["keys"] == api.jwks)
        let key = try #require(api.jwks.first)
        #expect(key.kty == "RSA" && key.alg == "RS256" && key.use == "sig" && key.e == "AQAB")
        #expect(key.n.count == 342 && key.kid.count == 43, "2048-bit modulus and SHA-256 key ID, unpadded base64url")
        #expect(api.serviceAccountPublicKeyPEM.hasPrefix("-----BEGIN PUBLIC KEY-----"))
    }
}
