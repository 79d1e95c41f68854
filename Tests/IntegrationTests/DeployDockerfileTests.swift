import Foundation
import Testing

/// deploy/Dockerfile, read with a small parser (no Docker engine runs here): a Swift builder
/// stage and a slim runtime stage with only the libraries the binary links, run as 65532.
@Suite("deploy/Dockerfile")
struct DeployDockerfileTests {
    /// One instruction: its keyword (upper case) and the rest of the line, continuations joined.
    struct Instruction {
        var keyword: String
        var arguments: String
    }

    /// A stage: what its FROM names (ARG defaults substituted), its alias, its instructions.
    struct Stage {
        var image: String
        var name: String?
        var instructions: [Instruction] = []

        func all(_ keyword: String) -> [String] {
            instructions.filter { $0.keyword == keyword }.map(\.arguments)
        }
    }

    static func instructions(_ text: String) -> [Instruction] {
        var result: [Instruction] = []
        var pending = ""
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") { continue }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            let whole = (pending + line).trimmingCharacters(in: .whitespaces)
            pending = ""
            guard !whole.isEmpty else { continue }
            let parts = whole.split(separator: " ", maxSplits: 1)
            result.append(Instruction(keyword: parts[0].uppercased(), arguments: parts.count > 1 ? String(parts[1]) : ""))
        }
        return result
    }

    static func stages() throws -> [Stage] {
        var defaults: [String: String] = [:]
        var stages: [Stage] = []
        for instruction in instructions(try Deploy.text("Dockerfile")) {
            switch instruction.keyword {
            case "ARG" where stages.isEmpty:
                let parts = instruction.arguments.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { defaults[String(parts[0])] = String(parts[1]) }
            case "FROM":
                var words = instruction.arguments.split(separator: " ").map(String.init)
                words.removeAll { $0.hasPrefix("--platform") }
                var image = words.first ?? ""
                for (name, value) in defaults { image = image.replacingOccurrences(of: "${\(name)}", with: value) }
                let name = words.count == 3 && words[1].uppercased() == "AS" ? words[2] : nil
                stages.append(Stage(image: image, name: name))
            default:
                if !stages.isEmpty { stages[stages.count - 1].instructions.append(instruction) }
            }
        }
        return stages
    }

    /// The package names an `apt-get install` in these RUN lines installs.
    static func aptPackages(_ runs: [String]) -> Set<String> {
        var packages: Set<String> = []
        for run in runs {
            for command in run.components(separatedBy: "&&") where command.contains("apt-get install") {
                let words = command.components(separatedBy: "install").last?.split(separator: " ") ?? []
                packages.formUnion(words.map(String.init).filter { !$0.hasPrefix("-") && !$0.isEmpty })
            }
        }
        return packages
    }

    @Test("two stages: a Swift 6 bookworm builder and debian:bookworm-slim")
    func stages() throws {
        let stages = try Self.stages()
        #expect(stages.count == 2)
        #expect(stages.first?.image.firstMatch(of: /^swift:6\.\d+-bookworm$/) != nil, "\(stages.first?.image ?? "")")
        #expect(stages.first?.name == "build")
        #expect(stages.last?.image == "debian:bookworm-slim")
    }

    @Test("the builder links OpenSSL and libsystemd and builds a static-stdlib release binary")
    func builder() throws {
        let build = try #require(try Self.stages().first)
        let runs = build.all("RUN")
        #expect(Self.aptPackages(runs).isSuperset(of: ["libssl-dev", "libsystemd-dev"]))
        #expect(runs.contains { $0.contains("swift build -c release --static-swift-stdlib --product irsa-webhook") })
        #expect(build.all("COPY").contains { $0.hasPrefix("Sources") })
    }

    @Test("the runtime has only its libraries, runs as 65532 and starts the binary")
    func runtime() throws {
        let stages = try Self.stages()
        let runtime = try #require(stages.last)
        #expect(Self.aptPackages(runtime.all("RUN")) == ["libssl3", "libsystemd0", "ca-certificates"])

        let users = runtime.all("USER")
        #expect(users.last == "65532:65532")
        let copy = try #require(runtime.all("COPY").first { $0.hasPrefix("--from=\(stages[0].name ?? "?") ") })
        let destination = try #require(copy.split(separator: " ").last.map(String.init))
        #expect(runtime.all("ENTRYPOINT") == ["[\"\(destination)\"]"])
        #expect(destination.hasSuffix("/irsa-webhook"))
    }

    @Test("the context filter sends only the package manifest and Sources/")
    func dockerignore() throws {
        let rules = try Deploy.text("Dockerfile.dockerignore").split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        #expect(rules.first == "*")
        #expect(Set(rules.dropFirst()) == ["!Package.swift", "!Package.resolved", "!Sources/"])
    }
}
