import Foundation

/// One RSA public key of a JSON Web Key Set (RFC 7517) as kube-apiserver serves it at
/// /openid/v1/jwks: `kid` is the unpadded base64url SHA-256 of the key's DER SubjectPublicKeyInfo,
/// `n` and `e` the unpadded base64url big-endian modulus and exponent.
public struct JSONWebKey: Sendable, Equatable, Codable {
    public let use: String
    public let kty: String
    public let kid: String
    public let alg: String
    public let n: String
    public let e: String
}

/// The RSA 2048 key pair a kube-apiserver signs ServiceAccount tokens with, made by the openssl
/// CLI once per test process (its prime search costs a good fraction of a second on a loaded
/// machine) and shared by every fake, with its key set computed from openssl's own output.
struct ServiceAccountSigningKey: Sendable {
    let privateKeyPEM: String
    let publicKeyPEM: String
    let jwks: [JSONWebKey]

    static let shared = Result { try ServiceAccountSigningKey() }

    private init() throws {
        let directory = try TemporaryDirectory()
        _ = try FakeKubernetesAPI.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key"],
                                          in: directory.path)
        _ = try FakeKubernetesAPI.openssl(["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"], in: directory.path)
        privateKeyPEM = try String(contentsOfFile: directory.path + "/sa.key", encoding: .utf8)
        publicKeyPEM = try String(contentsOfFile: directory.path + "/sa.pub", encoding: .utf8)
        jwks = try FakeKubernetesAPI.serviceAccountKeySet(in: directory.path)
    }
}

extension FakeKubernetesAPI {
    /// The key set of `sa.pub` in `directory`, computed from the openssl CLI's own output (the
    /// modulus and exponent it prints, its SHA-256 of the DER key), independent of the server.
    static func serviceAccountKeySet(in directory: String) throws -> [JSONWebKey] {
        _ = try openssl(["pkey", "-pubin", "-in", "sa.pub", "-outform", "DER", "-out", "sa.pub.der"], in: directory)
        let digest = try openssl(["dgst", "-sha256", "-binary", "sa.pub.der"], in: directory)
        let modulusLine = String(decoding: try openssl(["rsa", "-pubin", "-in", "sa.pub", "-noout", "-modulus"], in: directory),
                                 as: UTF8.self)
        let text = String(decoding: try openssl(["rsa", "-pubin", "-in", "sa.pub", "-noout", "-text"], in: directory), as: UTF8.self)
        guard let modulusHex = modulusLine.split(separator: "=").last.map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }),
              let modulus = bytes(hex: modulusHex),
              let exponentLine = text.split(separator: "\n").first(where: { $0.hasPrefix("Exponent:") }),
              let exponent = UInt64(exponentLine.split(separator: " ")[1])
        else { throw Failure(description: "cannot read the service account key's modulus and exponent") }
        var exponentBytes = withUnsafeBytes(of: exponent.bigEndian, Array.init)
        exponentBytes.removeFirst(exponentBytes.prefix(while: { $0 == 0 }).count)
        return [JSONWebKey(use: "sig", kty: "RSA", kid: base64URL(digest), alg: "RS256", n: base64URL(Data(modulus)),
                           e: base64URL(Data(exponentBytes)))]
    }

    /// Unpadded base64url (RFC 4648 section 5), as JOSE uses it.
    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array((hex.count % 2 == 1 ? "0" + hex : hex).utf8)
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
