import Foundation

/// A directory holding `tls.crt` and `tls.key` the way a certificate reaches the webhook:
/// `rename`, plain files (cert-manager, scripts); `symlink`, what the kubelet makes for a Secret
/// volume (`tls.crt -> ..data/tls.crt`, `..data -> ..gen0`).
struct CertificateDirectory {
    let directory: URL

    var certificate: String { directory.appendingPathComponent("tls.crt").path }
    var key: String { directory.appendingPathComponent("tls.key").path }

    /// Creates `directory` holding copies of `certificate` and `key` in `layout`.
    init(at directory: URL, layout: String, certificate: String, key: String) throws {
        self.directory = directory
        let manager = FileManager.default
        let files = layout == "rename" ? directory : directory.appendingPathComponent("..gen0")
        try manager.createDirectory(at: files, withIntermediateDirectories: true)
        try manager.copyItem(atPath: certificate, toPath: files.appendingPathComponent("tls.crt").path)
        try manager.copyItem(atPath: key, toPath: files.appendingPathComponent("tls.key").path)
        guard layout != "rename" else { return }
        try manager.createSymbolicLink(atPath: directory.appendingPathComponent("..data").path, withDestinationPath: "..gen0")
        for name in ["tls.crt", "tls.key"] {
            try manager.createSymbolicLink(atPath: directory.appendingPathComponent(name).path, withDestinationPath: "..data/\(name)")
        }
    }

    /// The webhook serving this directory's pair with the dev ServiceAccounts.
    func webhook(threads: Int = 1, extraArguments: [String] = []) throws -> WebhookProcess {
        try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "\(threads)",
            "--tls-cert-file", certificate, "--tls-key-file", key,
            "--service-accounts-file", TestTools.root.appendingPathComponent("deploy/dev/serviceaccounts.yaml").path,
        ] + extraArguments)
    }
}
