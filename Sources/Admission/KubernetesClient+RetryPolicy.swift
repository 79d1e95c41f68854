extension KubernetesClient {
    /// When to try a ServiceAccount GET again after 429, 5xx or a dropped connection.
    ///
    /// Pauses grow exponentially from `initialBackoff` up to `maximumBackoff`, with "equal jitter"
    /// (half fixed, half random) so a burst of webhooks does not retry in lockstep, and are never
    /// shorter than the server's `Retry-After`. The client stops when `maximumAttempts` requests
    /// were sent or the next pause would end after the request deadline (the whole lookup,
    /// retries included, is bounded by the client's `requestTimeout`).
    public struct RetryPolicy: Sendable, Hashable {
        /// The most requests per lookup, the first included.
        public var maximumAttempts: Int
        /// The pause ceiling before the first retry.
        public var initialBackoff: Duration
        /// The largest pause ceiling.
        public var maximumBackoff: Duration

        public init(maximumAttempts: Int = 4, initialBackoff: Duration = .milliseconds(50), maximumBackoff: Duration = .milliseconds(800)) {
            self.maximumAttempts = maximumAttempts
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
        }

        /// The pause before retry number `retry` (1 for the first retry), given a random value in
        /// [0, 1) and the server's Retry-After, if any.
        func pause(beforeRetry retry: Int, retryAfter: Duration?, random: Double) -> Duration {
            var ceiling = initialBackoff
            for _ in 1..<max(retry, 1) where ceiling < maximumBackoff { ceiling = ceiling * 2 }
            ceiling = min(ceiling, maximumBackoff)
            let jittered = ceiling / 2 + (ceiling / 2) * min(max(random, 0), 1)
            return max(jittered, retryAfter ?? .zero)
        }

        /// The delay a `Retry-After` header asks for; only the delta-seconds form is understood
        /// (an HTTP date yields nil, leaving the backoff alone).
        static func retryAfter(_ value: String?) -> Duration? {
            guard let value, let seconds = Int(value.trimmingASCIIWhitespace()), seconds >= 0 else { return nil }
            return .seconds(min(seconds, 3600))
        }
    }
}
