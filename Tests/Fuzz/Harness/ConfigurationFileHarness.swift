#if canImport(Glibc)
import Glibc
#endif
import Admission

/// Fuzz harness for the configuration files: the input is written to a file and loaded both as
/// a kubeconfig (with and without `allowInsecure`) and as a `--service-accounts-file`. Bad input
/// must give the documented error, naming the file, and never crash or hang; what loads must
/// respect the limits and the insecure-connection switch.
public enum ConfigurationFileHarness {
    /// A private directory holding the input file and the files a kubeconfig may name
    /// relative to itself (`ca.crt`, `client.crt`, `client.key`, `token`).
    static let directory: String = {
        var template = Array("/tmp/irsa-fuzz-config-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { fatalError("mkdtemp: \(String(cString: strerror(errno)))") }
        let directory = String(cString: created)
        let certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        let key = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
        for (name, contents) in [("ca.crt", certificate), ("client.crt", certificate), ("client.key", key), ("token", "token-value\n")] {
            write(Array(contents.utf8), to: directory + "/" + name)
        }
        atexit { ConfigurationFileHarness.removeDirectory() }
        return directory
    }()

    /// The files `directory` holds.
    private static let fileNames = ["ca.crt", "client.crt", "client.key", "token", "config.yaml"]

    private static func removeDirectory() {
        for name in fileNames { unlink(directory + "/" + name) }
        rmdir(directory)
    }

    /// The limits the ServiceAccount file is loaded with: small, so the fuzzer reaches them.
    static let accountLimits = StaticServiceAccountSource.FileLimits(maximumBytes: 64 << 10, maximumAccounts: 16)

    /// Checks one file's contents.
    public static func check(_ input: [UInt8]) throws(FuzzViolation) {
        let path = directory + "/config.yaml"
        write(input, to: path)
        for allowInsecure in [false, true] {
            let api: KubernetesAPIConfiguration
            do {
                api = try KubernetesAPIConfiguration.kubeconfig(path: path, allowInsecure: allowInsecure, maximumBytes: 64 << 10)
            } catch {
                guard error.path == path, !error.problem.isEmpty else { throw FuzzViolation("unhelpful kubeconfig error: \(error)") }
                continue
            }
            guard !api.host.isEmpty, (1...65535).contains(api.port) else {
                throw FuzzViolation("kubeconfig loaded with host \"\(api.host)\" port \(api.port)")
            }
            if !allowInsecure, !api.usesTLS || api.insecureSkipTLSVerify {
                throw FuzzViolation("insecure kubeconfig accepted without allowInsecure")
            }
        }
        let source: StaticServiceAccountSource
        do {
            source = try StaticServiceAccountSource(contentsOfFile: path, limits: accountLimits)
        } catch {
            guard error.path == path, !error.problem.isEmpty else { throw FuzzViolation("unhelpful ServiceAccount file error: \(error)") }
            return
        }
        guard source.accounts.count <= accountLimits.maximumAccounts else {
            throw FuzzViolation("\(source.accounts.count) ServiceAccounts loaded, over the limit")
        }
        for (key, account) in source.accounts where key != account.key || key.name.isEmpty || key.namespace.isEmpty {
            throw FuzzViolation("ServiceAccount stored as \(key): \(account)")
        }
    }

    private static func write(_ bytes: [UInt8], to path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { fatalError("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, $0.count - written) }
            guard count > 0 else { fatalError("write \(path): \(String(cString: strerror(errno)))") }
            written += count
        }
    }
}
