import Admission
import EventLoop
import Logging

/// The validated settings of one run. Built from `ServeCommand`; every problem is a
/// `ConfigurationError`, which `IRSAWebhook` prints as one line before exiting with code 2.
struct Configuration: Sendable {
    /// Where the ServiceAccounts come from.
    enum ServiceAccountSourceKind: Sendable, Equatable, CustomStringConvertible {
        case file(String)
        case kubeconfig(String)
        case inCluster

        /// As logged: `file PATH`, `kubeconfig PATH` or `in-cluster`.
        var description: String {
            switch self {
            case .file(let path): "file \(path)"
            case .kubeconfig(let path): "kubeconfig \(path)"
            case .inCluster: "in-cluster"
            }
        }
    }

    /// How ServiceAccounts are kept current when they come from the Kubernetes API.
    enum ServiceAccountMode: String, Sendable, Equatable {
        /// LIST + WATCH into a store; GET only for accounts the watch has not delivered yet.
        case watch
        /// GET on a miss, cached for `--cache-ttl` (for RBAC without list and watch).
        case get
    }

    /// How log lines are written.
    enum LogFormat: String, Sendable {
        case json, text
    }

    var host: String
    var port: UInt16
    /// Whether to share the ports with a process already listening on them (a handover).
    var reusePort: Bool
    var tlsCertFile: String
    var tlsKeyFile: String
    var clientCAFile: String?
    var serviceAccounts: ServiceAccountSourceKind
    var serviceAccountMode: ServiceAccountMode
    var watchTimeout: Duration
    /// What named the kubeconfig, for errors: `--kubeconfig` or `KUBECONFIG`.
    var kubeconfigOrigin = "--kubeconfig"
    var apiTimeout: Duration
    var apiMaxConnections: Int
    var failClosed: Bool
    /// What the webhook keeps narrowed and how its replicas elect the writer, if narrowing is on.
    var narrowing: NarrowingSettings?
    /// The mutation's defaults, from `MutationOptions`.
    var patchConfig: PatchConfig
    var cacheTTL: Duration
    var negativeCacheTTL: Duration
    var cacheMaxEntries: Int
    var threads: Int
    var maxConnections: Int
    var maxBodyBytes: Int
    var maxBufferedBodyBytes: Int
    var timeouts: HTTPTimeouts
    var metricsPort: UInt16?
    var shutdownGrace: Duration
    var logLevel: Logger.Level
    var logFormat: LogFormat
    var dev: Bool

