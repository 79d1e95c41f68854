import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// The irsa-webhook executable: parses the command line, then hands over to `Webhook`.
@main
enum IRSAWebhook {
    static let version = "0.1.0"

    static func main() async {
        TerminationSignal.install()
        let arguments = CommandLineOptions.arguments(
            Array(CommandLine.arguments.dropFirst()), environment: ProcessEnvironment.variables())
        let configuration: Configuration
        do {
            let options = try CommandLineOptions.parse(arguments)
            configuration = try Configuration(options, cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        } catch let error as ConfigurationError {
            exitWithConfigurationError(error.description)
        } catch {
            let code = CommandLineOptions.exitCode(for: error)
            if code == .success {
                print(CommandLineOptions.fullMessage(for: error))
                exit(0)
            }
            exitWithConfigurationError(CommandLineOptions.message(for: error))
        }
        do {
            exit(try await Webhook.run(configuration))
        } catch {
            exitWithConfigurationError(error.description)
        }
    }

    /// One line on standard error, exit code 2: what a bad flag or environment variable gets.
    static func exitWithConfigurationError(_ message: String) -> Never {
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
