import FuzzHarness
import Testing

@Suite(.serialized) struct ConfigurationFileHarnessTests {
    /// Every seed and regression file loads or fails with the documented error.
    @Test(arguments: FuzzInput.all("configuration"))
    func replays(_ input: FuzzInput) throws {
        try ConfigurationFileHarness.check(input.bytes)
    }

    @Test func corpusIsPresent() {
        #expect(FuzzInput.all("configuration").count >= 5)
    }
}
