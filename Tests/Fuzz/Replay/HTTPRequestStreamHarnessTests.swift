import FuzzHarness
import Testing

@Suite struct HTTPRequestStreamHarnessTests {
    /// Every seed and regression stream gives the same requests and errors however it is split.
    @Test(arguments: FuzzInput.all("http"))
    func replays(_ input: FuzzInput) throws {
        try HTTPRequestStreamHarness.checkEverySplit(input.bytes)
    }

    @Test func corpusIsPresent() {
        #expect(FuzzInput.all("http").count >= 10)
    }
}
