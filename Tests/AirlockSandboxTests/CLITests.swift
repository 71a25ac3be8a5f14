#if os(Linux)
    import AirlockSandbox
    import Foundation
    import Glibc
    import Testing

    /// End-to-end tests of the `airlock` executable, run as a real subprocess (C helpers in `CLI/`).
    @Suite(.serialized)
    struct CLITests {
        // MARK: - Exit statuses

        @Test func childExitStatusPassesThrough() throws {
            let result = try CLI.airlock(["exec", "--", "/bin/sh", "-c", "exit 3"])
            #expect(result.status == 3, "\(result)")
        }

        @Test func realSegfaultIs128PlusSIGSEGV() throws {
            let workspace = try CLIWorkspace()
            defer { workspace.remove() }
            let program = try workspace.compile("segv")
            let result = try CLI.airlock(
                ["exec", "--allow-read", workspace.path, "--report", workspace.file("report.json"), "--", program])
            #expect(result.status == 128 + SIGSEGV, "\(result)")
            let report = try CLI.report(at: workspace.file("report.json"))
            #expect(report.outcome == "signaled", "\(result)")
            #expect(report.signal == Int(SIGSEGV), "\(result)")
            #expect(report.exitStatus == Int(result.status), "\(result)")
        }

        @Test func abortIs128PlusTheSignalThatEndedIt() throws {
            // The tool is init of its PID namespace: abort()'s raise(SIGABRT) is ignored there, and
            // glibc then ends the process with a faulting instruction (SIGSEGV). The contract holds
            // either way: the status is 128 + the signal that ended it, and the report names it.
            let workspace = try CLIWorkspace()
            defer { workspace.remove() }
            let program = try workspace.compile("abort")
            let result = try CLI.airlock(
                ["exec", "--allow-read", workspace.path, "--report", workspace.file("report.json"), "--", program])
            let report = try CLI.report(at: workspace.file("report.json"))
            #expect(report.outcome == "signaled", "\(result)")
            let signal = try #require(report.signal, "no signal in the report: \(result)")
            #expect(signal == Int(SIGABRT) || signal == Int(SIGSEGV), "\(result)")
            #expect(result.status == 128 + Int32(signal), "\(result)")
            #expect(report.exitStatus == Int(result.status), "\(result)")
        }

        @Test func wallTimeoutIs124Quickly() throws {
            let result = try CLI.airlock(["exec", "--timeout", "1", "--", "/bin/sleep", "30"])
            #expect(result.status == 124, "\(result)")
            #expect(result.seconds < 10, "\(result)")
        }

        @Test func cpuLimitIs124() throws {
            let workspace = try CLIWorkspace()
            defer { workspace.remove() }
            let program = try workspace.compile("spin")
            let result = try CLI.airlock(
                ["exec", "--cpu", "1", "--timeout", "20", "--allow-read", workspace.path, "--", program])
            #expect(result.status == 124, "\(result)")
            #expect(result.seconds < 10, "\(result)")
        }

        @Test func missingCommandIs127() throws {
            let bare = try CLI.airlock(["exec", "--", "airlock-no-such-command-\(getpid())"])
            #expect(bare.status == 127, "\(bare)")
            #expect(bare.stderr.contains("airlock-no-such-command"), "\(bare)")
            let absolute = try CLI.airlock(["exec", "--", "/usr/bin/airlock-no-such-command-\(getpid())"])
            #expect(absolute.status == 127, "\(absolute)")
        }

        @Test func nonExecutableFileIs126() throws {
            let workspace = try CLIWorkspace()
            defer { workspace.remove() }
            let file = workspace.file("not-executable")
            try CLI.write(file, Array("#!/bin/sh\nexit 0\n".utf8), mode: 0o644)
            let result = try CLI.airlock(["exec", "--allow-read", workspace.path, "--", file])
            #expect(result.status == 126, "\(result)")
            #expect(result.stderr.contains("not-executable"), "\(result)")
        }

        @Test func missingAllowReadPathIs125() throws {
            let result = try CLI.airlock(["exec", "--allow-read", "/nonexistent", "--", "/bin/true"])
            #expect(result.status == 125, "\(result)")
            #expect(result.stderr.contains("/nonexistent"), "\(result)")
            #expect(result.stderr.contains("--allow-read"), "\(result)")
        }

        @Test func bogusNetworkModeIs125() throws {
            let result = try CLI.airlock(["exec", "--net", "bogus", "--", "/bin/true"])
            #expect(result.status == 125, "\(result)")
            #expect(result.stderr.contains("--net"), "\(result)")
            #expect(result.stderr.contains("bogus"), "\(result)")
        }

        @Test func invalidProfileFileIs125WithItsJSONPath() throws {
            let workspace = try CLIWorkspace()
            defer { workspace.remove() }
            let profile = workspace.file("profile.json")
            var object = try CLI.jsonObject(CLI.read(CLI.repoRoot + "/sandbox-profiles/default.json") ?? [])
            object["limits"] = ["wallTimeSeconds": 10, "airlockBogusLimit": 1]
            try CLI.write(profile, Array(try JSONSerialization.data(withJSONObject: object)), mode: 0o644)
            let result = try CLI.airlock(["exec", "--profile", profile, "--", "/bin/true"])
            #expect(result.status == 125, "\(result)")
            #expect(result.stderr.contains("$.limits.airlockBogusLimit"), "\(result)")
        }

        @Test func sandboxSetupFailureIs125NamingStageAndErrno() throws {
            let workspace = try CLIWorkspace()
            defer { workspace.remove() }
            let profile = workspace.file("profile.json")
            var object = try CLI.jsonObject(CLI.read(CLI.repoRoot + "/sandbox-profiles/default.json") ?? [])
            object["runAs"] = "airlock-no-such-user"
            try CLI.write(profile, Array(try JSONSerialization.data(withJSONObject: object)), mode: 0o644)
            let result = try CLI.airlock(
                ["exec", "--profile", profile, "--report", workspace.file("report.json"), "--", "/bin/true"])
            #expect(result.status == 125, "\(result)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(result)")
            #expect(result.stderr.contains("stage credentials"), "\(result)")
            #expect(result.stderr.contains("EINVAL"), "\(result)")
            let report = try CLI.report(at: workspace.file("report.json"))
            #expect(report.outcome == "setup_failed", "\(result)")
            #expect(report.setupFailure?.stage == "credentials", "\(result)")
            #expect(report.setupFailure?.errno == Int(EINVAL), "\(result)")
            #expect(report.exitStatus == 125, "\(result)")
        }

        // MARK: - Report

        @Test func reportFileForAnExitedRun() throws {
            let workspace = try CLIWorkspace()
            defer { workspace.remove() }
            let path = workspace.file("report.json")
            let result = try CLI.airlock(["exec", "--report", path, "--", "/bin/sh", "-c", "echo hello; echo oops >&2"])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == "hello\n", "\(result)")
            let report = try CLI.report(at: path)
            #expect(report.outcome == "exited", "\(result)")
            #expect(report.exitCode == 0, "\(result)")
            #expect(report.signal == nil, "\(result)")
            #expect(report.violation == nil, "\(result)")
            #expect(report.setupFailure == nil, "\(result)")
            #expect(report.exitStatus == 0, "\(result)")
            #expect(report.stdoutBytes == 6, "\(result)")
            #expect(report.stderrBytes == 5, "\(result)")
            #expect(!report.stdoutTruncated && !report.stderrTruncated, "\(result)")
            #expect(report.profile == "default", "\(result)")
            #expect(report.wallMs > 0, "\(result)")
            #expect(report.userMs >= 0 && report.sysMs >= 0, "\(result)")
            #expect(report.maxRssKiB > 0, "\(result)")
            #expect(!report.layers.isEmpty, "\(result)")
        }

        @Test func reportOnStdoutForATimeout() throws {
            let result = try CLI.airlock(["exec", "--timeout", "1", "--report", "-", "--", "/bin/sleep", "30"])
            #expect(result.status == 124, "\(result)")
            let line = try #require(result.stdout.split(separator: "\n").last, "no report on stdout: \(result)")
            let report = try CLI.checkedReport(Array(line.utf8))
            #expect(report.outcome == "timeout", "\(result)")
            #expect(report.exitStatus == 124, "\(result)")
            #expect(report.wallMs >= 900 && report.wallMs < 10_000, "\(result)")
        }

        @Test func aForkBombOutOfTimeIs124WithItsCauseInTheReport() throws {
            let workspace = try CLIWorkspace()
            defer { workspace.remove() }
            let program = try workspace.compile("forkbomb")
            let path = workspace.file("report.json")
            let result = try CLI.airlock(
                ["exec", "--timeout", "1", "--pids", "16", "--allow-read", workspace.path, "--report", path, "--", program])
            #expect(result.status == 124, "\(result)")
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.contains("\"outcome\":\"pids_limit\""), "\(text)")
            #expect(text.contains("\"killReason\":\"timeout\""), "\(text)")
        }

        @Test func anUnwritableReportFailsBeforeTheToolRuns() throws {
            let workspace = try CLIWorkspace()
            defer { workspace.remove() }
            let shared = workspace.file("shared")
            mkdir(shared, 0o777)
            chmod(shared, 0o777)
            let marker = shared + "/ran"
            let result = try CLI.airlock(
                [
                    "exec", "--allow-write", shared, "--report", "/nonexistent-airlock-dir/report.json", "--",
                    "/bin/sh", "-c", "echo > \(marker)",
                ])
            #expect(result.status == 125, "\(result)")
            #expect(result.stderr.contains("report"), "\(result)")
            #expect(!FileManager.default.fileExists(atPath: marker), "the tool ran although its report could not be written")
        }

        @Test func hugeTimeoutsAreUsageErrorsNotCrashes() throws {
            for flag in ["--timeout", "--cpu"] {
                let result = try CLI.airlock(["exec", flag, "1e20", "--", "/bin/true"])
                #expect(result.status == 125, "\(flag): \(result)")
                #expect(result.stderr.contains(flag), "\(flag): \(result)")
            }
        }

        @Test func closedStandardDescriptorsAreNotReusedForTheTool() throws {
            // Started with stdin and stdout closed, airlock must not hand the tool one of its own
            // descriptors as stdin, nor let the tool's output land in the report file.
            let workspace = try CLIWorkspace()
            defer { workspace.remove() }
            let report = workspace.file("report.json")
            let script = "exec <&- >&- ; exec '\(CLI.airlockPath)' exec --report '\(report)' -- /bin/sh -c 'readlink /proc/self/fd/0 >&2; printf INJECTED'"
            let pid = try CLI.spawn(
                "/bin/sh", ["-c", script], stdoutPath: workspace.file("out"), stderrPath: workspace.file("err"))
            let status = CLI.wait(pid, seconds: 60)
            let stderr = String(decoding: CLI.read(workspace.file("err")) ?? [], as: UTF8.self)
            #expect(status == 0, "\(stderr)")
            #expect(stderr.contains("/dev/null"), "\(stderr)")
            let text = try String(contentsOfFile: report, encoding: .utf8)
            #expect(text.hasPrefix("{\"outcome\""), "\(text)")
            #expect(!text.contains("INJECTED"), "\(text)")
        }

        @Test func execHelpIsNotAnError() throws {
            let result = try CLI.airlock(["exec", "--help"])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("--timeout"), "\(result)")
        }

        @Test func reportForAnOutputLimit() throws {
            let workspace = try CLIWorkspace()
            defer { workspace.remove() }
            let program = try workspace.compile("flood")
            let path = workspace.file("report.json")
            let result = try CLI.airlock(
                [
                    "exec", "--output", "1000", "--allow-read", workspace.path, "--report", path, "--", program,
                    "1000000",
                ])
            let report = try CLI.report(at: path)
            #expect(report.outcome == "output_limit", "\(result)")
            #expect(report.stdoutTruncated, "\(result)")
            #expect(!report.stderrTruncated, "\(result)")
            #expect(report.stdoutBytes == 1000, "\(result)")
            #expect(result.stdoutBytes.count == 1000, "\(result)")
            #expect(result.stdoutBytes.allSatisfy { $0 == UInt8(ascii: "x") }, "\(result)")
            #expect(report.exitStatus == Int(result.status), "\(result)")
            #expect(result.status != 0, "\(result)")
        }

        // MARK: - Standard streams

        @Test func stdinPassesThrough() throws {
            let result = try CLI.airlock(["exec", "--", "/bin/cat"], stdin: Array("hi\n".utf8))
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == "hi\n", "\(result)")
        }

        @Test func stdoutAndStderrStaySeparate() throws {
            let result = try CLI.airlock(["exec", "--", "/bin/sh", "-c", "echo to-out; echo to-err >&2"])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == "to-out\n", "\(result)")
            #expect(result.stderr == "to-err\n", "\(result)")
        }

        // MARK: - Environment

        @Test func environmentIsAnAllowlist() throws {
            let result = try CLI.airlock(
                [
                    "exec", "--env", "AIRLOCK_CLI_SET=set-value", "--env", "AIRLOCK_CLI_PASSED", "--",
                    "/usr/bin/env",
                ],
                environment: ["AIRLOCK_CLI_PASSED": "from-host", "AIRLOCK_CLI_HIDDEN": "secret"])
            #expect(result.status == 0, "\(result)")
            let lines = Set(result.stdout.split(separator: "\n").map(String.init))
            #expect(lines.contains("AIRLOCK_CLI_SET=set-value"), "\(result)")
            #expect(lines.contains("AIRLOCK_CLI_PASSED=from-host"), "\(result)")
            #expect(!result.stdout.contains("AIRLOCK_CLI_HIDDEN"), "\(result)")
            #expect(!result.stdout.contains("secret"), "\(result)")
        }

        // MARK: - Host killed

        @Test func doubleForkedDaemonDiesWithTheHost() throws {
            let workspace = try CLIWorkspace()
            defer { workspace.remove() }
            let program = try workspace.compile("daemon")
            let marker = CLI.uniqueMarker("daemon")
            // The grandchild and the first process both carry the marker; the intermediate exits.
            try killHostAndExpectNoSurvivors(
                ["exec", "--timeout", "60", "--allow-read", workspace.path, "--", program, marker],
                marker: marker, processes: 2, workspace: workspace)
        }

        @Test func sigtermIgnoringChildDiesWithTheHost() throws {
            let workspace = try CLIWorkspace()
            defer { workspace.remove() }
            let program = try workspace.compile("ignore_sigterm")
            let marker = CLI.uniqueMarker("nosigterm")
            try killHostAndExpectNoSurvivors(
                ["exec", "--timeout", "60", "--allow-read", workspace.path, "--", program, marker],
                marker: marker, processes: 1, workspace: workspace)
        }

        /// Starts airlock, waits until `processes` tool processes carry `marker` and the tool printed
        /// "up", kills airlock with SIGKILL, and expects every marked process gone within 5 s.
        private func killHostAndExpectNoSurvivors(
            _ arguments: [String], marker: String, processes: Int, workspace: CLIWorkspace,
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let stdoutPath = workspace.file("host-stdout")
            let stderrPath = workspace.file("host-stderr")
            let host = try CLI.spawn(
                CLI.airlockPath, arguments, stdoutPath: stdoutPath, stderrPath: stderrPath)
            var hostReaped = false
            defer {
                if !hostReaped {
                    kill(host, SIGKILL)
                    _ = CLI.wait(host, seconds: 5)
                }
                // Never leave a tool behind, whatever the outcome.
                for pid in CLI.processes(containing: marker, excluding: [host]) { kill(pid, SIGKILL) }
            }
            let deadline = CLI.now() + 20
            var marked: [pid_t] = []
            var up = false
            while CLI.now() < deadline {
                marked = CLI.processes(containing: marker, excluding: [host])
                up = CLI.read(stdoutPath).map { String(decoding: $0, as: UTF8.self).contains("up") } ?? false
                if marked.count >= processes && up { break }
                if let status = CLI.wait(host, seconds: 0) {
                    hostReaped = true
                    Issue.record(
                        "airlock exited (\(status)) before the tool was up: \(CLI.describeFiles(stdoutPath, stderrPath))",
                        sourceLocation: sourceLocation)
                    return
                }
                usleep(20_000)
            }
            try #require(
                marked.count >= processes && up,
                "the tool never came up: marked=\(marked) \(CLI.describeFiles(stdoutPath, stderrPath))",
                sourceLocation: sourceLocation)

            #expect(kill(host, SIGKILL) == 0, sourceLocation: sourceLocation)
            let status = CLI.wait(host, seconds: 10)
            hostReaped = status != nil
            #expect(status == 128 + SIGKILL, "airlock did not die of SIGKILL", sourceLocation: sourceLocation)

            var survivors = marked
            let gone = CLI.now() + 5
            while CLI.now() < gone {
                survivors = CLI.processes(containing: marker, excluding: [host])
                if survivors.isEmpty { break }
                usleep(50_000)
            }
            #expect(
                survivors.isEmpty,
                "tool processes outlived the SIGKILLed host: \(survivors.map { "\($0) \(CLI.commandLine($0))" })",
                sourceLocation: sourceLocation)
        }

        // MARK: - Docker's seccomp profile

        static let dockerProfile = CLI.repoRoot + "/../shared/testdata/seccomp/docker-default.json"

        @Test func dockerProfileRunsTheShell() throws {
            let profile = try Self.requireDockerProfile()
            let result = try CLI.airlock(["exec", "--profile", profile, "--", "/bin/sh", "-c", "echo ok"])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == "ok\n", "\(result)")
        }

        @Test func dockerProfileRunsCoreutils() throws {
            let profile = try Self.requireDockerProfile()
            let list = try CLI.airlock(["exec", "--profile", profile, "--", "/bin/ls", "/usr"])
            #expect(list.status == 0, "\(list)")
            #expect(list.stdout.split(separator: "\n").contains("bin"), "\(list)")
            let cat = try CLI.airlock(["exec", "--profile", profile, "--", "/bin/cat", "/etc/passwd"])
            #expect(cat.status == 0, "\(cat)")
            #expect(cat.stdout.contains("root:"), "\(cat)")
        }

        @Test(.enabled(if: access("/usr/bin/python3", X_OK) == 0, "needs /usr/bin/python3"))
        func dockerProfileRunsPython() throws {
            let profile = try Self.requireDockerProfile()
            let result = try CLI.airlock(["exec", "--profile", profile, "--", "/usr/bin/python3", "-c", "print(1+1)"])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == "2\n", "\(result)")
        }

        private static func requireDockerProfile() throws -> String {
            try #require(
                access(dockerProfile, R_OK) == 0,
                "Docker's seccomp profile is missing at \(dockerProfile) (shared/ must sit beside the repository)")
            return dockerProfile
        }

        // MARK: - profiles

        @Test func profilesListNamesTheBuiltins() throws {
            let result = try CLI.airlock(["profiles", "list"])
            #expect(result.status == 0, "\(result)")
            let names = Set(
                result.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
            for name in ["default", "strict", "network-client", "build"] {
                #expect(names.contains(name), "\(name) missing: \(result)")
            }
        }

        @Test func profilesShowPrintsJSON() throws {
            let result = try CLI.airlock(["profiles", "show", "default"])
            #expect(result.status == 0, "\(result)")
            let object = try CLI.jsonObject(result.stdoutBytes)
            #expect(object["seccomp"] is [String: Any], "\(result)")
            #expect(object["limits"] is [String: Any], "\(result)")
        }

        @Test func profilesCheckPrintsEveryMistake() throws {
            let workspace = try CLIWorkspace()
            defer { workspace.remove() }
            let file = workspace.file("bad.json")
            let text = """
                {
                  "airlockBogus": 1,
                  "seccomp": {"defaultAction": "SCMP_ACT_NOPE", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "airlockExtra": true}]},
                  "limits": {"wallTimeSeconds": "ten"},
                  "network": "moon"
                }
                """
            try CLI.write(file, Array(text.utf8), mode: 0o644)
            let result = try CLI.airlock(["profiles", "check", file])
            #expect(result.status == 2, "\(result)")
            for path in [
                "$.airlockBogus", "$.seccomp.defaultAction", "$.seccomp.syscalls[0].airlockExtra",
                "$.limits.wallTimeSeconds", "$.network",
            ] {
                #expect(result.stdout.contains(path + ":"), "\(path) not reported: \(result)")
            }

            let json = try CLI.airlock(["profiles", "check", file, "--json"])
            #expect(json.status == 2, "\(json)")
            let object = try CLI.jsonObject(json.stdoutBytes)
            #expect(object["valid"] as? Bool == false, "\(json)")
            let paths = ((object["issues"] as? [[String: Any]]) ?? []).compactMap { $0["path"] as? String }
            #expect(paths.count >= 5, "\(json)")
            #expect(paths.contains("$.network"), "\(json)")
        }

        @Test func profilesCheckAcceptsTheShippedDefault() throws {
            let result = try CLI.airlock(["profiles", "check", CLI.repoRoot + "/sandbox-profiles/default.json"])
            #expect(result.status == 0, "\(result)")
        }

        // MARK: - doctor

        @Test func doctorJSONListsTheLayers() throws {
            let result = try CLI.airlock(["doctor", "--json"])
            #expect(result.status == 0 || result.status == 1, "\(result)")
            // JSONDecoder is strict: a number where a Bool is declared fails to decode.
            let doctor = try JSONDecoder().decode(CLIDoctor.self, from: Data(result.stdoutBytes))
            let available = Dictionary(doctor.layers.map { ($0.layer, $0.available) }, uniquingKeysWith: { a, _ in a })
            for name in ["seccomp", "landlock", "no_new_privs", "pid_namespace", "cgroup_memory"] {
                #expect(available[name] != nil, "\(name) missing: \(result)")
            }
            #expect(doctor.ok == (result.status == 0), "\(result)")
        }
    }

    // MARK: - Harness

    /// What one run of a command left behind.
    private struct CLIResult: CustomStringConvertible {
        let arguments: [String]
        let status: Int32
        let stdoutBytes: [UInt8]
        let stderrBytes: [UInt8]
        let seconds: Double

        var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
        var stderr: String { String(decoding: stderrBytes, as: UTF8.self) }

        var description: String {
            "airlock \(arguments.joined(separator: " ")) -> status \(status) in \(String(format: "%.2f", seconds)) s, "
                + "stdout (\(stdoutBytes.count) bytes) \(String(stdout.prefix(1500)).debugDescription), "
                + "stderr \(String(stderr.suffix(1500)).debugDescription)"
        }
    }

    /// The JSON object `airlock exec --report` writes; decoding checks every field's type.
    private struct CLIReport: Decodable {
        struct SetupFailure: Decodable {
            let stage: String
            let errno: Int
            let message: String
        }

        let outcome: String
        let exitCode: Int?
        let signal: Int?
        let wallMs: Double
        let userMs: Double
        let sysMs: Double
        let maxRssKiB: Int
        let stdoutBytes: Int
        let stderrBytes: Int
        let stdoutTruncated: Bool
        let stderrTruncated: Bool
        let profile: String
        let profileSha256: String
        let layers: [String]
        let violation: String?
        let setupFailure: SetupFailure?
        let exitStatus: Int
    }

    /// `airlock doctor --json`.
    private struct CLIDoctor: Decodable {
        struct Layer: Decodable {
            let layer: String
            let available: Bool
            let required: Bool
            let detail: String
        }

        let layers: [Layer]
        let ok: Bool
    }

    /// A temporary directory under /tmp (mode 0755, so the tool's user can read it), removed by `remove()`.
    private final class CLIWorkspace {
        let path: String

        static let sources: String = {
            let file = #filePath
            return String(file[..<file.lastIndex(of: "/")!]) + "/CLI"
        }()

        init() throws {
            var template = Array("/tmp/airlock-cli-XXXXXX".utf8CString)
            let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
            guard let made else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            path = String(cString: made)
            chmod(path, 0o755)
        }

        func file(_ name: String) -> String { "\(path)/\(name)" }

        /// Compiles `CLI/NAME.c` with `cc -O1 -Wall`; a failure or a warning fails the test.
        func compile(_ name: String) throws -> String {
            let output = file(name)
            let log = file("\(name).cc-log")
            let pid = try CLI.spawn(
                "/usr/bin/env", ["cc", "-O1", "-Wall", "-o", output, "\(Self.sources)/\(name).c"],
                stdoutPath: log, stderrPath: log)
            let status = CLI.wait(pid, seconds: 120)
            let diagnostics = String(decoding: CLI.read(log) ?? [], as: UTF8.self)
            try #require(status == 0, "cc failed for \(name).c (\(String(describing: status))): \(diagnostics)")
            #expect(diagnostics.isEmpty, "cc warned for \(name).c: \(diagnostics)")
            chmod(output, 0o755)
            return output
        }

        func remove() {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    private enum CLI {
        /// The repository: `Tests/AirlockSandboxTests/CLITests.swift` is three levels down.
        static let repoRoot: String = {
            var path = #filePath
            for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
            return path
        }()

        /// `airlock` beside this test binary (in whichever scratch directory it was built), else
        /// `<repo>/.build/debug/airlock`.
        static let airlockPath: String = {
            var candidates: [String] = []
            var buffer = [CChar](repeating: 0, count: 4096)
            let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
            if n > 0 {
                let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                candidates.append(directory(of: exe) + "/airlock")
            }
            if let first = CommandLine.arguments.first, first.contains("/") {
                candidates.append(directory(of: first) + "/airlock")
            }
            candidates.append(repoRoot + "/.build/debug/airlock")
            return candidates.first { access($0, X_OK) == 0 } ?? candidates.last!
        }()

        private static func directory(of path: String) -> String {
            guard let slash = path.lastIndex(of: "/") else { return "." }
            return String(path[..<slash])
        }

        /// Runs `airlock ARGUMENTS` to completion (killed after `limit` seconds) with `stdin` on a pipe.
        static func airlock(
            _ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:], limit: Double = 60
        ) throws -> CLIResult {
            try #require(
                access(airlockPath, X_OK) == 0,
                "the airlock executable is missing at \(airlockPath): run `swift build --build-tests` first")
            var template = Array("/tmp/airlock-cli-run-XXXXXX".utf8CString)
            let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
            guard let made else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            let dir = String(cString: made)
            defer { try? FileManager.default.removeItem(atPath: dir) }

            let start = now()
            let pid = try spawn(
                airlockPath, arguments, stdin: stdin, environment: environment,
                stdoutPath: dir + "/stdout", stderrPath: dir + "/stderr")
            var status = wait(pid, seconds: limit)
            if status == nil {
                kill(pid, SIGKILL)
                status = wait(pid, seconds: 10)
                Issue.record("airlock \(arguments.joined(separator: " ")) ran longer than \(limit) s; killed")
            }
            return CLIResult(
                arguments: arguments, status: status ?? -1, stdoutBytes: read(dir + "/stdout") ?? [],
                stderrBytes: read(dir + "/stderr") ?? [], seconds: now() - start)
        }

        /// posix_spawn with default signal dispositions, an empty mask, stdin from `stdin` (or
        /// /dev/null), stdout and stderr into files, and the host environment plus `environment`.
        static func spawn(
            _ path: String, _ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:],
            stdoutPath: String, stderrPath: String
        ) throws -> pid_t {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var all = sigset_t()
            sigfillset(&all)
            var none = sigset_t()
            sigemptyset(&none)
            posix_spawnattr_setsigdefault(&attributes, &all)
            posix_spawnattr_setsigmask(&attributes, &none)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

            var pipeFds: [Int32] = [-1, -1]
            if stdin != nil {
                guard pipe(&pipeFds) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                for fd in pipeFds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
                posix_spawn_file_actions_adddup2(&actions, pipeFds[0], 0)
            } else {
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            }
            posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            if stderrPath == stdoutPath {
                posix_spawn_file_actions_adddup2(&actions, 1, 2)
            } else {
                posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            }

            var variables = Sandbox.processEnvironment()
            for (name, value) in environment { variables[name] = value }
            let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
            let envp: [UnsafeMutablePointer<CChar>?] =
                variables.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer {
                for pointer in argv { free(pointer) }
                for pointer in envp { free(pointer) }
            }
            var pid: pid_t = 0
            let err = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
            if let stdin {
                close(pipeFds[0])
                if err == 0 {
                    _ = stdin.withUnsafeBytes { Glibc.write(pipeFds[1], $0.baseAddress, $0.count) }
                }
                close(pipeFds[1])
            }
            guard err == 0 else { throw POSIXError(POSIXErrorCode(rawValue: err) ?? .EIO) }
            return pid
        }

        /// Waits up to `seconds` for `pid`; its exit status, or 128 + the signal that ended it.
        static func wait(_ pid: pid_t, seconds: Double) -> Int32? {
            let deadline = now() + seconds
            while true {
                var status: Int32 = 0
                let r = waitpid(pid, &status, WNOHANG)
                if r == pid {
                    let signal = status & 0x7f
                    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
                }
                if r < 0 && errno != EINTR { return nil }
                if now() >= deadline { return nil }
                usleep(5_000)
            }
        }

        static func now() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }

        static func read(_ path: String) -> [UInt8]? {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var result: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                result += buffer[0..<n]
            }
            return result
        }

        static func write(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
            guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            defer { close(fd) }
            guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
                throw POSIXError(.EIO)
            }
            fchmod(fd, mode)
        }

        static func describeFiles(_ stdoutPath: String, _ stderrPath: String) -> String {
            let out = String(decoding: read(stdoutPath) ?? [], as: UTF8.self)
            let err = String(decoding: read(stderrPath) ?? [], as: UTF8.self)
            return "stdout \(out.debugDescription) stderr \(err.debugDescription)"
        }

        // MARK: JSON

        static func jsonObject(_ bytes: [UInt8]) throws -> [String: Any] {
            let value = try JSONSerialization.jsonObject(with: Data(bytes))
            return try #require(value as? [String: Any], "not a JSON object: \(String(decoding: bytes, as: UTF8.self))")
        }

        static func report(at path: String) throws -> CLIReport {
            let bytes = try #require(read(path), "no report was written to \(path)")
            return try checkedReport(bytes)
        }

        /// Decodes a report after checking that every field is present (setupFailure only on setup_failed).
        static func checkedReport(_ bytes: [UInt8]) throws -> CLIReport {
            let object = try jsonObject(bytes)
            let text = String(decoding: bytes, as: UTF8.self)
            let fields = [
                "outcome", "exitCode", "signal", "wallMs", "userMs", "sysMs", "maxRssKiB", "stdoutBytes",
                "stderrBytes", "stdoutTruncated", "stderrTruncated", "profile", "profileSha256", "layers",
                "violation", "exitStatus",
            ]
            for field in fields {
                #expect(object[field] != nil, "report lacks \(field): \(text)")
            }
            let report = try JSONDecoder().decode(CLIReport.self, from: Data(bytes))
            #expect(
                (report.setupFailure != nil) == (report.outcome == "setup_failed"),
                "setupFailure present iff setup_failed: \(text)")
            #expect(
                report.profileSha256.count == 64 && report.profileSha256.allSatisfy(\.isHexDigit),
                "profileSha256: \(text)")
            let outcomes = [
                "exited", "signaled", "timeout", "cpu_limit", "memory_limit", "output_limit", "pids_limit",
                "syscall_blocked", "setup_failed",
            ]
            #expect(outcomes.contains(report.outcome), "unknown outcome: \(text)")
            return report
        }

        // MARK: Processes

        static func uniqueMarker(_ what: String) -> String {
            "airlock-cli-\(what)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        }

        /// Host processes whose command line contains `marker`, other than this one and `excluding`.
        static func processes(containing marker: String, excluding: [pid_t]) -> [pid_t] {
            guard let dir = opendir("/proc") else { return [] }
            defer { closedir(dir) }
            let needle = Array(marker.utf8)
            let me = getpid()
            var found: [pid_t] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard let pid = pid_t(name), pid != me, !excluding.contains(pid),
                    let cmdline = read("/proc/\(name)/cmdline"), cmdline.count >= needle.count
                else { continue }
                if (0...(cmdline.count - needle.count)).contains(where: {
                    cmdline[$0..<$0 + needle.count].elementsEqual(needle)
                }) {
                    found.append(pid)
                }
            }
            return found
        }

        static func commandLine(_ pid: pid_t) -> String {
            let bytes = read("/proc/\(pid)/cmdline") ?? []
            return String(decoding: bytes.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
        }
    }
#endif
