/// A broken invariant found by a fuzz harness, naming the check and the evidence.
public struct FuzzViolation: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// What the libFuzzer entry points share: run one harness on one input, trap on a violation so
/// libFuzzer saves the input as a crash.
public enum FuzzEntryPoint {
    /// Runs `check` on the `size` bytes at `data`; returns 0 (libFuzzer's "keep going").
    public static func run(_ data: UnsafePointer<UInt8>?, _ size: Int,
                           _ check: ([UInt8]) throws(FuzzViolation) -> Void) -> Int32 {
        let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        do {
            try check(input)
        } catch {
            fatalError("fuzz invariant violated: \(error)")
        }
        return 0
    }
}