    /// Validates `options`; `cores` is the default thread count, `environment` gives KUBECONFIG.
    init(_ options: ServeCommand, cores: Int, environment: [String: String]) throws(ConfigurationError) {
        dev = options.dev
        host = dev && options.host == "0.0.0.0" ? "127.0.0.1" : options.host
        guard !host.isEmpty else { throw ConfigurationError("--host must not be empty") }
        port = try Self.port(options.port, flag: "--port", allowZero: true)
        reusePort = options.reusePort
        tlsCertFile = options.tlsCertFile
        tlsKeyFile = options.tlsKeyFile
        clientCAFile = options.clientCaFile
        serviceAccounts = try Self.serviceAccountSource(options, environment: environment)
        if options.kubeconfig.flatMap({ $0.isEmpty ? nil : $0 }) == nil { kubeconfigOrigin = "KUBECONFIG" }
        guard let mode = ServiceAccountMode(rawValue: options.serviceaccountSource) else {
            throw ConfigurationError("--serviceaccount-source must be watch or get, got '\(options.serviceaccountSource)'")
        }
        serviceAccountMode = mode
        watchTimeout = try Self.duration(options.watchTimeout, flag: "--watch-timeout")
        guard watchTimeout >= .seconds(1) else { throw ConfigurationError("--watch-timeout must be at least 1s, got '\(options.watchTimeout)'") }
        apiTimeout = try Self.duration(options.apiTimeout, flag: "--api-timeout")
        guard options.apiMaxConnections >= 1 else {
            throw ConfigurationError("--api-max-connections must be at least 1, got \(options.apiMaxConnections)")
        }
        apiMaxConnections = options.apiMaxConnections
        failClosed = options.failClosed
        narrowing = try NarrowingSettings(options, sources: serviceAccounts, mode: mode)

        patchConfig = try Self.patchConfig(options.mutation)

        cacheTTL = try Self.duration(options.cacheTtl, flag: "--cache-ttl")
        negativeCacheTTL = try Self.duration(options.negativeCacheTtl, flag: "--negative-cache-ttl")
        guard options.cacheMaxEntries >= 1 else {
            throw ConfigurationError("--cache-max-entries must be at least 1, got \(options.cacheMaxEntries)")
        }
        cacheMaxEntries = options.cacheMaxEntries

        threads = options.threads ?? cores
        guard (1...256).contains(threads) else { throw ConfigurationError("--threads must be between 1 and 256, got \(threads)") }
        guard options.maxConnections >= 1 else {
            throw ConfigurationError("--max-connections must be at least 1, got \(options.maxConnections)")
        }
        maxConnections = options.maxConnections
        guard (1024...(1 << 30)).contains(options.maxBodyBytes) else {
            throw ConfigurationError("--max-body-bytes must be between 1024 and 1073741824, got \(options.maxBodyBytes)")
        }
        maxBodyBytes = options.maxBodyBytes
        guard options.maxBufferedBodyBytes >= maxBodyBytes else {
            throw ConfigurationError("--max-buffered-body-bytes must be at least --max-body-bytes (\(maxBodyBytes)), got \(options.maxBufferedBodyBytes)")
        }
        maxBufferedBodyBytes = options.maxBufferedBodyBytes
        timeouts = HTTPTimeouts()
        timeouts.tlsHandshake = try Self.duration(options.handshakeTimeout, flag: "--handshake-timeout")
        timeouts.requestHead = try Self.duration(options.requestHeadTimeout, flag: "--request-head-timeout")
        timeouts.requestBody = try Self.duration(options.requestBodyTimeout, flag: "--request-body-timeout")
        timeouts.idle = try Self.duration(options.idleTimeout, flag: "--idle-timeout")
        timeouts.write = try Self.duration(options.writeTimeout, flag: "--write-timeout")
        let metrics = try Self.port(options.metricsPort, flag: "--metrics-port", allowZero: true)
        metricsPort = metrics == 0 ? nil : metrics
        if metricsPort == port, port != 0 { throw ConfigurationError("--metrics-port must differ from --port (\(port))") }
        shutdownGrace = try Self.duration(options.shutdownGrace, flag: "--shutdown-grace")

        guard let level = Logger.Level(rawValue: options.logLevel.lowercased()) else {
            throw ConfigurationError("--log-level must be one of trace, debug, info, notice, warning, error, critical; got '\(options.logLevel)'")
        }
        logLevel = level
        if let format = options.logFormat {
            guard let parsed = LogFormat(rawValue: format) else {
                throw ConfigurationError("--log-format must be json or text, got '\(format)'")
            }
            logFormat = parsed
        } else {
            logFormat = dev ? .text : .json
        }
    }

