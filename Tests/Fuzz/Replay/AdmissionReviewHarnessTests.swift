import FuzzHarness
import Testing

@Suite struct AdmissionReviewHarnessTests {
    /// Every seed and regression body is decoded, patched and re-reviewed within the invariants.
    @Test(arguments: FuzzInput.all("admission"))
    func replays(_ input: FuzzInput) throws {
        try AdmissionReviewHarness.check(input.bytes)
    }

    @Test func corpusIsPresent() {
        #expect(FuzzInput.all("admission").count >= 20)
    }
}
