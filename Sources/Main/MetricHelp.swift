/// The `# HELP` text of every metric the webhook exports, by name. swift-metrics has no place
/// for help text, so the exposition gets it here: `withHelp` puts each line before its metric's
/// `# TYPE` line. A metric without an entry here has no `# HELP` (EndpointsTests checks there is
/// none).
enum MetricHelp {
    static let texts: [String: String] = [
        "irsa_admissions_total": "AdmissionReviews answered, by result (mutated, skipped, error, denied, invalid).",
        "irsa_admission_duration_seconds": "Time from a complete /mutate request to its answer.",
        "irsa_serviceaccount_lookup_failures_total": "ServiceAccount lookups that failed (the pod was admitted unmutated, or denied with --fail-closed).",
        "irsa_serviceaccount_cache_total": "ServiceAccount cache events (hit, stale_hit, miss, coalesced, eviction, upstream_error, stale_if_error).",
        "irsa_serviceaccount_lookups_total": "Watch mode: ServiceAccount lookups by what answered (store, stale while the watch is down, get, stale_if_error).",
        "irsa_serviceaccount_watch_events_total": "Watch mode: ServiceAccount watch events received, by type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR).",
        "irsa_serviceaccount_watch_restarts_total": "Watch mode: watch streams ended, by reason (closed, error, gone, timeout, forbidden).",
        "irsa_serviceaccount_lists_total": "Watch mode: completed ServiceAccount LISTs (the first, and one after each 410).",
        "irsa_serviceaccount_store_entries": "Watch mode: ServiceAccounts in the store.",
        "irsa_serviceaccount_store_last_confirmed_seconds": "Watch mode: seconds since the API last confirmed the store (0 while the watch runs, -1 before the first LIST).",
        "irsa_narrowing_writes_total": "Narrowing: writes of the webhook's matchConditions (server-side apply, and the GET checking the entry), by result (success, failure).",
        "irsa_narrowing_write_duration_seconds": "Narrowing: time one write of the webhook's matchConditions took.",
        "irsa_narrowing_downgrades_total": "Narrowing: times the condition written fell back to a coarser mode because the narrower one did not fit in 100,000 code points (namespaces, none).",
        "irsa_narrowing_held_changes_total": "Narrowing: ServiceAccount changes held back until the condition written sent their pods, by result (admitted, timeout: applied after 1 s without it).",
        "irsa_narrowing_mode": "Narrowing: 1 for the mode of the condition this process last wrote (serviceaccounts, namespaces, none); all 0 before its first write or when it does not write.",
        "irsa_narrowing_expression_code_points": "Narrowing: code points of the expression last written (limit 100,000; 0 for none).",
        "irsa_narrowing_accounts": "Narrowing: ServiceAccounts with a role, whose pods the condition sends.",
        "irsa_narrowing_writer_active": "Narrowing: 1 while this process writes the condition (it holds the Lease, or runs without one).",
        "irsa_narrowing_consecutive_failures": "Narrowing: writes failed since the last success (the last condition written stays in place meanwhile).",
        "irsa_kubernetes_api_requests_total": "ServiceAccount GETs sent to the Kubernetes API (in watch mode only for accounts the store lacks), by HTTP status (error when none came back).",
        "irsa_kubernetes_api_request_duration_seconds": "Latency of the ServiceAccount GETs sent to the Kubernetes API.",
        "irsa_kubernetes_api_connections_opened_total": "Connections the ServiceAccount GETs opened to the Kubernetes API server, by server (at most --api-max-connections at once).",
        "irsa_log_lines_dropped_total": "Log lines dropped because standard error did not keep up, by sink.",
        "irsa_open_connections": "Connections open on the TLS port.",
        "irsa_connections_accepted_total": "Connections accepted on the TLS port.",
        "irsa_tls_handshake_failures_total": "Failed TLS handshakes, by reason (certificate_rejected means a client such as the API server rejected our certificate: check the caBundle).",
        "irsa_certificate_expiry_timestamp_seconds": "When the served certificate expires (its notAfter), in seconds since the Unix epoch.",
        "irsa_certificate_reloads_total": "Certificate reloads after a change on disk, by result (success, failure).",
        "irsa_accept_pauses_total": "Times accepting paused for 100 ms because descriptors or memory ran out, by listener.",
        "irsa_build_info": "Always 1; the version label is the running build's.",
    ]

    /// `exposition` (Prometheus text format) with a `# HELP` line before each `# TYPE` line
    /// whose metric has a text.
    static func withHelp(_ exposition: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(exposition.count + 64 * texts.count)
        let typePrefix = Array("# TYPE ".utf8)
        for line in exposition.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if line.starts(with: typePrefix) {
                let name = String(decoding: line.dropFirst(typePrefix.count).prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self)
                if let text = texts[name] { result.append(contentsOf: Array("# HELP \(name) \(text)\n".utf8)) }
            }
            result.append(contentsOf: line)
            result.append(UInt8(ascii: "\n"))
        }
        if exposition.last == UInt8(ascii: "\n") || exposition.isEmpty { result.removeLast() }
        return result
    }
}
