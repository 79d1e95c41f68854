import ArgumentParser
import EventLoop
#if canImport(Glibc)
import Glibc
#endif

/// The irsa-webhook executable: parses the command line, then runs the chosen subcommand.
@main
enum IRSAWebhook {
    /// The version `--version` prints and `irsa_build_info` reports.
    static let version = "0.1.0"

    static func main() {
        TerminationSignal.install()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.count == 1, ["-h", "--help", "help"].contains(arguments[0]) {
            // The subcommands, then the options of the default one: what most readers look for.
            print(RootCommand.helpMessage() + "\n\n" + RootCommand.helpMessage(for: ServeCommand.self))
            exit(0)
        }
        let command: WebhookCommand
        do {
            let parsed = try RootCommand.parseAsRoot(serveArguments(arguments))
            guard let runnable = parsed as? WebhookCommand else {
                // ArgumentParser's own commands (`--help`, `help serve`) print to stdout.
                var builtIn = parsed
                try builtIn.run()
                exit(0)
            }
            command = runnable
        } catch {
            let code = RootCommand.exitCode(for: error)
            if code == .success { RootCommand.exit(withError: error) }  // --help, --version: stdout, exit 0
            exitWithConfigurationError(RootCommand.message(for: error))
        }
        // The command runs as a task on an event loop of its own while the main thread waits:
        // nothing runs on Swift's global executor or Dispatch (no async main, whose queue
        // Dispatch drains), so no Dispatch thread ever starts. Each would call `setpriority`,
        // which the systemd unit's filter refuses and the journal logs.
        let mainLoop = EventLoopGroup(threads: 1, threadName: "main-loop")
        mainLoop.loops[0].spawn {
            do throws(ConfigurationError) {
                let status = try await command.execute()
                LogSink.standardError.flush(within: .seconds(2))
                exit(status)
            } catch {
                exitWithConfigurationError(error.description)
            }
        }
        while true { pause() }
    }

    /// The arguments with the environment variables of the subcommand they name (`serve` when
    /// none) merged in.
    private static func serveArguments(_ arguments: [String]) -> [String] {
        let environment = ProcessEnvironment.variables()
        let subcommands = RootCommand.configuration.subcommands.map { $0._commandName }
        if let first = arguments.first, subcommands.contains(first) {
            let rest = Array(arguments.dropFirst())
            switch first {
            case ServeCommand._commandName: return [first] + ServeCommand.arguments(rest, environment: environment)
            case MutateCommand._commandName: return [first] + MutationOptions.arguments(rest, environment: environment)
            default: return arguments
            }
        }
        return ServeCommand.arguments(arguments, environment: environment)
    }

    /// One line on standard error, exit code 2: what a bad flag or environment variable gets.
    static func exitWithConfigurationError(_ message: String) -> Never {
        LogSink.standardError.flush(within: .seconds(2))
        let line = "irsa-webhook: error: \(message.split(separator: "\n").first.map(String.init) ?? message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        exit(2)
    }
}

/// The process environment as a dictionary.
enum ProcessEnvironment {
    static func variables() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let pair = String(cString: pointer)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }
}
