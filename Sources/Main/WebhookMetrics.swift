import Admission
import CoreMetrics
import EventLoop
import Prometheus

/// Every metric the webhook exports, created once at start through swift-metrics and rendered
/// in the Prometheus text format by swift-prometheus. Hot-path updates are a lookup-free call on
/// a stored handle.
final class WebhookMetrics: Sendable {
    /// Outcome label values of `irsa_admissions_total`.
    enum AdmissionResult: String, CaseIterable, Sendable {
        case mutated, skipped, error, denied, invalid

        /// The position in `allCases`.
        var index: Int {
            switch self {
            case .mutated: 0
            case .skipped: 1
            case .error: 2
            case .denied: 3
            case .invalid: 4
            }
        }
    }

    private let registry: PrometheusCollectorRegistry
    /// By `AdmissionResult.allCases` order: an array index, where a dictionary hashed per admission.
    private let admissions: [CoreMetrics.Counter]
    private let admissionDuration: CoreMetrics.Timer
    let lookupFailures: CoreMetrics.Counter
    let openConnections: CoreMetrics.Meter
    let connectionsAccepted: CoreMetrics.Counter
    /// By `HandshakeFailure.Reason.allCases` order.
    private let tlsHandshakeFailures: [CoreMetrics.Counter]
    /// The serving certificate's notAfter, seconds since the epoch; set at start and on reload.
    private let certificateExpiry: CoreMetrics.Gauge
    let certificateReloads: CoreMetrics.Counter
    let certificateReloadFailures: CoreMetrics.Counter
    /// Times accepting paused because the process ran out of descriptors (EMFILE, ENFILE) or memory.
    let acceptPauses = PrometheusLabelledCounters(label: "irsa_accept_pauses_total", dimension: "listener")
    private let apiDuration: CoreMetrics.Timer
    private let apiRequestsByStatus: PrometheusLabelledCounters

