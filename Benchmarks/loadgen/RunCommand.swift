import ArgumentParser

/// `loadgen run` (the default): drives load and reports.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Send load and report.")

    @OptionGroup var workload: WorkloadOptions

    func run() async throws {}
}
