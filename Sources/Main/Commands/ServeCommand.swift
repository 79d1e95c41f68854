import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// `irsa-webhook serve` (the default subcommand): the webhook server's command line, as parsed;
/// `Configuration` validates it and `Webhook` runs it.
///
/// Options marked with an environment variable in their help also read it when the flag is
/// absent; a flag on the command line wins over the environment.
struct ServeCommand: WebhookCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the mutating admission webhook (the default when no subcommand is given).",
        discussion: "Bad values print one line on standard error and exit with code 2."
    )

    // MARK: Serving
    @Option(help: "Address to listen on [BIND_ADDR].")
    var host: String = "0.0.0.0"

    @Option(help: "HTTPS port for /mutate, /healthz, /readyz and /metrics [PORT]; 0 picks a free port (logged).")
    var port: Int = 8443

    @Flag(help: "Start even if another process listens on --port or --metrics-port, sharing the port with it (SO_REUSEPORT): for a zero-downtime handover, after which the old process is stopped with SIGTERM. Without it, a port in use is an error.")
    var reusePort: Bool = false

    @Option(help: "PEM certificate chain served to the API server [TLS_CERT_PATH]. Reloaded when the file changes.")
    var tlsCertFile: String = "/etc/webhook/certs/tls.crt"

    @Option(help: "PEM private key (RSA or ECDSA) of the certificate [TLS_KEY_PATH].")
    var tlsKeyFile: String = "/etc/webhook/certs/tls.key"

    @Option(help: "PEM CA bundle: when set, clients must present a certificate it signed (mTLS).")
    var clientCaFile: String?

    // MARK: ServiceAccount source
    @Option(help: "kubeconfig for the Kubernetes API [KUBECONFIG]. Absent: in-cluster configuration.")
    var kubeconfig: String?

    @Option(help: "Static ServiceAccounts (YAML or JSON List, or multi-document YAML) instead of the Kubernetes API. Reloaded when the file changes.")
    var serviceAccountsFile: String?

    @Option(help: "With the Kubernetes API: watch (LIST + WATCH, changes reach the next pod at once; needs list and watch) or get (GET on a miss, cached for --cache-ttl; needs get only).")
    var serviceaccountSource: String = "watch"

    @Option(parsing: .unconditional, help: "How long one ServiceAccount watch request lasts before it is renewed (jittered up to twice this), e.g. 5m.")
    var watchTimeout: String = "5m"

    @Option(parsing: .unconditional, help: "Timeout of one ServiceAccount lookup at the Kubernetes API, e.g. 2s or 500ms.")
    var apiTimeout: String = "2s"

    @Option(help: "Connections open at once to the Kubernetes API; further lookups wait for one in turn.")
    var apiMaxConnections: Int = 16

    @Flag(help: "Deny pods whose ServiceAccount cannot be looked up, instead of admitting them unmutated with a warning.")
    var failClosed: Bool = false

    // MARK: Narrowing
    @Option(help: "Keep the matchConditions of this MutatingWebhookConfiguration's entry (--narrow-webhook-name) equal to \"the pod's ServiceAccount has a role\", so the API server sends only those pods (Kubernetes 1.30+; needs the watch source and RBAC get and patch on it).")
    var narrowWebhookConfiguration: String?

    @Option(help: "The webhook entry narrowed within --narrow-webhook-configuration.")
    var narrowWebhookName: String = "irsa-webhook.vultr.com"

    @Option(help: "The Lease that elects the one replica writing the narrowed condition.")
    var narrowLeaseName: String = "irsa-webhook-narrowing"

    @Option(help: "The Lease's namespace. Default: the webhook's own (the in-cluster service account's namespace file).")
    var narrowLeaseNamespace: String?

    @Option(help: "This process's identity in the Lease. Default: the host name (the pod's name) and a random suffix.")
    var narrowLeaseIdentity: String?

    @Option(parsing: .unconditional, help: "The Lease's duration, whole seconds (at least 3s); the holder renews within two thirds of it and replicas retry every 2/15 of it (15s: 10s and 2s, as Kubernetes' controllers).")
    var narrowLeaseDuration: String = "15s"

    // MARK: Mutation
    @OptionGroup(title: "Mutation")
    var mutation: MutationOptions

    // MARK: Cache
    @Option(parsing: .unconditional, help: "How long a found ServiceAccount is cached (get mode), or served unconfirmed while the watch is down (watch mode), e.g. 60s.")
    var cacheTtl: String = "60s"

    @Option(parsing: .unconditional, help: "How long a missing ServiceAccount is remembered, e.g. 2s.")
    var negativeCacheTtl: String = "2s"

    @Option(help: "Most ServiceAccounts kept in the cache (least recently used evicted).")
    var cacheMaxEntries: Int = 10_000

    // MARK: Server limits
    @Option(help: "Event loop threads; default: one per core.")
    var threads: Int?

    @Option(help: "Most concurrent connections; accepting pauses at the limit.")
    var maxConnections: Int = 10_000

    @Option(help: "Largest accepted request body in bytes (413 above).")
    var maxBodyBytes: Int = 8 * 1024 * 1024

    @Option(help: "Memory all request bodies may hold together, in bytes (each body's first 64 KiB not counted); a body that does not fit waits up to 1 s, then gets 503.")
    var maxBufferedBodyBytes: Int = 64 * 1024 * 1024

    @Option(parsing: .unconditional, help: "Time from accept to the end of the TLS handshake; slower clients are closed.")
    var handshakeTimeout: String = "10s"

    @Option(parsing: .unconditional, help: "Time for a whole request head from its first byte (the first request: from the handshake); 408 after.")
    var requestHeadTimeout: String = "10s"

    @Option(parsing: .unconditional, help: "Time for a whole request body from the end of its head; 408 after.")
    var requestBodyTimeout: String = "30s"

    @Option(parsing: .unconditional, help: "How long a keep-alive connection may wait for its next request.")
    var idleTimeout: String = "120s"

    @Option(parsing: .unconditional, help: "Time for writing one response to a client; a client that stops reading is closed after it.")
    var writeTimeout: String = "30s"

    @Option(help: "Plain-HTTP port serving /metrics, /healthz and /readyz; 0 disables it.")
    var metricsPort: Int = 9090

    @Option(parsing: .unconditional, help: "Time allowed for in-flight requests after SIGTERM, e.g. 25s.")
    var shutdownGrace: String = "25s"

    // MARK: Logging
    @Option(help: "trace, debug, info, notice, warning, error or critical. Per-request lines are logged at debug.")
    var logLevel: String = "info"

    @Option(help: "json (one object per line) or text.")
    var logFormat: String?

    // MARK: Development
    @Flag(help: "Dev mode: 127.0.0.1:8443, a self-signed certificate made at start, ServiceAccounts from deploy/dev/serviceaccounts.yaml (built-in samples when it is not there), text logs.")
    var dev: Bool = false

    /// Environment variables that stand in for absent flags. (KUBECONFIG is read by
    /// `Configuration`, which tells it apart from `--kubeconfig` in its errors.)
    static let environmentFlags: [(variable: String, flag: String)] = [
        ("BIND_ADDR", "--host"),
        ("PORT", "--port"),
        ("TLS_CERT_PATH", "--tls-cert-file"),
        ("TLS_KEY_PATH", "--tls-key-file"),
    ] + MutationOptions.environmentFlags

    /// The arguments with the environment's values placed before them, so the command line wins.
    static func arguments(_ arguments: [String], environment: [String: String]) -> [String] {
        MutationOptions.arguments(arguments, environment: environment, flags: environmentFlags)
    }

    func execute() async throws(ConfigurationError) -> Int32 {
        let configuration = try Configuration(
            self, cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), environment: ProcessEnvironment.variables())
        return try await Webhook.run(configuration)
    }
}
