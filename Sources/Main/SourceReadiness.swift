import Admission
import EventLoop
import Logging

/// Marks the ServiceAccount source usable: at once for a static file; in watch mode once the
/// informer's first LIST has completed; in get mode (or when the API refuses list or watch)
/// once a probe lookup (`default/default`) gets an answer (found or not found both prove the API
/// is reachable and we are authorised), retrying every 2 seconds until it does. The probe's or
/// the informer's task is returned so that shutdown can cancel it and wait for its end.
enum SourceReadiness {
    static func start(_ sources: ServiceAccountSources, readiness: Readiness, loop: EventLoop, logger: Logger) -> Task<Void, Never>? {
        guard let client = sources.client else {
            readiness.markSourceUsable()
            return nil
        }
        guard let informer = sources.informer else {
            return probe(client, readiness: readiness, loop: loop, logger: logger)
        }
        readiness.setSourceWaitReason("ServiceAccount source not reachable yet: the first list has not completed")
        return informer.start(onSynced: {
            guard !readiness.isSourceUsable else { return }
            readiness.markSourceUsable()
            logger.info("Kubernetes API reachable", metadata: ["serviceAccountSource": "watch"])
        }, onForbidden: { _ in
            readiness.setSourceWaitReason("ServiceAccount source not reachable yet")
            _ = probe(client, readiness: readiness, loop: loop, logger: logger)
        })
    }

    /// The probe's task; it ends when the API answers or the task is cancelled.
    private static func probe(_ client: KubernetesClient, readiness: Readiness, loop: EventLoop, logger: Logger) -> Task<Void, Never> {
        Task(executorPreference: loop) {
            var attempt = 0
            while true {
                attempt += 1
                do {
                    _ = try await client.serviceAccount(ServiceAccountKey(namespace: "default", name: "default"))
                    readiness.markSourceUsable()
                    logger.info("Kubernetes API reachable", metadata: ["attempts": .stringConvertible(attempt)])
                    return
                } catch {
                    if attempt == 1 || attempt % 30 == 0 {
                        logger.warning("Kubernetes API not reachable yet", metadata: ["error": "\(error)"])
                    }
                }
                do {
                    try await loop.sleep(until: .after(.seconds(2)))
                } catch {
                    return
                }
            }
        }
    }
}

/// Copies the ServiceAccount sources' counters into the metrics when they are scraped.
enum SourceStatistics {
    static func export(_ sources: ServiceAccountSources, to metrics: WebhookMetrics) async {
        if let informer = sources.informer {
            let statistics = informer.statistics
            metrics.recordInformer(statistics, store: informer.store.statistics)
            if let narrowing = sources.narrowing { narrowing.metrics.record(narrowing.writer.statistics, informer: statistics) }
        }
        var hits = 0, staleHits = 0, misses = 0, coalesced = 0, evictions = 0, errors = 0, staleOnError = 0
        for cache in sources.caches {
            let statistics = await cache.statistics
            hits += Int(statistics.hits)
            staleHits += Int(statistics.staleHits)
            misses += Int(statistics.misses)
            coalesced += Int(statistics.coalescedWaiters)
            evictions += Int(statistics.evictions)
            errors += Int(statistics.upstreamErrors)
            staleOnError += Int(statistics.staleServedOnError)
        }
        metrics.catchUp("hit", to: hits)
        metrics.catchUp("stale_hit", to: staleHits)
        metrics.catchUp("miss", to: misses)
        metrics.catchUp("coalesced", to: coalesced)
        metrics.catchUp("eviction", to: evictions)
        metrics.catchUp("upstream_error", to: errors)
        metrics.catchUp("stale_if_error", to: staleOnError)
        if let (client, server) = sources.http {
            let opened = await withTaskExecutorPreference(client.loop) { client.connectionsOpened }
            metrics.apiConnectionsOpened.catchUp(server, to: opened)
        }
    }
}
