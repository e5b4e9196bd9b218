// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "workbench",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "workbench", targets: ["workbench-cli"]),
        .library(name: "PEFTEngine", targets: ["PEFTEngine"]),
        .library(name: "Analysis", targets: ["Analysis"]),
        .library(name: "Workbench", targets: ["Workbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // MARK: C libraries (Debian's -dev packages), each imported by exactly one Swift file.
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CLAPACKE", path: "Sources/CLAPACKE", pkgConfig: "lapacke",
            providers: [.apt(["liblapacke-dev"])]),
        .systemLibrary(
            name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"])]),

        // MARK: Libraries — data flows study file → Workbench → PEFTEngine → HDF5 → Analysis.
        .target(name: "PEFTEngine", dependencies: ["CBLAS"]),
        .target(name: "Analysis", dependencies: ["PEFTEngine", "CLAPACKE"]),
        .target(
            name: "Workbench",
            dependencies: [
                "PEFTEngine", "Analysis", "CHDF5",
                .product(name: "Yams", package: "Yams"),
            ]),

        // MARK: Command line
        .executableTarget(
            name: "workbench-cli",
            dependencies: [
                "Workbench", "Analysis", "PEFTEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: Tests
        .testTarget(
            name: "PEFTEngineTests", dependencies: ["PEFTEngine"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "PEFTEngine"]),
        .testTarget(name: "WorkbenchTests", dependencies: ["Workbench", "PEFTEngine", "Analysis"], exclude: ["Fixtures"]),
        .testTarget(name: "CLITests", dependencies: ["workbench-cli"]),
        // Runs the built `workbench` executable on mutated inputs; links only the engine's RNG.
        .testTarget(name: "FuzzTests", dependencies: ["workbench-cli", "PEFTEngine"], exclude: ["Seeds"]),
    ]
)
