import Admission
import EventLoop
import Logging

/// The ServiceAccount lookup chain for each event loop, as the configuration asks:
///
/// - a static file: one in-memory source shared by every loop (no cache needed), reloaded when
///   the file changes (`ServiceAccountFileReloader`);
/// - the Kubernetes API in watch mode: one `ServiceAccountStore` shared by every loop, kept
///   current by a `ServiceAccountInformer` (LIST + WATCH on the first loop); accounts it lacks are
///   fetched through one `ServiceAccountFetchCoalescer`; with `--narrow-webhook-configuration`
///   a `MatchConditionWriter` follows the accounts with a role through the informer's gate;
/// - the Kubernetes API in get mode: one `ServiceAccountCache` per loop, pinned to that loop so a
///   hit costs no thread hop, all sharing one `ServiceAccountFetchCoalescer` so concurrent misses
///   for one account cost one GET across all loops.
struct ServiceAccountSources {
    /// The source each loop's admission handler uses, by loop.
    let perLoop: [ObjectIdentifier: any ServiceAccountSource]
    /// The caches, for metrics; empty unless in get mode.
    let caches: [ServiceAccountCache]
    /// The informer, in watch mode.
    let informer: ServiceAccountInformer?
    /// The narrowing writer, its Lease elector and metrics, with `--narrow-webhook-configuration`.
    let narrowing: Narrowing?
    /// The API client, when the source is the Kubernetes API.
    let client: KubernetesClient?
    /// The file's source, when the accounts come from `--service-accounts-file`.
    let file: ReloadableServiceAccountSource?
    /// The annotations kept.
    let filter: ServiceAccountAnnotationFilter
    /// The HTTP client of the GET lookups, and the server it talks to (`host:port`), for metrics.
    let http: (client: HTTPClient, server: String)?

    init(
        _ configuration: Configuration, group: EventLoopGroup, environment: [String: String], metrics: WebhookMetrics
    ) throws(ConfigurationError) {
        let filter = configuration.patchConfig.serviceAccountAnnotationFilter
        let api: KubernetesAPIConfiguration
        switch configuration.serviceAccounts {
        case .file(let path):
            let source: StaticServiceAccountSource
            do {
                source = try StaticServiceAccountSource(contentsOfFile: path, keeping: filter)
            } catch {
                throw ConfigurationError("--service-accounts-file: \(error.description)")
            }
            let reloadable = ReloadableServiceAccountSource(source)
            perLoop = Dictionary(uniqueKeysWithValues: group.loops.map { (ObjectIdentifier($0), reloadable as any ServiceAccountSource) })
            caches = []
            informer = nil
            narrowing = nil
            client = nil
            file = reloadable
            self.filter = filter
            http = nil
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
        let informerClient: HTTPClient
        do {
            httpTransport = try HTTPClientKubernetesTransport(api: api, loop: group.loops[0], maxConnections: configuration.apiMaxConnections)
            kubernetes = KubernetesClient(
                api: api, transport: MeasuredKubernetesTransport(inner: httpTransport, metrics: metrics),
                configuration: KubernetesClient.Configuration(
                    requestTimeout: configuration.apiTimeout, annotationFilter: filter,
                    userAgent: "irsa-webhook/\(IRSAWebhook.version)"))
            informerClient = try HTTPClient.kubernetes(api: api, loop: group.loops[0], maxResponseBodySize: Int.max)
        } catch {
            throw ConfigurationError("Kubernetes API client: \(error)")
        }
        let coalescer = ServiceAccountFetchCoalescer(upstream: kubernetes)
        self.client = kubernetes
        self.file = nil
        self.filter = filter
        switch configuration.serviceAccountMode {
        case .watch:
            let store = ServiceAccountStore(configuration: ServiceAccountStore.Configuration(
                timeToLive: configuration.cacheTTL, negativeTimeToLive: configuration.negativeCacheTTL))
            var informerConfiguration = ServiceAccountInformer.Configuration()
            informerConfiguration.watchTimeout = configuration.watchTimeout
            informerConfiguration.userAgent = "irsa-webhook/\(IRSAWebhook.version)"
            informerConfiguration.annotationFilter = filter
            if let settings = configuration.narrowing {
                narrowing = try Narrowing(settings, api: api, loop: group.loops[0], patchConfig: configuration.patchConfig)
            } else {
                narrowing = nil
            }
            informer = ServiceAccountInformer(
                store: store, client: informerClient, api: api, configuration: informerConfiguration,
                gate: narrowing?.writer, logger: Logger(label: "irsa-webhook"))
            let source = StoreServiceAccountSource(store: store, fetcher: coalescer)
            perLoop = Dictionary(uniqueKeysWithValues: group.loops.map { (ObjectIdentifier($0), source as any ServiceAccountSource) })
            caches = []
        case .get:
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
            informer = nil
            narrowing = nil
        }
        self.http = (httpTransport.client, api.host.contains(":") ? "[\(api.host)]:\(api.port)" : "\(api.host):\(api.port)")
    }
}
