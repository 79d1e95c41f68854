import Admission
import EventLoop

/// The ServiceAccount lookup chain for each event loop, as the configuration asks:
///
/// - a static file: one in-memory source shared by every loop (no cache needed);
/// - the Kubernetes API (kubeconfig or in-cluster): one `ServiceAccountCache` per loop, pinned to
///   that loop so a hit costs no thread hop, all sharing one `ServiceAccountFetchCoalescer` so
///   concurrent misses for one account cost one GET across all loops.
struct ServiceAccountSources {
    /// The source each loop's admission handler uses, by loop.
    let perLoop: [ObjectIdentifier: any ServiceAccountSource]
    /// The caches, for metrics; empty for a static file.
    let caches: [ServiceAccountCache]
    /// The API client, when the source is the Kubernetes API.
    let client: KubernetesClient?
    /// The HTTP client under it, and the server it talks to (`host:port`), for metrics.
    let http: (client: HTTPClient, server: String)?
    /// How many accounts a static file held.
    let staticAccountCount: Int?

    init(
        _ configuration: Configuration, group: EventLoopGroup, environment: [String: String], metrics: WebhookMetrics
    ) throws(ConfigurationError) {
        let filter = ServiceAccountAnnotationFilter(prefixes: [configuration.annotationPrefix + "/", "api.vultr.com/"])
        let api: KubernetesAPIConfiguration
        switch configuration.serviceAccounts {
        case .file(let path):
            let source: StaticServiceAccountSource
            do {
                source = try StaticServiceAccountSource(contentsOfFile: path, keeping: filter)
            } catch {
                throw ConfigurationError("--service-accounts-file: \(error.description)")
            }
            perLoop = Dictionary(uniqueKeysWithValues: group.loops.map { (ObjectIdentifier($0), source as any ServiceAccountSource) })
            caches = []
            client = nil
            http = nil
            staticAccountCount = source.accounts.count
            return
        case .kubeconfig(let path):
            do {
                api = try KubernetesAPIConfiguration.kubeconfig(path: path)
            } catch {
                throw ConfigurationError("\(configuration.kubeconfigOrigin): \(error.description)")
            }
        case .inCluster:
            do {
                api = try KubernetesAPIConfiguration.inCluster(environment: environment)
            } catch {
                throw ConfigurationError("in-cluster Kubernetes configuration (or pass --kubeconfig or --service-accounts-file): \(error.description)")
            }
        }
        let kubernetes: KubernetesClient
        let httpTransport: HTTPClientKubernetesTransport
        do {
            httpTransport = try HTTPClientKubernetesTransport(api: api, loop: group.loops[0], maxConnections: configuration.apiMaxConnections)
            let transport = MeasuredKubernetesTransport(inner: httpTransport, metrics: metrics)
            kubernetes = KubernetesClient(
                api: api, transport: transport,
                configuration: KubernetesClient.Configuration(
                    requestTimeout: configuration.apiTimeout, annotationFilter: filter,
                    userAgent: "irsa-webhook/\(IRSAWebhook.version)"))
        } catch {
            throw ConfigurationError("Kubernetes API client: \(error)")
        }
        let coalescer = ServiceAccountFetchCoalescer(upstream: kubernetes)
        let cacheConfiguration = ServiceAccountCache.Configuration(
            capacity: configuration.cacheMaxEntries,
            timeToLive: configuration.cacheTTL,
            negativeTimeToLive: configuration.negativeCacheTTL)
        var perLoop: [ObjectIdentifier: any ServiceAccountSource] = [:]
        var caches: [ServiceAccountCache] = []
        for loop in group.loops {
            let cache = ServiceAccountCache(upstream: coalescer, configuration: cacheConfiguration, executor: loop)
            perLoop[ObjectIdentifier(loop)] = cache
            caches.append(cache)
        }
        self.perLoop = perLoop
        self.caches = caches
        self.client = kubernetes
        self.http = (httpTransport.client, api.host.contains(":") ? "[\(api.host)]:\(api.port)" : "\(api.host):\(api.port)")
        self.staticAccountCount = nil
    }
}
