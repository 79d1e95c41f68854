import Admission
import Logging

/// Reloads the `--service-accounts-file` when it changes (a ConfigMap volume swaps a symlink;
/// an editor rewrites the file), so edits reach the next pod as a watch event would. A file that
/// no longer parses keeps the previous accounts and logs an error.
enum ServiceAccountFileReloader {
    static func watch(
        path: String, filter: ServiceAccountAnnotationFilter, source: ReloadableServiceAccountSource, logger: Logger
    ) throws(ConfigurationError) -> FileWatcher {
        try FileWatcher(paths: [path], settle: .milliseconds(100)) {
            do {
                let reloaded = try StaticServiceAccountSource(contentsOfFile: path, keeping: filter)
                guard reloaded.accounts != source.source.accounts else { return }
                source.replace(with: reloaded)
                logger.info("ServiceAccounts file reloaded", metadata: ["file": "\(path)", "accounts": .count(reloaded.accounts.count)])
            } catch {
                logger.error("ServiceAccounts file reload failed; still serving the previous accounts", metadata: ["error": "\(error)"])
            }
        }
    }
}
