// swift-tools-version:6.0
// Microbenchmarks of irsa-webhook's hot paths without a network: `make bench-micro`.
// A package of its own so that the main package's build and CI stay as they are.
import PackageDescription

let package = Package(
    name: "irsa-webhook-micro",
    dependencies: [
        .package(name: "irsa-webhook", path: "../.."),
    ],
    targets: [
        // Counts the calling thread's heap allocations by defining malloc and friends in the executable.
        .target(name: "CAllocationCounter"),
        .executableTarget(
            name: "MicroBench",
            dependencies: [
                "CAllocationCounter",
                .product(name: "Admission", package: "irsa-webhook"),
                .product(name: "EventLoop", package: "irsa-webhook"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
