// swift-tools-version:6.0
import PackageDescription

/// The libFuzzer executables, built only by `make fuzz` (with `-sanitize=fuzzer,address`), so the
/// main package and `make test` never see fuzzer flags. The harness logic lives in the root
/// package's `FuzzHarness` target, whose seeds and regressions `make test` replays.
let harness: [Target.Dependency] = [.product(name: "FuzzHarness", package: "irsa-webhook"), "LibFuzzerMain"]
/// No top-level code: each fuzzer's `main` is a function that starts libFuzzer's driver.
let libFuzzerEntry = [SwiftSetting.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "irsa-webhook-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "irsa-webhook", path: "../../..")],
    targets: [
        .target(name: "LibFuzzerMain", path: "LibFuzzerMain"),
        .executableTarget(name: "HTTPRequestStreamFuzzer", dependencies: harness, path: "HTTPRequestStreamFuzzer", swiftSettings: libFuzzerEntry),
        .executableTarget(name: "AdmissionReviewFuzzer", dependencies: harness, path: "AdmissionReviewFuzzer", swiftSettings: libFuzzerEntry),
        .executableTarget(name: "ConfigurationFileFuzzer", dependencies: harness, path: "ConfigurationFileFuzzer", swiftSettings: libFuzzerEntry),
    ],
    swiftLanguageModes: [.v6]
)
