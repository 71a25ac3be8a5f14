import Foundation
import Glibc
import Testing

/// `airlock serve` with the official MCP Python SDK as its client (tests/python/gateway_client.py),
/// over stdio and streamable HTTP: tools listed and called, retries by key, a conflict, an
/// approval round trip, an in-doubt refusal after a killed host, 401 and 403, busy and oversized
/// requests, an answer lost with its client, and SIGTERM within and past the grace period. Each case runs the
/// client in a directory of its own; the client's checks are its assertions, and its output is
/// recorded with the failure. One case at a time: each runs servers, tools and a Python client.
@Suite(.serialized) struct GatewayClientTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var scenario: String
        var transport: String
        var testDescription: String { "\(scenario) over \(transport)" }
    }

    static let cases: [Case] =
        ["tools", "retry", "approval", "in-doubt", "limits", "lost-answer", "shutdown"].flatMap { scenario in
            ["stdio", "http"].map { Case(scenario: scenario, transport: $0) }
        } + [Case(scenario: "auth", transport: "http"), Case(scenario: "protocol", transport: "http"),
              Case(scenario: "eof", transport: "stdio")]

    /// The test virtualenv's Python, with `mcp` and `schemathesis` (installed by scripts/test).
    static var python: String {
        if let venv = getenv("AIRLOCK_TEST_VENV") { return String(cString: venv) + "/bin/python" }
        return "/opt/airlock/test-venv/bin/python"
    }

    @Test(arguments: cases)
    func realMCPClient(_ testCase: Case) throws {
        try #require(access(Self.python, X_OK) == 0, "no Python at \(Self.python): scripts/test installs the test virtualenv")
        let ws = try CrashWorkspace()
        let work = ws.path + "/client"
        mkdir(work, 0o755)
        let script = CrashHost.repoRoot + "/tests/python/gateway_client.py"
        let (status, output) = try Self.run(
            [Self.python, script, testCase.scenario, "--transport", testCase.transport, "--airlock", CrashHost.airlockPath,
             "--work", work, "--repo", CrashHost.repoRoot],
            limit: 600)
        #expect(status == 0, "\(testCase.testDescription): the client exited \(status)\n\(output.suffix(6000))")
        #expect(output.contains("PASS \(testCase.scenario) \(testCase.transport)"), "\(output.suffix(2000))")
    }

    /// schemathesis (PyPI) fuzzes every operation of docs/openapi.yaml against a live gateway with
    /// steps in several states: no server error, and every answer as documented.
    @Test func operatorAPIMatchesItsOpenAPIDocument() throws {
        try #require(access(Self.python, X_OK) == 0, "no Python at \(Self.python): scripts/test installs the test virtualenv")
        let ws = try CrashWorkspace()
        let (status, output) = try Self.run(
            ["/bin/bash", CrashHost.repoRoot + "/tests/python/run_schemathesis.sh", ws.path + "/schemathesis"],
            environment: ["AIRLOCK_BIN": CrashHost.airlockPath, "SCHEMATHESIS_EXAMPLES": "100"], limit: 900)
        #expect(status == 0, "schemathesis exited \(status)\n\(output.suffix(8000))")
        #expect(output.contains("No issues found"), "\(output.suffix(3000))")
    }

    /// Runs a command with stdout and stderr together; killed (with its process group) after
    /// `limit` seconds.
    static func run(_ argv: [String], environment extra: [String: String] = [:], limit: Double) throws -> (Int32, String) {
        // In a session of its own, so a timeout kills the client and the servers it started.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = argv
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AIRLOCK_") }
        environment.merge(extra) { _, new in new }
        if let venv = getenv("AIRLOCK_PLUGIN_VENV") { environment["AIRLOCK_PLUGIN_VENV"] = String(cString: venv) }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let reader = Task.detached { pipe.fileHandleForReading.readDataToEndOfFile() }
        let deadline = Date().addingTimeInterval(limit)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            kill(-process.processIdentifier, SIGTERM)
            usleep(2_000_000)
            kill(-process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        let semaphore = DispatchSemaphore(value: 0)
        let box = OutputBox()
        Task {
            box.data = await reader.value
            semaphore.signal()
        }
        semaphore.wait()
        return (process.terminationStatus, String(decoding: box.data, as: UTF8.self))
    }

    final class OutputBox: @unchecked Sendable {
        var data = Data()
    }
}
