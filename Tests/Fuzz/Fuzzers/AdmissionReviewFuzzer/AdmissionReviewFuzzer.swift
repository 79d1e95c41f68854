import FuzzHarness
import LibFuzzerMain

/// libFuzzer entry point: AdmissionReview decoding and patch generation (`AdmissionReviewHarness`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzEntryPoint.run(data, size, AdmissionReviewHarness.check)
}

/// The executable's `main` (SwiftPM links `main` to `<module>_main`): libFuzzer's driver.
@_cdecl("AdmissionReviewFuzzer_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    libFuzzerMain(argc, argv)
}
