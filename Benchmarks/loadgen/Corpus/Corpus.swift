#if canImport(Glibc)
import Glibc
#endif

/// How to build the generated workload.
struct CorpusOptions: Sendable {
    var seed: UInt64 = 42
    /// Distinct pre-rendered reviews (requests cycle through them).
    var reviews = 512
    var namespaces = 40
    var accountsPerClass = 3
    var mix = AccountMix("70:20:10")!
    /// Pod size range when `fixedPodBytes` is nil (log-uniform).
    var minimumPodBytes = 2 * 1024
    var maximumPodBytes = 64 * 1024
    /// Every pod this size instead (the size sweep).
    var fixedPodBytes: Int?
    /// Fraction of requests that send a 1 MB outlier pod.
    var outlierRate = 0.001
    var outlierBytes = 1024 * 1024
    var annotationPrefix = "vultr.com"
}

/// The reviews a run sends: a deterministic set of generated pods over many namespaces and
/// ServiceAccounts, plus rare large outliers.
struct Corpus: Sendable {
    let reviews: [PreparedReview]
    let outliers: [PreparedReview]
    let outlierRate: Double
    let plan: ServiceAccountPlan?

    /// Generates the workload of `options` (same options, same bytes).
    init(options: CorpusOptions) {
        var random = SplitMix64(seed: options.seed)
        let plan = ServiceAccountPlan(namespaces: options.namespaces, accountsPerClass: options.accountsPerClass,
                                      annotationPrefix: options.annotationPrefix, random: &random)
        var generator = PodGenerator(seed: random.next())
        let byClass = Dictionary(grouping: plan.accounts, by: \.accountClass)
        func review(bytes: Int) -> PreparedReview {
            let accountClass = options.fixedPodBytes == nil ? options.mix.draw(using: &random) : .annotated
            let account = random.pick(byClass[accountClass]!)
            let owner = random.pick([PodOwner.deployment, .deployment, .deployment, .statefulSet, .job])
            let pod = generator.pod(owner: owner, namespace: account.namespace, serviceAccount: account.name, targetBytes: bytes)
            let expectation: PatchExpectation = account.accountClass == .annotated ? .patch(roleARN: account.roleARN) : .none
            return PreparedReview(pod: pod, namespace: account.namespace, expectation: expectation)
        }
        var reviews: [PreparedReview] = []
        for _ in 0..<max(1, options.reviews) {
            if let fixed = options.fixedPodBytes {
                reviews.append(review(bytes: fixed))
            } else {
                let logSize = Double.random(in: log(Double(options.minimumPodBytes))...log(Double(options.maximumPodBytes)), using: &random)
                reviews.append(review(bytes: Int(exp(logSize))))
            }
        }
        self.reviews = reviews
        self.outliers = options.outlierRate > 0 ? (0..<2).map { _ in review(bytes: options.outlierBytes) } : []
        self.outlierRate = options.outlierRate
        self.plan = plan
    }

    /// A corpus of one fixed review (`--review`), sent on every request.
    init(fixed review: PreparedReview) {
        reviews = [review]
        outliers = []
        outlierRate = 0
        plan = nil
    }

    /// The review to send next on a connection, drawn with `random`.
    func next(using random: inout SplitMix64) -> PreparedReview {
        if !outliers.isEmpty, random.chance(outlierRate) { return random.pick(outliers) }
        return reviews[Int(truncatingIfNeeded: random.next() % UInt64(reviews.count))]
    }

    /// The largest body in the corpus (sizes connection buffers).
    var largestBody: Int { (reviews + outliers).map(\.body.count).max() ?? 0 }
}
