import PatchVerification
import Testing

extension MutationInvariants {
    /// Records an issue for every way `patched` breaks the specification for `original`.
    func check(original: JSONValue, patched: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) {
        for violation in violations(original: original, patched: patched) {
            Issue.record(Comment(rawValue: violation), sourceLocation: sourceLocation)
        }
    }
}
