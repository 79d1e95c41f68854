/// How a run sends its requests; shared read-only by every connection.
struct LoadPlan: Sendable {
    let target: Target
    let corpus: Corpus
    let verifier: ResponseVerifier
    let connections: Int
    let threads: Int
    /// Stop after this many requests in total (nil: after `duration`).
    let requestLimit: Int?
    /// How long to measure after warm-up (ignored when `requestLimit` is set).
    let duration: Duration
    /// Requests answered before this much time has passed are not counted.
    let warmup: Duration
    /// Open loop: requests per second over all connections (nil: closed loop).
    let rate: Double?
    /// Longest wait for one connect, write or response.
    let timeout: Duration
    let seed: UInt64
    /// Close each connection after this many requests and open a new one (nil: keep it).
    var requestsPerConnection: Int? = nil
    /// Shutdown test: a keep-alive connection is checked for a server close before each reuse,
    /// and a reconnect refused or reset when the server has started closing connections (or
    /// starts within `timeout`) ends that connection's part of the run instead of failing
    /// (see `ConnectionEvents`).
    var untilServerStops = false
}
