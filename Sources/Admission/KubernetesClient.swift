import EventLoop

/// Looks ServiceAccounts up in the Kubernetes API: `GET /api/v1/namespaces/{ns}/serviceaccounts/{name}`.
///
/// 200 yields the account (keeping the annotations `annotationFilter` keeps), 404 yields nil,
/// 401 and 403 fail at once with a message saying what to fix, 429, 5xx, dropped connections and
/// a server host name that does not resolve are retried as `RetryPolicy` says, and the whole lookup is bounded by `requestTimeout`.
/// Put a `ServiceAccountCache` in front: every call here is a request.
public final class KubernetesClient: ServiceAccountSource {
    /// Timeouts, retries and what to keep.
    public struct Configuration: Sendable {
        /// The most time one lookup may take, retries included.
        public var requestTimeout: Duration
        /// When to retry.
        public var retryPolicy: RetryPolicy
        /// Which annotations to keep on the accounts returned.
        public var annotationFilter: ServiceAccountAnnotationFilter
        /// The User-Agent header.
        public var userAgent: String

        public init(
            requestTimeout: Duration = .seconds(2),
            retryPolicy: RetryPolicy = RetryPolicy(),
            annotationFilter: ServiceAccountAnnotationFilter = .all,
            userAgent: String = "irsa-webhook"
        ) {
            self.requestTimeout = requestTimeout
            self.retryPolicy = retryPolicy
            self.annotationFilter = annotationFilter
            self.userAgent = userAgent
        }
    }

    private let api: KubernetesAPIConfiguration
    private let transport: any KubernetesTransport
    private let configuration: Configuration
    private let now: @Sendable () -> Deadline
    private let sleep: @Sendable (Duration) async throws -> Void
    private let random: @Sendable () -> Double

    /// A client for the API `api` describes, sending requests through `transport`.
    ///
    /// - Parameters:
    ///   - now, sleep, random: The clock, the pause between retries and the jitter source; tests replace them.
    public init(
        api: KubernetesAPIConfiguration,
        transport: any KubernetesTransport,
        configuration: Configuration = Configuration(),
        now: @escaping @Sendable () -> Deadline = { Deadline.now() },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.api = api
        self.transport = transport
        self.configuration = configuration
        self.now = now
        self.sleep = sleep
        self.random = random
    }

    public func serviceAccount(_ key: ServiceAccountKey) async throws -> ServiceAccount? {
        guard Self.isPossibleName(key.namespace), Self.isPossibleName(key.name) else { return nil }
        let deadline = now() + configuration.requestTimeout
        let path = Self.serviceAccountPath(key, prefix: api.pathPrefix)
        let policy = configuration.retryPolicy
        var attempt = 0
        var lastRetryable: KubernetesClientError?
        while true {
            attempt += 1
            var headers: [(name: String, value: String)] = [("Accept", "application/json"), ("User-Agent", configuration.userAgent)]
            if let token = api.token { headers.append(("Authorization", "Bearer " + (try token.token()))) }

            let outcome: Outcome
            do {
                let response = try await transport.get(path, headers: headers, deadline: deadline)
                outcome = Self.outcome(of: response, for: key, keeping: configuration.annotationFilter, attempts: attempt)
            } catch let error as IOError where error.code == .timedOut {
                throw timedOut(key, attempts: attempt, after: lastRetryable)
            } catch let error as CancellationError {
                throw error
            } catch let error as HostResolutionError {
                // Retried (a name may appear in DNS moments later) within the deadline; the
                // resolver remembers the failure briefly, so the retries ask DNS once.
                outcome = .retry(after: nil, KubernetesClientError(code: .unresolvableHost, key: key, detail: "\(error)", attempts: attempt))
            } catch {
                outcome = .retry(after: nil, KubernetesClientError(code: .unavailable, key: key, detail: "\(error)", attempts: attempt))
            }

            switch outcome {
            case .answer(let account):
                return account
            case .failure(let error):
                throw error
            case .retry(let retryAfter, let error):
                lastRetryable = error
                guard attempt < policy.maximumAttempts else { throw error }
                let pause = policy.pause(beforeRetry: attempt, retryAfter: retryAfter, random: random())
                guard now() + pause < deadline else { throw error }
                try await sleep(pause)
            }
        }
    }

    /// The error for a lookup whose deadline passed. After a retried failure (429, 5xx, a dropped
    /// connection) that failure is what went wrong, so the error says so: "timed out" alone would
    /// hide that the API server was answering 500s.
    private func timedOut(_ key: ServiceAccountKey, attempts: Int, after previous: KubernetesClientError?) -> KubernetesClientError {
        let noAnswer = "no answer within \(configuration.requestTimeout)"
        guard let previous else { return KubernetesClientError(code: .timedOut, key: key, detail: noAnswer, attempts: attempts) }
        return KubernetesClientError(
            code: previous.code, key: key, status: previous.status,
            detail: previous.detail.isEmpty ? noAnswer : previous.detail + "; then " + noAnswer, attempts: attempts)
    }

    /// What one response means for the lookup.
    enum Outcome {
        /// The account, or nil for 404.
        case answer(ServiceAccount?)
        /// A failure retrying cannot fix.
        case failure(KubernetesClientError)
        /// A failure worth retrying after at least the server's Retry-After.
        case retry(after: Duration?, KubernetesClientError)
    }

    /// Maps a response to an outcome: 200 decoded, 404 nil, 401/403 failures, 429/5xx retries.
    static func outcome(
        of response: KubernetesTransportResponse, for key: ServiceAccountKey, keeping filter: ServiceAccountAnnotationFilter, attempts: Int
    ) -> Outcome {
        func failure(_ code: KubernetesClientError.Code, _ detail: String) -> KubernetesClientError {
            KubernetesClientError(code: code, key: key, status: response.status, detail: detail, attempts: attempts)
        }
        switch response.status {
        case 200:
            do {
                return .answer(try ServiceAccountJSON.decode(response.body, expecting: key, keeping: filter))
            } catch {
                return .failure(failure(.invalidResponse, error.description))
            }
        case 404:
            return .answer(nil)
        case 401:
            return .failure(failure(.unauthorized, ServiceAccountJSON.statusMessage(response.body)))
        case 403:
            return .failure(failure(.forbidden, ServiceAccountJSON.statusMessage(response.body)))
        case 429, 500, 502, 503, 504:
            return .retry(after: RetryPolicy.retryAfter(response.retryAfter), failure(.unavailable, ServiceAccountJSON.statusMessage(response.body)))
        default:
            return .failure(failure(.unexpectedStatus, ServiceAccountJSON.statusMessage(response.body)))
        }
    }

    /// `{prefix}/api/v1/namespaces/{namespace}/serviceaccounts/{name}` with both segments percent-escaped.
    static func serviceAccountPath(_ key: ServiceAccountKey, prefix: String) -> String {
        prefix + "/api/v1/namespaces/" + escapePathSegment(key.namespace) + "/serviceaccounts/" + escapePathSegment(key.name)
    }

    /// `segment` with every byte outside RFC 3986's unreserved set percent-encoded.
    static func escapePathSegment(_ segment: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(segment.utf8.count)
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0f)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// False for names no Kubernetes object can have and that would change the request's
    /// meaning: "" (would list every account), "." and "..".
    static func isPossibleName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".."
    }
}
