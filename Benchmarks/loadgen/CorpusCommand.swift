import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// `loadgen corpus`: writes the ServiceAccount file matching the generated workload, and sample reviews.
struct CorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Write the ServiceAccount List for irsa-webhook --service-accounts-file, or one generated review."
    )

    @OptionGroup var workload: WorkloadOptions

    @Option(help: "Write the ServiceAccounts (a Kubernetes List, JSON) to this file.")
    var writeServiceAccounts: String?

    @Option(help: "Write the first generated review (request body) to this file.")
    var writeReview: String?

    func run() throws {
        guard writeServiceAccounts != nil || writeReview != nil else {
            throw ValidationError("nothing to do: give --write-service-accounts FILE and/or --write-review FILE")
        }
        let corpus = Corpus(options: try workload.corpusOptions())
        if let path = writeServiceAccounts, let plan = corpus.plan {
            try FileIO.write(Array(plan.serviceAccountList().serialized.utf8) + [0x0A], to: path)
        }
        if let path = writeReview {
            try FileIO.write(corpus.reviews[0].body, to: path)
        }
        var sizes = corpus.reviews.map(\.body.count).sorted()
        if sizes.isEmpty { sizes = [0] }
        Console.error("corpus: \(corpus.reviews.count) reviews, \(sizes[0])...\(sizes[sizes.count - 1]) bytes (median \(sizes[sizes.count / 2])), "
              + "\(corpus.plan?.accounts.count ?? 0) ServiceAccounts")
    }
}

/// Whole-file reads and writes for the cold paths (corpus files, `--review`).
enum FileIO {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        guard let file = fopen(path, "wb") else { throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        guard bytes.withUnsafeBytes({ fwrite($0.baseAddress, 1, $0.count, file) }) == bytes.count
        else { throw Failure(description: "short write to \(path)") }
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw Failure(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        guard ferror(file) == 0 else { throw Failure(description: "error reading \(path)") }
        return bytes
    }
}
