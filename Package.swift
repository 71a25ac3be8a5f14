// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Airlock",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "airlock", targets: ["airlock"]),
        .library(name: "AirlockSandbox", targets: ["AirlockSandbox"]),
    ],
    dependencies: [.package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")],
    targets: [
        // Everything that runs between fork and exec, plus thin syscall wrappers.
        .target(
            name: "CAirlockSandbox",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("seccomp")]
        ),
        .target(
            name: "AirlockSandbox",
            dependencies: ["CAirlockSandbox"]
        ),
        .executableTarget(
            name: "airlock",
            dependencies: [
                "AirlockSandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "airlock-bench",
            dependencies: ["AirlockSandbox"]
        ),
        .testTarget(
            name: "AirlockSandboxTests",
            dependencies: ["AirlockSandbox"],
            exclude: ["Hostile", "CLI"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
