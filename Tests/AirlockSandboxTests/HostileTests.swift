#if os(Linux)
    import AirlockSandbox
    import Foundation
    import Glibc
    import Testing

    /// Hostile programs (`Hostile/*.c`), compiled per test and run confined. Each program exits 42
    /// when its attack worked, so no test may ever see 42 where the profile forbids the attack.
    @Suite(.serialized)
    struct HostileTests {
        // MARK: - Baseline

        @Test func trueExitsZero() async throws {
            let report = try await run(["/bin/true"], profile: try profile("default"))
            #expect(report.outcome == .exited, "\(describe(report))")
            #expect(report.exitCode == 0, "\(describe(report))")
        }

        @Test func shellEchoIsCaptured() async throws {
            let report = try await run(["/bin/sh", "-c", "echo hi"], profile: try profile("default"))
            #expect(report.outcome == .exited, "\(describe(report))")
            #expect(report.exitCode == 0, "\(describe(report))")
            #expect(report.stdout == Array("hi\n".utf8), "\(describe(report))")
            #expect(report.stdoutBytes == 3, "\(describe(report))")
        }

        // MARK: - Network

        @Test func socketInet() async throws {
            let report = try await attack("socket_inet")
            expectRefused(report, syscall: "socket")
            try await expectHostCarriesOn()
        }

        @Test func socketInetHighBits() async throws {
            let report = try await attack("socket_highbit")
            expectRefused(report, syscall: "socket")
            try await expectHostCarriesOn()
        }

        @Test func socketVsock() async throws {
            let report = try await attack("socket_vsock")
            expectRefused(report, syscall: "socket")
            try await expectHostCarriesOn()
        }

        @Test func socketNetlink() async throws {
            let report = try await attack("socket_netlink")
            expectRefused(report, syscall: "socket")
            try await expectHostCarriesOn()
        }

        @Test func socketpairAllowedUnderDefault() async throws {
            // Control: AF_UNIX pairs are allowed by `default`, so the program is known to work.
            let report = try await attack("socketpair")
            #expect(report.outcome == .exited, "\(describe(report))")
            #expect(report.exitCode == 42, "\(describe(report))")
        }

        @Test func socketpairUnderStrict() async throws {
            let report = try await attack("socketpair", profileName: "strict")
            expectRefused(report, syscall: "socketpair")
            if report.outcome == .exited { #expect(report.exitCode == 100 + EPERM, "\(describe(report))") }
            try await expectHostCarriesOn()
        }

        @Test func unixSocketOfTheHost() async throws {
            // Landlock does not govern connect() to a path-bound socket; without network the
            // tool has no socket() at all, so a world-writable host socket stays out of reach.
            let workspace = try Workspace()
            defer { workspace.remove() }
            let dir = try workspace.hostDirectory(mode: 0o777)
            let path = dir + "/host.sock"
            let server = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            #expect(server >= 0)
            defer { close(server) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(server, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(bound == 0 && listen(server, 4) == 0)
            chmod(path, 0o777)
            let report = try await attack("unix_connect", [path], in: workspace)
            #expect(report.outcome == .exited, "\(describe(report))")
            #expect(report.exitCode == 100 + EAFNOSUPPORT, "\(describe(report))")
            try await expectHostCarriesOn()
        }

        // MARK: - Syscalls that must return ENOSYS

        @Test func ioUringSetup() async throws {
            let report = try await attack("io_uring")
            #expect(report.outcome == .exited, "\(describe(report))")
            #expect(report.exitCode == 100 + ENOSYS, "\(describe(report))")
            try await expectHostCarriesOn()
        }

        @Test func clone3WithNamespaces() async throws {
            let report = try await attack("clone3_userns")
            #expect(report.outcome == .exited, "\(describe(report))")
            #expect(report.exitCode == 100 + ENOSYS, "\(describe(report))")
            try await expectHostCarriesOn()
        }

        // MARK: - Syscalls that kill the process

        @Test func ptraceParent() async throws {
            let report = try await attack("ptrace_attach", ["parent"])
            expectKilled(report, syscall: "ptrace")
            try await expectHostCarriesOn()
        }

        @Test func ptraceInit() async throws {
            let report = try await attack("ptrace_attach", ["init"])
            expectKilled(report, syscall: "ptrace")
            try await expectHostCarriesOn()
        }

        @Test func processVmWritevIntoParent() async throws {
            let report = try await attack("process_vm_writev")
            expectKilled(report, syscall: "process_vm_writev")
            try await expectHostCarriesOn()
        }

        @Test func unshareUserNamespace() async throws {
            let report = try await attack("unshare_userns")
            expectKilled(report, syscall: "unshare")
            try await expectHostCarriesOn()
        }

        @Test func mountTmpfs() async throws {
            let report = try await attack("mount_tmpfs")
            expectKilled(report, syscall: "mount")
            try await expectHostCarriesOn()
        }

        @Test func keyctl() async throws {
            let report = try await attack("keyctl")
            expectKilled(report, syscall: "keyctl")
            try await expectHostCarriesOn()
        }

        @Test func bpfMapCreate() async throws {
            let report = try await attack("bpf")
            expectKilled(report, syscall: "bpf")
            try await expectHostCarriesOn()
        }

        @Test func perfEventOpen() async throws {
            let report = try await attack("perf_event_open")
            expectKilled(report, syscall: "perf_event_open")
            try await expectHostCarriesOn()
        }

        // MARK: - Terminal injection

        @Test(arguments: ["plain", "highbit"])
        func tiocsti(mode: String) async throws {
            let workspace = try Workspace()
            defer { workspace.remove() }
            let terminal = try PseudoTerminal()
            defer { terminal.close() }
            let binary = try workspace.compile("tiocsti")
            let request = SandboxRequest(
                argv: [binary, mode], profile: try profile("default", readable: workspace.path),
                extraDescriptors: [3: terminal.secondary])
            let report = try await Sandbox.run(request)
            logReport("tiocsti \(mode)", report)
            expectRefused(report, syscall: "ioctl")
            let stderr = String(decoding: report.stderr, as: UTF8.self)
            if report.outcome == .exited {
                // The attack must have reached the terminal on fd 3, or this test proves nothing.
                #expect(stderr.contains("fd 3"), "fd 3 (a terminal) did not reach the child: \(describe(report))")
            }
            let injected = terminal.pendingInput()
            #expect(injected.isEmpty, "characters were injected into the terminal: \(injected) \(describe(report))")
            try await expectHostCarriesOn()
        }

        // MARK: - Filesystem

        @Test func writeOutsideWritableRoots() async throws {
            let workspace = try Workspace()
            defer { workspace.remove() }
            let outside = try workspace.hostDirectory(mode: 0o777)
            let token = uniqueMarker("escape")
            let report = try await attack("write_outside", [token, outside], in: workspace)
            expectRefused(report, syscall: "openat")
            for dir in ["/etc", "/tmp", outside] {
                let path = "\(dir)/airlock-escape-\(token)"
                #expect(access(path, F_OK) != 0, "\(path) was created: \(describe(report))")
                unlink(path)
            }
            try await expectHostCarriesOn()
        }

        @Test func symlinkEscape() async throws {
            let workspace = try Workspace()
            defer { workspace.remove() }
            let outside = try workspace.hostDirectory(mode: 0o777)
            let victim = "\(outside)/victim"
            try writeFile(victim, "original\n", mode: 0o666)
            let etcFileExisted = access("/etc/airlock-escape", F_OK) == 0
            let report = try await attack("symlink_escape", [outside], in: workspace)
            expectRefused(report, syscall: "openat")
            #expect(readFile(victim) == Array("original\n".utf8), "the victim was modified: \(describe(report))")
            #expect(
                access("\(outside)/airlock-created", F_OK) != 0,
                "a file was created through a link: \(describe(report))")
            if !etcFileExisted {
                #expect(
                    access("/etc/airlock-escape", F_OK) != 0, "/etc/airlock-escape was created: \(describe(report))")
                unlink("/etc/airlock-escape")
            }
            try await expectHostCarriesOn()
        }

        @Test func procRootOfOtherProcesses() async throws {
            let workspace = try Workspace()
            defer { workspace.remove() }
            let hidden = try workspace.hostDirectory(mode: 0o755)
            let secret = "\(hidden)/secret"
            try writeFile(secret, "secret\n", mode: 0o644)
            let report = try await attack("proc_root", [secret], in: workspace)
            expectRefused(report, syscall: "openat")
            try await expectHostCarriesOn()
        }

        @Test func setuidBinaryGainsNothing() async throws {
            let workspace = try Workspace()
            defer { workspace.remove() }
            let binary = try workspace.compile("setuid_probe")
            #expect(chown(binary, 0, 0) == 0)
            #expect(chmod(binary, 0o4755) == 0)
            let report = try await run([binary], profile: try profile("default", readable: workspace.path))
            let stdout = String(decoding: report.stdout, as: UTF8.self)
            #expect(report.outcome == .exited, "\(describe(report))")
            #expect(report.exitCode == 0, "\(describe(report))")
            #expect(stdout.contains("NoNewPrivs: 1\n"), "\(describe(report))")
            #expect(stdout.contains("euid: ") && !stdout.contains("euid: 0\n"), "\(describe(report))")
            try await expectHostCarriesOn()
        }

        // MARK: - Processes and threads

        @Test(arguments: ["default", "strict"])
        func forkBomb(profileName: String) async throws {
            let workspace = try Workspace()
            defer { workspace.remove() }
            let base = try profile(profileName, readable: workspace.path)
            let limit = base.limits.processes ?? 64
            let marker = uniqueMarker("forkbomb")
            let report = try await run([try workspace.compile("fork_bomb"), "\(limit)", marker], profile: base)
            let stdout = String(decoding: report.stdout, as: UTF8.self)
            #expect(report.exitCode != 42, "\(describe(report))")
            if profileName == "strict" {
                // No fork at all under `strict`.
                #expect(stdout.contains("created 0 processes"), "\(describe(report))")
                #expect(report.outcome == .exited && report.exitCode == 100 + EPERM, "\(describe(report))")
            } else if report.layers.contains("cgroup_pids") {
                #expect(report.outcome == .pidsLimit, "\(describe(report))")
            } else {
                #expect(report.outcome == .exited && report.exitCode == 100 + EAGAIN, "\(describe(report))")
            }
            let survivors = await survivingProcesses(marker)
            #expect(survivors.isEmpty, "fork bomb processes outlived the run: \(survivors)")
            try await expectHostCarriesOn()
        }

        @Test(arguments: ["default", "strict"])
        func threadBomb(profileName: String) async throws {
            let workspace = try Workspace()
            defer { workspace.remove() }
            let base = try profile(profileName, readable: workspace.path)
            let limit = base.limits.processes ?? 64
            let report = try await run([try workspace.compile("thread_bomb"), "\(limit)"], profile: base)
            #expect(report.exitCode != 42, "\(describe(report))")
            if report.layers.contains("cgroup_pids") {
                #expect(report.outcome == .pidsLimit, "\(describe(report))")
            } else {
                #expect(report.outcome == .exited && report.exitCode == 100 + EAGAIN, "\(describe(report))")
            }
            try await expectHostCarriesOn()
        }

        @Test(arguments: ["open", "close"])
        func doubleForkedDaemonDies(stdio: String) async throws {
            let workspace = try Workspace()
            defer { workspace.remove() }
            let out = try workspace.hostDirectory(mode: 0o777)
            let marker = uniqueMarker("daemon")
            var base = try profile("default", readable: workspace.path)
            base.filesystem.write.append(out)
            let report = try await run([try workspace.compile("daemon"), marker, out, stdio], profile: base)
            #expect(report.outcome == .exited, "\(describe(report))")
            #expect(report.exitCode == 0, "\(describe(report))")
            #expect(access("\(out)/daemon-started", F_OK) == 0, "the daemon never started: \(describe(report))")
            let survivors = await survivingProcesses(marker)
            #expect(survivors.isEmpty, "the daemon outlived the run: \(survivors)")
            try await expectHostCarriesOn()
        }

        // MARK: - Resources

        @Test func memoryBalloon() async throws {
            let report = try await attack("memory_balloon") { $0.limits.wallTimeMs = 30_000 }
            #expect(report.exitCode != 42, "\(describe(report))")
            if report.layers.contains("cgroup_memory") {
                #expect(report.outcome == .memoryLimit, "\(describe(report))")
                #expect(report.maxRssKiB <= 600 * 1024, "\(describe(report))")
            } else {
                #expect(report.outcome == .exited && report.exitCode == 100 + ENOMEM, "\(describe(report))")
            }
            try await expectHostCarriesOn()
        }

        @Test func cpuSpin() async throws {
            let report = try await attack("cpu_spin") {
                $0.limits.cpuTimeMs = 1_000
                $0.limits.wallTimeMs = 10_000
            }
            #expect(report.outcome == .cpuLimit, "\(describe(report))")
            #expect(report.wallMs < 9_000, "\(describe(report))")
            // Soft and hard RLIMIT_CPU are equal (pid 1 ignores SIGXCPU): killed at the limit.
            #expect(report.userMs + report.sysMs < 1_600, "\(describe(report))")
            try await expectHostCarriesOn()
        }

        @Test func sleepForever() async throws {
            let report = try await attack("sleep_forever") { $0.limits.wallTimeMs = 1_000 }
            #expect(report.outcome == .timeout, "\(describe(report))")
            #expect(report.wallMs >= 900 && report.wallMs < 5_000, "\(describe(report))")
            try await expectHostCarriesOn()
        }

        @Test func ignoreSigterm() async throws {
            let marker = uniqueMarker("nosigterm")
            let report = try await attack("ignore_sigterm", ["30", marker]) { $0.limits.wallTimeMs = 1_000 }
            #expect(report.outcome == .timeout, "\(describe(report))")
            #expect(report.wallMs < 5_000, "\(describe(report))")
            let survivors = await survivingProcesses(marker)
            #expect(survivors.isEmpty, "the program outlived its timeout: \(survivors)")
            try await expectHostCarriesOn()
        }

        @Test func sigstopSelf() async throws {
            let report = try await attack("sigstop_self") { $0.limits.wallTimeMs = 1_000 }
            #expect(report.outcome == .timeout || report.outcome == .signaled, "\(describe(report))")
            #expect(report.wallMs < 5_000, "\(describe(report))")
            try await expectHostCarriesOn()
        }

        @Test func stdoutFlood() async throws {
            let cap: UInt64 = 1 << 20
            let report = try await attack("stdout_flood") { $0.limits.outputBytes = cap }
            #expect(report.outcome == .outputLimit, "\(describe(report))")
            #expect(report.stdoutTruncated, "\(describe(report))")
            #expect(report.stdoutBytes == cap, "\(describe(report))")
            #expect(report.stdout.count == Int(cap), "\(describe(report))")
            try await expectHostCarriesOn()
        }

        @Test func descriptorExhaustion() async throws {
            let workspace = try Workspace()
            defer { workspace.remove() }
            let base = try profile("default", readable: workspace.path)
            let limit = base.limits.openFiles ?? 256
            let report = try await run([try workspace.compile("fd_exhaust"), "\(limit)"], profile: base)
            let stdout = String(decoding: report.stdout, as: UTF8.self)
            #expect(report.outcome == .exited, "\(describe(report))")
            #expect(report.exitCode == 0, "\(describe(report))")
            #expect(stdout.contains("nofile soft=\(limit) hard=\(limit)\n"), "\(describe(report))")
            #expect(stdout.contains("highest fd \(limit - 1),"), "\(describe(report))")
            try await expectHostCarriesOn()
        }

        @Test func onlyStandardDescriptorsAndAllowedEnvironment() async throws {
            let workspace = try Workspace()
            defer { workspace.remove() }
            var base = try profile("default", readable: workspace.path)
            base.env.allow.append("AIRLOCK_TEST_ALLOWED")
            // A descriptor without close-on-exec in the host must not reach the child.
            let leaky = open("/etc/hostname", O_RDONLY)
            defer { if leaky >= 0 { close(leaky) } }
            let request = SandboxRequest(
                argv: [try workspace.compile("fd_env")], profile: base,
                hostEnvironment: ["PATH": "/usr/bin:/bin", "AIRLOCK_TEST_SECRET": "x", "AIRLOCK_TEST_ALLOWED": "yes"])
            let report = try await Sandbox.run(request)
            logReport("fd_env", report)
            let stdout = String(decoding: report.stdout, as: UTF8.self)
            let fds = stdout.split(separator: "\n").filter { $0.hasPrefix("fd ") }.map { $0.split(separator: " ")[1] }
            #expect(report.outcome == .exited, "\(describe(report))")
            #expect(report.exitCode == 0, "\(describe(report))")
            #expect(fds == ["0", "1", "2"], "\(describe(report))")
            #expect(stdout.contains("env AIRLOCK_TEST_ALLOWED=yes\n"), "\(describe(report))")
            #expect(!stdout.contains("AIRLOCK_TEST_SECRET"), "\(describe(report))")
            try await expectHostCarriesOn()
        }
    }

    // MARK: - Running

    /// Loads a profile with a wall limit that keeps a stuck test short, `readable` added to its reads.
    private func profile(_ name: String, readable: String? = nil) throws -> Profile {
        var profile = try Profile.named(name)
        profile.limits.wallTimeMs = 20_000
        if let readable { profile.filesystem.read.append(readable) }
        return profile
    }

    private func run(_ argv: [String], profile: Profile) async throws -> SandboxReport {
        let report = try await Sandbox.run(SandboxRequest(argv: argv, profile: profile))
        logReport(argv.first.map { String($0.split(separator: "/").last ?? "") } ?? "?", report)
        return report
    }

    /// Compiles `Hostile/NAME.c` into a fresh workspace and runs it under `profileName`.
    private func attack(
        _ name: String, _ arguments: [String] = [], profileName: String = "default",
        in existing: Workspace? = nil, configure: (inout Profile) -> Void = { _ in }
    ) async throws -> SandboxReport {
        let workspace = try existing ?? Workspace()
        defer { if existing == nil { workspace.remove() } }
        var base = try profile(profileName, readable: workspace.path)
        configure(&base)
        return try await run([try workspace.compile(name)] + arguments, profile: base)
    }

    /// The next run after an attack still works.
    private func expectHostCarriesOn(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let report = try await Sandbox.run(SandboxRequest(argv: ["/bin/true"], profile: try profile("default")))
        #expect(
            report.outcome == .exited && report.exitCode == 0, "host did not carry on: \(describe(report))",
            sourceLocation: sourceLocation)
    }

    // MARK: - Expectations

    /// The attack was refused: the program exited reporting an errno (100 + errno), or `syscall` killed it.
    private func expectRefused(
        _ report: SandboxReport, syscall: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        switch report.outcome {
        case .exited:
            let code = report.exitCode ?? -1
            #expect(
                code >= 101 && code <= 233, "ESCAPED or broken: \(describe(report))", sourceLocation: sourceLocation)
        case .syscallBlocked:
            #expect(report.violation == syscall, "\(describe(report))", sourceLocation: sourceLocation)
        default:
            Issue.record("unexpected outcome: \(describe(report))", sourceLocation: sourceLocation)
        }
    }

    /// Seccomp killed the program at `syscall`.
    private func expectKilled(
        _ report: SandboxReport, syscall: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(report.outcome == .syscallBlocked, "\(describe(report))", sourceLocation: sourceLocation)
        #expect(report.signal == SIGSYS, "\(describe(report))", sourceLocation: sourceLocation)
        #expect(report.violation == syscall, "\(describe(report))", sourceLocation: sourceLocation)
        #expect(report.exitCode != 42, "ESCAPED: \(describe(report))", sourceLocation: sourceLocation)
    }

    private func describe(_ report: SandboxReport) -> String {
        var parts = ["outcome=\(report.outcome.rawValue)"]
        if let code = report.exitCode { parts.append("exit=\(code)") }
        if let signal = report.signal { parts.append("signal=\(signal)") }
        if let violation = report.violation { parts.append("violation=\(violation)") }
        if let failure = report.setupFailure { parts.append("setup=\(failure.message)") }
        parts.append(
            "wallMs=\(Int(report.wallMs)) cpuMs=\(Int(report.userMs + report.sysMs)) maxRssKiB=\(report.maxRssKiB)")
        parts.append("stdoutBytes=\(report.stdoutBytes) truncated=\(report.stdoutTruncated)")
        parts.append("layers=\(report.layers.joined(separator: ","))")
        parts.append("stdout=\(String(decoding: report.stdout.prefix(600), as: UTF8.self).debugDescription)")
        parts.append("stderr=\(String(decoding: report.stderr.suffix(600), as: UTF8.self).debugDescription)")
        return parts.joined(separator: " ")
    }

    private func logReport(_ name: String, _ report: SandboxReport) {
        print("[hostile] \(name): \(describe(report))")
    }

    // MARK: - Host helpers

    /// A temporary directory under /tmp the tool may read, where programs are compiled.
    private final class Workspace {
        let path: String
        private var hostDirectories: [String] = []

        static let sources: String = {
            let file = #filePath
            return String(file[..<file.lastIndex(of: "/")!]) + "/Hostile"
        }()

        init() throws {
            path = try makeTemporaryDirectory()
            chmod(path, 0o755)
        }

        /// A second directory outside the profile, for attacks on host paths; removed with the workspace.
        func hostDirectory(mode: mode_t) throws -> String {
            let dir = try makeTemporaryDirectory()
            chmod(dir, mode)
            hostDirectories.append(dir)
            return dir
        }

        /// Compiles `Hostile/NAME.c` with `cc -O1 -Wall`; warnings fail the test.
        func compile(_ name: String) throws -> String {
            let output = "\(path)/\(name)"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["cc", "-O1", "-Wall", "-o", output, "\(Self.sources)/\(name).c"]
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let diagnostics = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "cc failed for \(name).c: \(diagnostics)")
            #expect(diagnostics.isEmpty, "cc warned for \(name).c: \(diagnostics)")
            chmod(output, 0o755)
            return output
        }

        func remove() {
            for dir in hostDirectories { removeTree(dir) }
            removeTree(path)
        }
    }

    private func makeTemporaryDirectory() throws -> String {
        var template = Array("/tmp/airlock-hostile-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let made else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return String(cString: made)
    }

    private func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    private func writeFile(_ path: String, _ text: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw POSIXError(.EIO)
        }
        fchmod(fd, mode)
    }

    private func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            result += buffer[0..<n]
        }
        return result
    }

    private func uniqueMarker(_ what: String) -> String {
        "airlock-\(what)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Host processes whose command line contains `marker`, after giving the kernel up to 3 s to reap.
    private func survivingProcesses(_ marker: String) async -> [Int32] {
        var found: [Int32] = []
        for _ in 0..<30 {
            found = processes(containing: marker)
            if found.isEmpty { return [] }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
        return found
    }

    private func processes(containing marker: String) -> [Int32] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        let needle = Array(marker.utf8)
        let me = getpid()
        var found: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name), pid != me, let cmdline = readFile("/proc/\(name)/cmdline") else { continue }
            if cmdline.count >= needle.count,
                (0...(cmdline.count - needle.count)).contains(where: {
                    cmdline[$0..<$0 + needle.count].elementsEqual(needle)
                })
            {
                found.append(pid)
            }
        }
        return found
    }

    /// A pseudo-terminal pair; the secondary end is passed to the child, in raw mode.
    private struct PseudoTerminal {
        let primary: Int32
        let secondary: Int32

        init() throws {
            primary = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
            guard primary >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            var unlock: Int32 = 0
            var number: UInt32 = 0
            // TIOCSPTLCK and TIOCGPTN (asm-generic/ioctls.h), which Swift cannot import.
            guard ioctl(primary, UInt(0x4004_5431), &unlock) == 0, ioctl(primary, UInt(0x8004_5430), &number) == 0
            else {
                Glibc.close(primary)
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            secondary = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY | O_CLOEXEC)
            guard secondary >= 0 else {
                Glibc.close(primary)
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            var settings = termios()
            tcgetattr(secondary, &settings)
            cfmakeraw(&settings)
            tcsetattr(secondary, TCSANOW, &settings)
        }

        /// Bytes waiting to be read on the secondary end: whatever was injected into its input.
        func pendingInput() -> [UInt8] {
            var result: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 256)
            while true {
                var ready = pollfd(fd: secondary, events: Int16(POLLIN), revents: 0)
                guard poll(&ready, 1, 100) == 1, ready.revents & Int16(POLLIN) != 0 else { break }
                let n = buffer.withUnsafeMutableBytes { read(secondary, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                result += buffer[0..<n]
            }
            return result
        }

        func close() {
            Glibc.close(secondary)
            Glibc.close(primary)
        }
    }
#endif
