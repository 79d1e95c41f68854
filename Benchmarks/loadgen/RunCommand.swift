import ArgumentParser
import EventLoop

/// `loadgen run` (the default): drives load at a webhook over HTTPS keep-alive and reports.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Send AdmissionReviews, check every answer, report throughput and latency.",
        discussion: "Exits 1 when any request failed, 2 on bad options."
    )

    @Argument(help: "The webhook URL, e.g. https://127.0.0.1:8443/mutate.")
    var url: String

    @Option(help: "Keep-alive connections.")
    var connections: Int = 64

    @Option(help: "Event loop threads of the load generator.")
    var threads: Int = 1

    @Option(help: "Measured time after warm-up, e.g. 10s.")
    var duration: String = "10s"

    @Option(help: "Stop after this many requests instead of after --duration.")
    var requests: Int?

    @Option(help: "Time at the start whose requests are not counted.")
    var warmup: String = "1s"

    @Option(help: "Open loop: requests per second in total; latency counts from the intended send time. Default: closed loop.")
    var rate: Double?

    @Option(help: "Checks per answer: none (status only), envelope (uid echoed, patch when expected), full (patch applies).")
    var verify: String = "envelope"

    @Option(help: "Send this fixed AdmissionReview (e.g. the peers' review.json) instead of the generated corpus.")
    var review: String?

    @Option(help: "With --review: the answer to expect: patch, none or unknown.")
    var expect: String = "unknown"

    @Option(help: "PEM CA file that signed the server certificate.")
    var caFile: String?

    @Flag(help: "Accept any server certificate (when no --ca-file is at hand).")
    var insecure = false

    @Option(help: "Longest wait for a connect, a write or a response.")
    var timeout: String = "10s"

    @Option(help: "Instead of load: open this many TLS connections and hold them idle for --hold.")
    var idleConnections: Int?

    @Option(help: "How long --idle-connections are held.")
    var hold: String = "10s"

    @Flag(help: "With --idle-connections: each connection first gets a 200 for GET /healthz, then waits as a keep-alive connection.")
    var idleAfterRequest = false

    @Option(help: "Close each connection after this many requests and open a new one (TLS handshakes under load).")
    var requestsPerConnection: Int?

    @Flag(help: ArgumentHelp(
        "Shutdown test: stop when the server stops (at the latest after warm-up and --duration).",
        discussion: "Before reusing a keep-alive connection loadgen checks that the server has not closed it; such a close "
            + "is counted, not failed, and the connection reopened. A reconnect refused or reset when the server has answered "
            + "Connection: close or closed a connection (or does so within --timeout) ends that connection's work and is "
            + "counted, not failed. "
            + "A request that was sent and not answered with a correct 200 is a failure in every mode."))
    var untilServerStops = false

    @Flag(help: "Print the report as one JSON object on standard output.")
    var json = false

    @OptionGroup var workload: WorkloadOptions

    func run() async throws {
        guard let target = Target(url: url) else { throw ValidationError("the URL must be https://HOST:PORT/PATH, got \(url)") }
        guard connections > 0, threads > 0 else { throw ValidationError("--connections and --threads must be positive") }
        guard let duration = DurationParser.parse(duration), let warmup = DurationParser.parse(warmup),
              let timeout = DurationParser.parse(timeout), let hold = DurationParser.parse(hold)
        else { throw ValidationError("durations look like 10s, 500ms or 2m") }
        guard let mode = VerifyMode(rawValue: verify) else { throw ValidationError("--verify must be none, envelope or full") }
        if let rate, !(rate > 0) { throw ValidationError("--rate must be positive") }
        if let requests, requests <= 0 { throw ValidationError("--requests must be positive") }
        if let requestsPerConnection, requestsPerConnection <= 0 { throw ValidationError("--requests-per-connection must be positive") }
        guard caFile != nil || insecure else { throw ValidationError("give --ca-file FILE (or --insecure)") }

        let group = EventLoopGroup(threads: threads)
        defer { group.shutdown() }
        let dialer = try TLSDialer(target: target, caFile: caFile, timeout: timeout, loops: group.loops)

        if let idleConnections {
            let idle = IdleConnections(count: idleConnections, hold: hold, loops: group.loops, dialer: dialer, requestFirst: idleAfterRequest)
            let (opened, failures) = await idle.run()
            Console.output("opened \(opened) of \(idleConnections) idle connections")
            for (kind, count) in failures.sorted(by: { $0.key < $1.key }) { Console.error("!!! \(count) × \(kind.rawValue)") }
            if opened < idleConnections { throw ExitCode(1) }
            return
        }

        let corpus: Corpus
        if let review {
            let expectation: PatchExpectation
            switch expect {
            case "patch": expectation = .patch(roleARN: nil)
            case "none": expectation = .none
            case "unknown": expectation = .unknown
            default: throw ValidationError("--expect must be patch, none or unknown")
            }
            do {
                corpus = Corpus(fixed: try PreparedReview(fixedReview: try FileIO.read(review), expectation: expectation))
            } catch {
                throw ValidationError("--review \(review): \(error)")
            }
        } else {
            corpus = Corpus(options: try workload.corpusOptions())
        }
        let plan = LoadPlan(target: target, corpus: corpus, verifier: ResponseVerifier(mode: mode), connections: connections,
                            threads: threads, requestLimit: requests, duration: duration, warmup: warmup, rate: rate,
                            timeout: timeout, seed: workload.seed, requestsPerConnection: requestsPerConnection,
                            untilServerStops: untilServerStops)
        let (statistics, seconds) = await LoadRun(plan: plan, loops: group.loops, dialer: dialer).run()
        let report = RunReport(target: target.description, mode: rate == nil ? "closed loop" : "open loop \(format(rate!, 0))/s",
                               connections: connections, threads: threads, measuredSeconds: seconds, statistics: statistics)
        if json {
            Console.output(report.json)
            if statistics.failed > 0 { Console.error(report.text) }
        } else {
            Console.output(report.text)
        }
        if statistics.failed > 0 || statistics.succeeded == 0 { throw ExitCode(1) }
    }
}
