import ArgumentParser

/// The `irsa-webhook` command line: `serve` (the default, so `irsa-webhook --port 8443` serves)
/// and the tools beside it. `--version` prints `IRSAWebhook.version`.
struct RootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "irsa-webhook",
        abstract: "IAM Roles for Service Accounts for Vultr Kubernetes: a mutating admission webhook.",
        discussion: "Without a subcommand, irsa-webhook serves (see 'irsa-webhook serve --help').",
        version: IRSAWebhook.version,
        subcommands: [ServeCommand.self, IssuerCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}

/// A subcommand of `irsa-webhook`: parsed by ArgumentParser, run by `IRSAWebhook.main`.
protocol WebhookCommand: ParsableCommand {
    /// Runs the command and returns the process exit code. A `ConfigurationError` (a bad flag,
    /// file or input) is printed as one line on standard error, with exit code 2.
    func execute() async throws(ConfigurationError) -> Int32
}
