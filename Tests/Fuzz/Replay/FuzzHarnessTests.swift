import FuzzHarness
import Testing

/// Replays every committed seed and regression input through the harness its fuzzer runs, so a
/// failure once found by fuzzing stays fixed.
@Suite(.serialized) struct FuzzHarnessTests {
    /// The same requests and errors however the stream is split, including at every byte.
    @Test(arguments: FuzzInput.all("http"))
    func httpRequestStream(_ input: FuzzInput) throws {
        try HTTPRequestStreamHarness.checkEverySplit(input.bytes)
    }

    /// Decoded, patched and re-reviewed within the mutation's invariants.
    @Test(arguments: FuzzInput.all("admission"))
    func admissionReview(_ input: FuzzInput) throws {
        try AdmissionReviewHarness.check(input.bytes)
    }

    /// Loaded, or refused with the documented error.
    @Test(arguments: FuzzInput.all("configuration"))
    func configurationFile(_ input: FuzzInput) throws {
        try ConfigurationFileHarness.check(input.bytes)
    }

    @Test(arguments: [("http", 15), ("admission", 27), ("configuration", 7)])
    func seedCorpusIsPresent(_ corpus: String, _ seeds: Int) {
        #expect(FuzzInput.all(corpus).filter { $0.kind == "Corpus" }.count >= seeds)
    }
}