    /// The mutation's defaults from `options`, as `serve` and `mutate` both take them.
    static func patchConfig(_ options: MutationOptions) throws(ConfigurationError) -> PatchConfig {
        guard isDNSSubdomain(options.annotationPrefix) else {
            throw ConfigurationError("--annotation-prefix '\(options.annotationPrefix)' is not a DNS subdomain such as vultr.com")
        }
        guard !options.tokenAudience.isEmpty else { throw ConfigurationError("--token-audience must not be empty") }
        let range = PatchConfig.tokenExpirationRange
        let lifetime = try duration(options.tokenExpiration, flag: "--token-expiration")
        guard lifetime >= .seconds(range.lowerBound), lifetime <= .seconds(range.upperBound), lifetime.components.attoseconds == 0 else {
            throw ConfigurationError(
                "--token-expiration must be whole seconds from \(range.lowerBound) (10m) to \(range.upperBound) (365 days), got '\(options.tokenExpiration)'")
        }
        guard options.tokenMountPath.hasPrefix("/"), options.tokenMountPath.count > 1 else {
            throw ConfigurationError("--token-mount-path must be an absolute path, got '\(options.tokenMountPath)'")
        }
        let stsEndpoint = options.stsEndpoint
        guard stsEndpoint.isEmpty || stsEndpoint.hasPrefix("https://") || stsEndpoint.hasPrefix("http://") else {
            throw ConfigurationError("--sts-endpoint must be an http(s) URL or empty, got '\(stsEndpoint)'")
        }
        if let region = options.region, !region.isEmpty, !PatchConfig.isRegionName(region) {
            throw ConfigurationError("--region must be 1 to 32 lowercase letters, digits and hyphens, got '\(region)'")
        }
        return PatchConfig(
            annotationPrefix: options.annotationPrefix, defaultAudience: options.tokenAudience,
            defaultTokenExpiration: Int(lifetime.components.seconds),
            tokenMountPath: options.tokenMountPath.hasSuffix("/") ? String(options.tokenMountPath.dropLast()) : options.tokenMountPath,
            stsEndpoint: stsEndpoint, region: options.region)
    }

    private static func port(_ value: Int, flag: String, allowZero: Bool) throws(ConfigurationError) -> UInt16 {
        guard (allowZero ? 0 : 1)...65535 ~= value else {
            throw ConfigurationError("\(flag) must be a port number (\(allowZero ? 0 : 1)-65535), got \(value)")
        }
        return UInt16(value)
    }

    /// Where ServiceAccounts come from: `--service-accounts-file` or `--kubeconfig` (never both),
    /// dev mode's file, the KUBECONFIG environment variable (one file; kubectl's list of several
    /// is refused), or the in-cluster configuration.
    private static func serviceAccountSource(
        _ options: ServeCommand, environment: [String: String]
    ) throws(ConfigurationError) -> ServiceAccountSourceKind {
        let kubeconfig = options.kubeconfig.flatMap { $0.isEmpty ? nil : $0 }
        switch (options.serviceAccountsFile, kubeconfig) {
        case (.some, .some):
            throw ConfigurationError("--service-accounts-file and --kubeconfig both name the ServiceAccount source; give one of them")
        case (let file?, nil):
            return .file(file)
        case (nil, let kubeconfig?):
            return .kubeconfig(kubeconfig)
        case (nil, nil):
            if options.dev { return .file(DevSamples.serviceAccountsPath()) }
            let files = (environment["KUBECONFIG"] ?? "").split(separator: ":").map(String.init)
            guard files.count <= 1 else {
                throw ConfigurationError(
                    "KUBECONFIG lists \(files.count) files; irsa-webhook reads one kubeconfig: merge them with "
                        + "'kubectl config view --flatten > FILE' and set KUBECONFIG (or --kubeconfig) to FILE")
            }
            return files.first.map { .kubeconfig($0) } ?? .inCluster
        }
    }

    static func duration(_ text: String, flag: String) throws(ConfigurationError) -> Duration {
        if text.hasPrefix("-") {
            throw ConfigurationError("\(flag) must not be negative; got '\(text)'")
        }
        guard let duration = DurationParser.parse(text), duration > .zero else {
            throw ConfigurationError("\(flag) must be a positive duration such as 500ms, 2s or 1m; got '\(text)'")
        }
        return duration
    }

    /// A DNS subdomain (RFC 1123): what Kubernetes accepts before the `/` of an annotation key.
    static func isDNSSubdomain(_ prefix: String) -> Bool {
        guard !prefix.isEmpty, prefix.utf8.count <= 253 else { return false }
        return prefix.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            guard let first = label.utf8.first, let last = label.utf8.last, label.utf8.count <= 63 else { return false }
            let alphanumeric: (UInt8) -> Bool = { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }
            return alphanumeric(first) && alphanumeric(last) && label.utf8.allSatisfy { alphanumeric($0) || $0 == 0x2D }
        }
    }
}

/// A bad setting: the message names the flag and the value.
struct ConfigurationError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
