// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "irsa-webhook",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "irsa-webhook", targets: ["Main"]),
        .executable(name: "loadgen", targets: ["loadgen"]),
        // For Benchmarks/Micro and the libFuzzer package in Tests/Fuzz (packages of their own).
        .library(name: "Admission", targets: ["Admission"]),
        .library(name: "EventLoop", targets: ["EventLoop"]),
        .library(name: "FuzzHarness", targets: ["FuzzHarness"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // C interop: only what Swift cannot import by itself.
        .target(name: "CEventLoopShims"),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "COpenSSLShims", dependencies: ["COpenSSL"]),
        .target(name: "CJSONScan"),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),

        .target(
            name: "EventLoop",
            dependencies: ["CEventLoopShims", "COpenSSL", "COpenSSLShims"]
        ),
        .target(
            name: "Admission",
            dependencies: [
                "EventLoop",
                "CJSONScan",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // An RFC 8259 parser and RFC 6902 applier independent of the webhook's, to verify patches.
        .target(name: "PatchVerification"),
        .executableTarget(
            name: "Main",
            dependencies: [
                "Admission",
                "EventLoop",
                "CSystemd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        .executableTarget(
            name: "loadgen",
            dependencies: [
                "EventLoop",
                "PatchVerification",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/loadgen"
        ),
        .executableTarget(name: "ReactorBench", dependencies: ["EventLoop"], path: "Benchmarks/ReactorBench"),
        // A TLS 1.3 client flooding KeyUpdate requests without reading, run by IntegrationTests.
        .executableTarget(name: "keyupdate-flood", dependencies: ["COpenSSL"], path: "Tests/Tools/keyupdate-flood"),

        // The fake Kubernetes API server the client and process tests share.
        .target(name: "TestKubernetesAPI", path: "Tests/TestKubernetesAPI"),
        .testTarget(name: "EventLoopTests", dependencies: ["EventLoop"]),
        .testTarget(
            name: "AdmissionTests",
            dependencies: [
                "Admission", "EventLoop", "PatchVerification", "TestKubernetesAPI", .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "PatchVerificationTests", dependencies: ["PatchVerification"]),
        // Fuzz harnesses (built normally here; Tests/Fuzz/Package.swift builds the fuzzers) and
        // the suite replaying their seed corpora and regression inputs.
        .target(name: "FuzzHarness", dependencies: ["EventLoop", "Admission", "PatchVerification"], path: "Tests/Fuzz/Harness"),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzHarness"], path: "Tests/Fuzz/Replay"),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["TestKubernetesAPI", "PatchVerification", .product(name: "Yams", package: "Yams")]
        ),
        .testTarget(
            name: "LoadgenTests", dependencies: ["loadgen", "EventLoop", "PatchVerification"], path: "Benchmarks/LoadgenTests",
            exclude: ["Support/fake_webhook.py"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
