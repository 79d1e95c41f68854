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
}
