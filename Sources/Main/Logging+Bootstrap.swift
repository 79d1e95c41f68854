import Logging

/// Installs the process-wide log handler chosen by the configuration. Logs go to standard
/// error (journald under systemd, the container log in Kubernetes) through `LogSink`.
enum LoggingSetup {
    static func bootstrap(format: Configuration.LogFormat, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            switch format {
            case .json:
                return JSONLogHandler(label: label, level: level)
            case .text:
                return TextLogHandler(label: label, level: level)
            }
        }
    }
}