    /// Creates the metrics in a fresh registry and bootstraps swift-metrics with it (once per process).
    init(version: String) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        let latencyBuckets: [Duration] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2), .seconds(5),
        ]
        factory.defaultDurationHistogramBuckets = latencyBuckets
        MetricsSystem.bootstrap(factory)

        admissions = AdmissionResult.allCases.map { result in
            Counter(label: "irsa_admissions_total", dimensions: [("result", result.rawValue)])
        }
        admissionDuration = Timer(label: "irsa_admission_duration_seconds")
        lookupFailures = Counter(label: "irsa_serviceaccount_lookup_failures_total")
        openConnections = Meter(label: "irsa_open_connections")
        connectionsAccepted = Counter(label: "irsa_connections_accepted_total")
        tlsHandshakeFailures = HandshakeFailure.Reason.allCases.map { reason in
            Counter(label: "irsa_tls_handshake_failures_total", dimensions: [("reason", reason.rawValue)])
        }
        certificateExpiry = Gauge(label: "irsa_certificate_expiry_timestamp_seconds")
        certificateReloads = Counter(label: "irsa_certificate_reloads_total", dimensions: [("result", "success")])
        certificateReloadFailures = Counter(label: "irsa_certificate_reloads_total", dimensions: [("result", "failure")])
        apiDuration = Timer(label: "irsa_kubernetes_api_request_duration_seconds")
        apiRequestsByStatus = PrometheusLabelledCounters(label: "irsa_kubernetes_api_requests_total", dimension: "code")
        storeLists = Counter(label: "irsa_serviceaccount_lists_total")
        storeEntries = Gauge(label: "irsa_serviceaccount_store_entries")
        storeConfirmedAge = Gauge(label: "irsa_serviceaccount_store_last_confirmed_seconds")
        Gauge(label: "irsa_build_info", dimensions: [("version", version)]).record(1)
    }

    /// Counts one admission and its latency.
    func recordAdmission(_ result: AdmissionResult, duration: Duration) {
        admissions[result.index].increment()
        admissionDuration.recordNanoseconds(duration.totalNanoseconds)
    }

    /// Counts one failed TLS handshake by its reason.
    func recordHandshakeFailure(_ reason: HandshakeFailure.Reason) {
        tlsHandshakeFailures[HandshakeFailure.Reason.allCases.firstIndex(of: reason)!].increment()
    }

    /// Sets `irsa_certificate_expiry_timestamp_seconds` to the served certificate's notAfter.
    func recordCertificateExpiry(secondsSinceEpoch: Int64) {
        certificateExpiry.record(secondsSinceEpoch)
    }

    /// Counts one Kubernetes API request by status code ("error" when none came back).
    func recordAPIRequest(status: String, duration: Duration) {
        apiRequestsByStatus.increment(status)
        apiDuration.recordNanoseconds(duration.totalNanoseconds)
    }

    /// Brings counters whose source keeps its own running totals (the ServiceAccount cache) up to
    /// those totals: each is incremented by what it grew since the last call.
    func catchUp(_ counter: String, to total: Int) {
        totals.catchUp(counter, to: total)
    }

    private let totals = PrometheusLabelledCounters(label: "irsa_serviceaccount_cache_total", dimension: "event")
    private let watchEvents = PrometheusLabelledCounters(label: "irsa_serviceaccount_watch_events_total", dimension: "type")
    private let watchRestarts = PrometheusLabelledCounters(label: "irsa_serviceaccount_watch_restarts_total", dimension: "reason")
    private let storeLookups = PrometheusLabelledCounters(label: "irsa_serviceaccount_lookups_total", dimension: "source")
    private let storeLists: CoreMetrics.Counter
    private let storeEntries: CoreMetrics.Gauge
    private let storeConfirmedAge: CoreMetrics.Gauge

    /// Brings the informer's and its store's counters and gauges up to date (watch mode).
    func recordInformer(_ informer: ServiceAccountInformer.Statistics, store: ServiceAccountStore.Statistics) {
        for (type, count) in informer.eventsByType { watchEvents.catchUp(type, to: Int(count)) }
        for (reason, count) in informer.restartsByReason { watchRestarts.catchUp(reason, to: Int(count)) }
        storeLookups.catchUp("store", to: Int(store.storeLookups))
        storeLookups.catchUp("get", to: Int(store.fetchedLookups))
        storeLookups.catchUp("stale", to: Int(store.staleLookups))
        storeLookups.catchUp("stale_if_error", to: Int(store.staleOnError))
        listsRecorded.withLock { recorded in
            if informer.lists > recorded { storeLists.increment(by: Int(informer.lists - recorded)) }
            recorded = informer.lists
        }
        storeEntries.record(store.entries)
        storeConfirmedAge.record(store.secondsSinceConfirmed ?? -1)
    }

    private let listsRecorded = LockedValue<UInt64>(0)

    /// Log lines dropped because standard error did not keep up (`LogSink`), brought up to the
    /// sink's count at each scrape.
    func catchUpLogLinesDropped(to total: Int) {
        logLinesDropped.catchUp("stderr", to: total)
    }

    private let logLinesDropped = PrometheusLabelledCounters(label: "irsa_log_lines_dropped_total", dimension: "sink")

    /// Connections the Kubernetes API client opened, by server (`host:port`), brought up to the
    /// client's own count at each scrape: at most `--api-max-connections` at once, so a rate
    /// well above idle churn means connections keep failing.
    let apiConnectionsOpened = PrometheusLabelledCounters(label: "irsa_kubernetes_api_connections_opened_total", dimension: "server")

    /// The Prometheus text exposition of every metric, with help texts, then the process metrics.
    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(registry.internalBufferCapacity())
        registry.emit(into: &buffer)
        return MetricHelp.withHelp(buffer) + Array(ProcessMetrics.render().utf8)
    }
}

/// Counters with one label whose values appear at run time (HTTP status codes), made on first use.
final class PrometheusLabelledCounters: Sendable {
    private let label: String
    private let dimension: String
    private let counters = LockedValue<[String: (counter: CoreMetrics.Counter, total: Int)]>([:])

    init(label: String, dimension: String) {
        self.label = label
        self.dimension = dimension
    }

    /// Adds one to the counter labelled `value`.
    func increment(_ value: String) {
        counters.withLock { counters in
            var entry = counters[value] ?? (CoreMetrics.Counter(label: label, dimensions: [(dimension, value)]), 0)
            entry.counter.increment()
            entry.total += 1
            counters[value] = entry
        }
    }

    /// Raises the counter labelled `value` to `total` (never lowers it).
    func catchUp(_ value: String, to total: Int) {
        counters.withLock { counters in
            var entry = counters[value] ?? (CoreMetrics.Counter(label: label, dimensions: [(dimension, value)]), 0)
            if total > entry.total {
                entry.counter.increment(by: total - entry.total)
                entry.total = total
            }
            counters[value] = entry
        }
    }
}
