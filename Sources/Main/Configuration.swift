import EventLoop
import Logging

/// The validated settings of one run. Built from `ServeCommand`; every problem is a
/// `ConfigurationError`, which `IRSAWebhook` prints as one line before exiting with code 2.
struct Configuration: Sendable {
    /// Where the ServiceAccounts come from.
    enum ServiceAccountSourceKind: Sendable, Equatable {
        case file(String)
        case kubeconfig(String)
        case inCluster
    }

    /// How log lines are written.
    enum LogFormat: String, Sendable {
        case json, text
    }

    var host: String
    var port: UInt16
    var tlsCertFile: String
    var tlsKeyFile: String
    var clientCAFile: String?
    var serviceAccounts: ServiceAccountSourceKind
    var apiTimeout: Duration
    var apiMaxConnections: Int
    var failClosed: Bool
    var annotationPrefix: String
    var tokenAudience: String
    var tokenExpiration: Int
    var tokenMountPath: String
    var stsEndpoint: String?
    var region: String?
    var cacheTTL: Duration
    var negativeCacheTTL: Duration
    var cacheMaxEntries: Int
    var threads: Int
    var maxConnections: Int
    var maxBodyBytes: Int
    var timeouts: HTTPTimeouts
    var metricsPort: UInt16?
    var shutdownGrace: Duration
    var logLevel: Logger.Level
    var logFormat: LogFormat
    var dev: Bool

    /// Validates `options`; `cores` is the default thread count.
    init(_ options: ServeCommand, cores: Int) throws(ConfigurationError) {
        dev = options.dev
        host = dev && options.host == "0.0.0.0" ? "127.0.0.1" : options.host
        guard !host.isEmpty else { throw ConfigurationError("--host must not be empty") }
        port = try Self.port(options.port, flag: "--port", allowZero: true)
        tlsCertFile = options.tlsCertFile
        tlsKeyFile = options.tlsKeyFile
        clientCAFile = options.clientCaFile
        if let file = options.serviceAccountsFile {
            serviceAccounts = .file(file)
        } else if dev {
            serviceAccounts = .file("deploy/dev/serviceaccounts.yaml")
        } else if let kubeconfig = options.kubeconfig, !kubeconfig.isEmpty {
            serviceAccounts = .kubeconfig(kubeconfig)
        } else {
            serviceAccounts = .inCluster
        }
        apiTimeout = try Self.duration(options.apiTimeout, flag: "--api-timeout")
        guard options.apiMaxConnections >= 1 else {
            throw ConfigurationError("--api-max-connections must be at least 1, got \(options.apiMaxConnections)")
        }
        apiMaxConnections = options.apiMaxConnections
        failClosed = options.failClosed

        annotationPrefix = options.annotationPrefix
        guard Self.isAnnotationPrefix(annotationPrefix) else {
            throw ConfigurationError("--annotation-prefix '\(annotationPrefix)' is not a DNS subdomain such as vultr.com")
        }
        tokenAudience = options.tokenAudience
        guard !tokenAudience.isEmpty else { throw ConfigurationError("--token-audience must not be empty") }
        guard options.tokenExpiration >= 600, options.tokenExpiration <= 60 * 60 * 24 * 365 else {
            throw ConfigurationError("--token-expiration must be between 600 and 31536000 seconds, got \(options.tokenExpiration)")
        }
        tokenExpiration = options.tokenExpiration
        guard options.tokenMountPath.hasPrefix("/"), options.tokenMountPath.count > 1 else {
            throw ConfigurationError("--token-mount-path must be an absolute path, got '\(options.tokenMountPath)'")
        }
        tokenMountPath = options.tokenMountPath.hasSuffix("/") ? String(options.tokenMountPath.dropLast()) : options.tokenMountPath
        stsEndpoint = options.stsEndpoint.isEmpty ? nil : options.stsEndpoint
        if let endpoint = stsEndpoint, !endpoint.hasPrefix("https://"), !endpoint.hasPrefix("http://") {
            throw ConfigurationError("--sts-endpoint must be an http(s) URL or empty, got '\(endpoint)'")
        }
        region = options.region.flatMap { $0.isEmpty ? nil : $0 }

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

    private static func port(_ value: Int, flag: String, allowZero: Bool) throws(ConfigurationError) -> UInt16 {
        guard (allowZero ? 0 : 1)...65535 ~= value else {
            throw ConfigurationError("\(flag) must be a port number (\(allowZero ? 0 : 1)-65535), got \(value)")
        }
        return UInt16(value)
    }

    private static func duration(_ text: String, flag: String) throws(ConfigurationError) -> Duration {
        guard let duration = DurationParser.parse(text), duration > .zero else {
            throw ConfigurationError("\(flag) must be a positive duration such as 500ms, 2s or 1m; got '\(text)'")
        }
        return duration
    }

    /// A DNS subdomain (RFC 1123): what Kubernetes accepts before the `/` of an annotation key.
    private static func isAnnotationPrefix(_ prefix: String) -> Bool {
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
