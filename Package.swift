// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Airlock",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "airlock", targets: ["airlock"]),
        .library(name: "AirlockSandbox", targets: ["AirlockSandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // Everything that runs between fork and exec, plus thin syscall wrappers.
        .target(
            name: "CAirlockSandbox",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("seccomp")]
        ),
        // Strict JSON, RFC 8785 canonical JSON and SHA-256: shared by every layer.
        .target(name: "AirlockCore"),
        .target(
            name: "AirlockSandbox",
            dependencies: ["AirlockCore", "CAirlockSandbox"]
        ),
        // The journal: steps, attempts, decisions and the audit chain, on SQLite through GRDB.
        .target(
            name: "AirlockJournal",
            dependencies: ["AirlockCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The durable-step state machine: keys, intents, receipts, retries, approvals, recovery.
        .target(
            name: "AirlockRuntime",
            dependencies: ["AirlockJournal", "AirlockSandbox", .product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "airlock",
            dependencies: [
                "AirlockSandbox",
                "AirlockRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "airlock-bench",
            dependencies: ["AirlockSandbox", "AirlockRuntime", "AirlockJournal"]
        ),
        .testTarget(
            name: "AirlockSandboxTests",
            dependencies: ["AirlockSandbox"],
            exclude: ["Hostile", "CLI"]
        ),
        .testTarget(
            name: "AirlockRuntimeTests",
            dependencies: [
                "AirlockRuntime", "AirlockJournal", "AirlockSandbox", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
