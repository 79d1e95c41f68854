import Admission
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `--narrow-webhook-configuration` and the flags beside it, checked: the names are Kubernetes
/// object names, narrowing follows the watched store (so it needs the watch source), and the
/// Lease electing the one writer has a namespace (the flag, else the in-cluster namespace file),
/// an identity unique to this process and valid timings.
struct NarrowingSettings: Sendable {
    /// The MutatingWebhookConfiguration and the entry in it.
    var configuration: String
    var webhook: String
    /// The Lease: its namespace and name, this process's identity, the timings.
    var leaseNamespace: String
    var leaseName: String
    var identity: String
    var leaseTiming: LeaseTiming

    /// Nil when `--narrow-webhook-configuration` is absent or empty.
    init?(
        _ options: ServeCommand, sources: Configuration.ServiceAccountSourceKind, mode: Configuration.ServiceAccountMode,
        namespaceFile: String = KubernetesAPIConfiguration.defaultServiceAccountDirectory + "/namespace"
    ) throws(ConfigurationError) {
        guard let name = options.narrowWebhookConfiguration, !name.isEmpty else { return nil }
        for (flag, value) in [("--narrow-webhook-configuration", name), ("--narrow-webhook-name", options.narrowWebhookName),
                              ("--narrow-lease-name", options.narrowLeaseName)] where !Configuration.isDNSSubdomain(value) {
            throw ConfigurationError("\(flag) '\(value)' is not a Kubernetes name (lowercase letters, digits, '-' and '.')")
        }
        if case .file = sources {
            throw ConfigurationError("--narrow-webhook-configuration needs the Kubernetes API (--kubeconfig or in-cluster), not --service-accounts-file")
        }
        guard mode == .watch else {
            throw ConfigurationError("--narrow-webhook-configuration needs --serviceaccount-source=watch (it follows the watched store)")
        }
        configuration = name
        webhook = options.narrowWebhookName
        leaseName = options.narrowLeaseName
        if let namespace = options.narrowLeaseNamespace {
            leaseNamespace = namespace
        } else if let namespace = try? String(contentsOfFile: namespaceFile, encoding: .utf8) {
            leaseNamespace = namespace.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            throw ConfigurationError("--narrow-lease-namespace is required outside a cluster (no \(namespaceFile) to read the webhook's namespace from)")
        }
        guard Configuration.isDNSSubdomain(leaseNamespace), !leaseNamespace.contains(".") else {
            throw ConfigurationError("--narrow-lease-namespace '\(leaseNamespace)' is not a namespace name")
        }
        identity = options.narrowLeaseIdentity ?? Self.defaultIdentity()
        guard !identity.isEmpty, identity.utf8.count <= 253 else {
            throw ConfigurationError("--narrow-lease-identity must be 1 to 253 bytes, got '\(identity)'")
        }
        let duration = try Configuration.duration(options.narrowLeaseDuration, flag: "--narrow-lease-duration")
        do {
            leaseTiming = try LeaseTiming(leaseDuration: duration, renewDeadline: duration * 2 / 3, retryPeriod: duration * 2 / 15)
        } catch {
            throw ConfigurationError("--narrow-lease-duration must be whole seconds, at least 3s, got '\(options.narrowLeaseDuration)': \(error)")
        }
        guard duration >= .seconds(3) else {
            throw ConfigurationError("--narrow-lease-duration must be at least 3s, got '\(options.narrowLeaseDuration)'")
        }
    }

    /// The host name (a pod's name) and a random suffix, as client-go's controllers identify themselves.
    static func defaultIdentity() -> String {
        var name = [UInt8](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0 ? String(decoding: name.prefix { $0 != 0 }, as: UTF8.self) : "irsa-webhook"
        return host + "_" + String(UInt32.random(in: .min ... .max), radix: 16)
    }
}
