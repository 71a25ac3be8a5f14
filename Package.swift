// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Airlock",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "airlock", targets: ["airlock"]),
        .executable(name: "airlock-gateway", targets: ["airlock-gateway"]),
        .library(name: "AirlockSandbox", targets: ["AirlockSandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
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
        // The gateway: MCP over stdio and streamable HTTP, the operator API, tokens, limits, metrics.
        .target(
            name: "AirlockGateway",
            dependencies: [
                "AirlockRuntime",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "airlock",
            dependencies: [
                "AirlockSandbox",
                "AirlockRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `airlock serve`: a program of its own, so that `airlock` (whose `exec` start-up is the
        // spawn path's floor) does not load the HTTP and MCP stacks.
        .executableTarget(
            name: "airlock-gateway",
            dependencies: [
                "AirlockSandbox",
                "AirlockRuntime",
                "AirlockGateway",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "airlock-bench",
            dependencies: [
                "AirlockSandbox", "AirlockRuntime", "AirlockJournal", "AirlockGateway",
                .product(name: "MCP", package: "swift-sdk"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "AirlockSandboxTests",
            dependencies: ["AirlockSandbox"],
            exclude: ["Hostile", "CLI"]
        ),
        .testTarget(
            name: "AirlockRuntimeTests",
            dependencies: [
                "AirlockRuntime", "AirlockJournal", "AirlockSandbox", "AirlockGateway", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "MCP", package: "swift-sdk"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
