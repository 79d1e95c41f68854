import Foundation

/// Dev mode's self-signed certificate: made with the `openssl` command at start, valid for
/// 127.0.0.1 and localhost. The certificate is its own CA, so clients trust it with `--cacert`.
enum DevCertificate {
    /// Where dev mode keeps its certificate and key.
    static let directory = "/tmp/irsa-webhook-dev"

    /// Writes a fresh ECDSA P-256 certificate and key; returns (certificate, key) paths.
    static func generate() throws(ConfigurationError) -> (certificate: String, key: String) {
        let certificate = directory + "/tls.crt"
        let key = directory + "/tls.key"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ConfigurationError("dev mode: cannot create \(directory): \(error)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "365", "-subj", "/CN=irsa-webhook dev", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-addext", "basicConstraints=critical,CA:TRUE", "-keyout", key, "-out", certificate,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw ConfigurationError("dev mode: cannot run openssl to make a certificate: \(error)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ConfigurationError("dev mode: openssl failed to make a certificate (exit \(process.terminationStatus))")
        }
        return (certificate, key)
    }

    /// The ready-to-paste command that posts the sample review and shows the pod it makes.
    static func curlCommand(port: UInt16, certificate: String) -> String {
        """
        curl -s --cacert \(certificate) -H 'Content-Type: application/json' \\
          --data-binary @\(DevSamples.reviewPath()) https://127.0.0.1:\(port)/mutate \\
          | python3 \(DevSamples.showPodScript) \(DevSamples.reviewPath())
        """
    }
}
