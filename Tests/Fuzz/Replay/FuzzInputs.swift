import Foundation
import Testing

/// The committed inputs of one fuzz target: its seed corpus (`Tests/Fuzz/Corpus/<target>`) and
/// the inputs of every failure found so far (`Tests/Fuzz/Regressions/<target>`).
struct FuzzInput: CustomTestStringConvertible, Sendable {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    let kind: String
    let name: String
    let bytes: [UInt8]

    var testDescription: String { "\(kind)/\(name)" }

    /// Every seed and regression input of `target`, sorted by name.
    static func all(_ target: String) -> [FuzzInput] {
        ["Corpus", "Regressions"].flatMap { kind in
            let directory = root.appendingPathComponent(kind).appendingPathComponent(target)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().compactMap { name in
                (try? Data(contentsOf: directory.appendingPathComponent(name))).map { FuzzInput(kind: kind, name: name, bytes: Array($0)) }
            }
        }
    }
}
