import Foundation

/// The body of Vultr's `POST /v2/oidc/issuer`, which makes Vultr's STS trust a cluster's
/// ServiceAccount tokens: `{"source": "vke", "source_id": ID}` for a VKE cluster, or for any
/// other cluster one `{"source": "external", "uri", "kid", "kty", "n", "e", "alg", "use"}` per
/// signing key of its JWKS.
struct OIDCIssuerBody: Sendable, Equatable {
    /// The body's fields; every value is a string.
    let fields: [String: String]

    /// The body for VKE cluster `clusterID`.
    static func vke(clusterID: String) -> OIDCIssuerBody {
        OIDCIssuerBody(fields: ["source": "vke", "source_id": clusterID])
    }

    /// One body per key of `jwks` (the cluster's `/openid/v1/jwks` document), each naming
    /// `jwksURI`, the URL Vultr reads the keys from.
    static func external(jwks: [UInt8], jwksURI: String) throws(ConfigurationError) -> [OIDCIssuerBody] {
        guard let document = try? JSONSerialization.jsonObject(with: Data(jwks)) as? [String: Any],
              let keys = document["keys"] as? [[String: Any]]
        else {
            throw ConfigurationError("the cluster's /openid/v1/jwks is not a JSON Web Key Set (no \"keys\" array)")
        }
        guard !keys.isEmpty else { throw ConfigurationError("the cluster's /openid/v1/jwks holds no keys") }
        return try keys.map { key throws(ConfigurationError) in
            func field(_ name: String) throws(ConfigurationError) -> String {
                guard let value = key[name] as? String, !value.isEmpty else {
                    throw ConfigurationError("a key in the cluster's /openid/v1/jwks has no \"\(name)\"")
                }
                return value
            }
            let kid = try field("kid")
            guard try field("kty") == "RSA" else {
                throw ConfigurationError("key \(kid) in the cluster's /openid/v1/jwks is not RSA; the issuer body carries RSA keys (n, e)")
            }
            // Kubernetes writes both; RS256 and sig are what it means when they are absent.
            return OIDCIssuerBody(fields: [
                "source": "external", "uri": jwksURI, "kid": kid, "kty": "RSA", "n": try field("n"), "e": try field("e"),
                "alg": key["alg"] as? String ?? "RS256", "use": key["use"] as? String ?? "sig",
            ])
        }
    }

    /// The `jwks_uri` of an OpenID discovery document (`/.well-known/openid-configuration`).
    static func jwksURI(fromDiscovery document: [UInt8]) throws(ConfigurationError) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(document)) as? [String: Any] else {
            throw ConfigurationError("the cluster's /.well-known/openid-configuration is not a JSON object")
        }
        guard let uri = object["jwks_uri"] as? String, uri.hasPrefix("https://") else {
            throw ConfigurationError("the cluster's /.well-known/openid-configuration has no https jwks_uri; pass --jwks-uri")
        }
        return uri
    }

    /// The body as compact JSON with sorted keys, on one line.
    var json: String {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
