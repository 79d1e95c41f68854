import Foundation
import Testing

/// The repository stands on its own: a clone builds, tests and benchmarks without anything
/// beside it, and the benchmark's review is the dev sample.
@Suite("repository")
struct RepositoryTests {
    /// Every file git tracks, relative to the root.
    static func trackedFiles() async throws -> [String] {
        let result = try await TestTools.run(["git", "-C", TestTools.root.path, "ls-files", "-z"], timeout: .seconds(30))
        try #require(result.status == 0, "git ls-files: \(result.stderr)")
        return result.stdout.split(separator: "\0").map(String.init)
    }

    @Test("no tracked file refers to a directory beside the repository or to an absolute machine path",
          .enabled(if: Deploy.which("git") != nil && FileManager.default.fileExists(atPath: TestTools.root.appendingPathComponent(".git").path),
                   "not a git checkout"))
    func selfContained() async throws {
        // Spelled in pieces so this file does not match itself.
        let forbidden = [["..", "/shared"].joined(), ["/wo", "rk/"].joined()]
        var offenders: [String] = []
        for file in try await Self.trackedFiles() {
            guard let text = try? String(contentsOf: TestTools.root.appendingPathComponent(file), encoding: .utf8) else { continue }
            for pattern in forbidden where text.contains(pattern) { offenders.append("\(file): \(pattern)") }
        }
        #expect(offenders.isEmpty, "\(offenders)")
    }

    @Test("every package in the repository has a committed Package.resolved, pinning what the root pins",
          .enabled(if: Deploy.which("git") != nil && FileManager.default.fileExists(atPath: TestTools.root.appendingPathComponent(".git").path),
                   "not a git checkout"))
    func dependenciesArePinnedEverywhere() async throws {
        /// identity -> "location version revision" of a Package.resolved.
        func pins(_ path: String) throws -> [String: String] {
            let data = try Data(contentsOf: TestTools.root.appendingPathComponent(path))
            let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let list = try #require(document["pins"] as? [[String: Any]], "\(path) has no pins")
            return Dictionary(uniqueKeysWithValues: list.map { pin in
                let state = pin["state"] as? [String: Any] ?? [:]
                return (pin["identity"] as? String ?? "?",
                        "\(pin["location"] ?? "?") \(state["version"] ?? "-") \(state["revision"] ?? "?")")
            })
        }
        let tracked = Set(try await Self.trackedFiles())
        let manifests = tracked.filter { $0 == "Package.swift" || $0.hasSuffix("/Package.swift") }
        #expect(manifests.count >= 3, "\(manifests)")
        let root = try pins("Package.resolved")
        #expect(!root.isEmpty)
        for manifest in manifests {
            let resolved = String(manifest.dropLast("Package.swift".count)) + "Package.resolved"
            let committed = tracked.contains(resolved)
            #expect(committed, "\(resolved) is not committed: \(manifest) resolves unpinned")
            if committed { #expect(try pins(resolved) == root, "\(resolved) pins differ from Package.resolved") }
        }
    }

    @Test("Benchmarks/peers/make_review.py writes deploy/dev/review.json byte for byte")
    func benchmarkReviewIsTheDevSample() async throws {
        let generator = TestTools.root.appendingPathComponent("Benchmarks/peers/make_review.py").path
        let result = try await TestTools.run(["python3", generator], timeout: .seconds(30))
        #expect(result.status == 0, "\(result.stderr)")
        let sample = try String(contentsOf: Deploy.url("dev/review.json"), encoding: .utf8)
        #expect(result.stdout == sample)
        #expect(result.stdout.utf8.count == 4852, "the 4.8 KB review the published figures were measured with")

        let withUID = try await TestTools.run(["python3", generator, "--uid", "0c5e8a5c-0000-4000-8000-000000000001"], timeout: .seconds(30))
        let review = try #require(try JSONSerialization.jsonObject(with: Data(withUID.stdout.utf8)) as? [String: Any])
        #expect((review["request"] as? [String: Any])?["uid"] as? String == "0c5e8a5c-0000-4000-8000-000000000001")
    }
}
