import ArgumentParser

/// `loadgen`: the load generator of irsa-webhook's benchmarks.
@main
struct LoadGen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "Sends realistic AdmissionReviews to a webhook over HTTPS keep-alive and checks every answer.",
        subcommands: [RunCommand.self, CorpusCommand.self],
        defaultSubcommand: RunCommand.self
    )
}

/// Options that shape the generated workload (shared by `run` and `corpus`).
struct WorkloadOptions: ParsableArguments {
    @Option(help: "Seed of the generated corpus (same seed, same bytes).")
    var seed: UInt64 = 42

    @Option(help: "Distinct pre-rendered reviews.")
    var reviews: Int = 512

    @Option(help: "Namespaces.")
    var namespaces: Int = 40

    @Option(help: "ServiceAccounts of each class (annotated, unannotated, unknown) per namespace.")
    var accountsPerClass: Int = 3

    @Option(help: "Request mix annotated:unannotated:unknown ServiceAccounts, e.g. 70:20:10.")
    var mix: String = "70:20:10"

    @Option(help: "Every pod this many bytes (default: 2 KB to 64 KB, log-uniform).")
    var podSize: Int?

    @Option(help: "Fraction of requests that send a 1 MB pod.")
    var outlierRate: Double = 0.001

    @Option(help: "Annotation prefix of the role ARN annotation.")
    var annotationPrefix: String = "vultr.com"

    /// The validated corpus options.
    func corpusOptions() throws -> CorpusOptions {
        guard let mix = AccountMix(self.mix) else { throw ValidationError("--mix must be three non-negative weights A:U:K, got \(self.mix)") }
        guard reviews > 0, namespaces > 0, accountsPerClass > 0 else { throw ValidationError("--reviews, --namespaces and --accounts-per-class must be positive") }
        guard (0...1).contains(outlierRate) else { throw ValidationError("--outlier-rate must be between 0 and 1") }
        if let podSize, !(512...(3 << 20)).contains(podSize) { throw ValidationError("--pod-size must be 512 bytes to 3 MiB") }
        var options = CorpusOptions()
        options.seed = seed
        options.reviews = reviews
        options.namespaces = namespaces
        options.accountsPerClass = accountsPerClass
        options.mix = mix
        options.fixedPodBytes = podSize
        options.outlierRate = podSize == nil ? outlierRate : 0
        options.annotationPrefix = annotationPrefix
        return options
    }
}
