import Foundation

/// A throwaway CA made with openssl at test time, and leaf certificates for IP:127.0.0.1 that
/// it signs, so a client trusting the CA accepts every leaf (rotation tests).
struct TestCertificateAuthority {
    let certificate: String
    let key: String
    private let directory: URL

    /// Makes the CA (ECDSA P-256, self-signed) as `ca.crt` and `ca.key` in `directory`.
    init(in directory: URL) async throws {
        self.directory = directory
        certificate = directory.appendingPathComponent("ca.crt").path
        key = directory.appendingPathComponent("ca.key").path
        let result = try await TestTools.run([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=irsa-webhook test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign", "-keyout", key, "-out", certificate,
        ])
        guard result.status == 0 else { throw TestToolError("openssl req (CA) failed: \(result.stderr)") }
    }

    /// Makes `<name>.crt` and `<name>.key` in the CA's directory: a leaf for IP:127.0.0.1 with
    /// serial `serial`, signed by the CA.
    func issue(name: String, serial: Int) async throws -> (certificate: String, key: String) {
        let leafKey = directory.appendingPathComponent("\(name).key").path
        let request = directory.appendingPathComponent("\(name).csr").path
        let leaf = directory.appendingPathComponent("\(name).crt").path
        let extensions = try TestTools.write(
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
            to: "\(name).ext", in: directory)
        let made = try await TestTools.run([
            "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=leaf \(serial)", "-keyout", leafKey, "-out", request,
        ])
        guard made.status == 0 else { throw TestToolError("openssl req (leaf) failed: \(made.stderr)") }
        let signed = try await TestTools.run([
            "openssl", "x509", "-req", "-in", request, "-CA", certificate, "-CAkey", key, "-set_serial", "\(serial)",
            "-days", "2", "-extfile", extensions, "-out", leaf,
        ])
        guard signed.status == 0 else { throw TestToolError("openssl x509 -req failed: \(signed.stderr)") }
        return (leaf, leafKey)
    }
}
