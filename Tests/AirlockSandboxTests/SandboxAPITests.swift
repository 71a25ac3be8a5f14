#if os(Linux)
    import AirlockSandbox
    import Foundation
    import Glibc
    import Testing

    /// The Swift API's own contract: cancellation, stdin, limits that must not hurt the host.
    @Suite(.serialized)
    struct SandboxAPITests {
        private func profile(_ name: String = "default") throws -> Profile {
            var profile = try Profile.named(name)
            profile.limits.wallTimeMs = 20_000
            return profile
        }

        @Test func cancellingTheTaskKillsTheTree() async throws {
            let request = SandboxRequest(
                argv: ["/bin/sh", "-c", "sleep 30 & sleep 30; wait"], profile: try profile())
            let task = Task { try await Sandbox.run(request) }
            try await Task.sleep(for: .milliseconds(300))
            task.cancel()
            let report = try await task.value
            #expect(report.outcome == .signaled, "\(report.outcome)")
            #expect(report.signal == SIGKILL)
            // Killed for the cancellation, not by the 20 s wall limit (the whole tree: the report
            // says SIGKILL for the tree's root, and its pid namespace takes the background sleep).
            #expect(report.killReason == "cancelled", "\(String(describing: report.killReason))")
        }

        @Test func stdinBytesReachTheTool() async throws {
            let request = SandboxRequest(
                argv: ["/bin/cat"], profile: try profile(), stdin: .bytes(Array("hello, tool\n".utf8)))
            let report = try await Sandbox.run(request)
            #expect(report.outcome == .exited && report.exitCode == 0)
            #expect(report.stdout == Array("hello, tool\n".utf8))
        }

        @Test func aToolThatNeverReadsItsInputDoesNotHang() async throws {
            let big = [UInt8](repeating: 0x41, count: 4 << 20)
            let request = SandboxRequest(argv: ["/bin/true"], profile: try profile(), stdin: .bytes(big))
            let report = try await Sandbox.run(request)
            #expect(report.outcome == .exited && report.exitCode == 0)
        }

        @Test func aTinyMemoryLimitKillsTheToolNotTheHost() async throws {
            // Until exec the child shares the host's memory, and the OOM killer kills every
            // process sharing its victim's: the limit must not be in force before exec. It is
            // armed right after; a tool already above it then is killed at once.
            var limited = try profile()
            limited.limits.memoryBytes = 4096
            let report = try await Sandbox.run(SandboxRequest(argv: ["/bin/sleep", "2"], profile: limited))
            #expect(report.outcome == .memoryLimit, "\(report.outcome) \(report.setupFailure?.message ?? "")")
            #expect(report.wallMs < 1_500)
            // Still here: the next call works.
            let next = try await Sandbox.run(SandboxRequest(argv: ["/bin/true"], profile: try profile()))
            #expect(next.outcome == .exited && next.exitCode == 0)
        }

        @Test func scratchIsAPrivateTmpfsBoundedByTheMemoryLimit() async throws {
            var limited = try profile()
            limited.limits.memoryBytes = 32 << 20
            limited.limits.fileSizeBytes = nil
            let script = "df -P . | tail -1; head -c 100000000 /dev/zero > big; echo size=$(stat -c %s big)"
            let report = try await Sandbox.run(SandboxRequest(argv: ["/bin/sh", "-c", script], profile: limited))
            let output = String(decoding: report.stdout, as: UTF8.self)
            #expect(output.hasPrefix("tmpfs"), "\(output)")
            // Scratch pages are the tool's memory: 100 MB cannot land in 32 MiB.
            #expect(report.outcome == .memoryLimit || !output.contains("size=100000000"), "\(report.outcome) \(output)")
        }

        @Test func manyHostDescriptorsAndALowFileLimit() async throws {
            // strict allows 64 open files; the host has more than that open.
            var opened: [Int32] = []
            defer { opened.forEach { close($0) } }
            for _ in 0..<100 { opened.append(open("/dev/null", O_RDONLY)) }
            #expect(opened.allSatisfy { $0 >= 0 })
            let report = try await Sandbox.run(SandboxRequest(argv: ["/bin/true"], profile: try profile("strict")))
            #expect(report.outcome == .exited && report.exitCode == 0, "\(report.setupFailure?.message ?? "")")
        }

        @Test func aProfileWithoutAPIDNamespaceIsRefused() async throws {
            var unsafe = try profile()
            unsafe.namespaces.pid = false
            let report = try await Sandbox.run(SandboxRequest(argv: ["/bin/true"], profile: unsafe))
            #expect(report.outcome == .setupFailed)
            #expect(report.setupFailure?.stage == "namespaces")
            #expect(report.exitStatus == 125)
        }

        @Test func concurrentCallsStayApartAndCloseOnlyTheirOwnDescriptors() async throws {
            // Sentinels: descriptors of ours that no call may close (a second close of a number
            // some other thread has reused would hit one). Checked by inode afterwards.
            var sentinels: [(fd: Int32, inode: ino_t)] = []
            for _ in 0..<16 {
                var fds: [Int32] = [0, 0]
                #expect(pipe(&fds) == 0)
                var st = stat()
                fstat(fds[0], &st)
                sentinels.append((fds[0], st.st_ino))
                close(fds[1])
            }
            defer { sentinels.forEach { close($0.fd) } }
            let request = SandboxRequest(
                argv: ["/bin/sh", "-c", "echo $$; cat"], profile: try profile(), stdin: .bytes(Array("x\n".utf8)))
            let reports = try await withThrowingTaskGroup(of: [SandboxReport].self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        var mine: [SandboxReport] = []
                        for _ in 0..<15 { mine.append(try await Sandbox.run(request)) }
                        return mine
                    }
                }
                var all: [SandboxReport] = []
                for try await batch in group { all += batch }
                return all
            }
            #expect(reports.count == 120)
            for report in reports {
                // Each tool is PID 1 of its own namespace and read its own stdin.
                #expect(report.outcome == .exited && report.exitCode == 0, "\(report.outcome) \(report.setupFailure?.message ?? "")")
                #expect(String(decoding: report.stdout, as: UTF8.self) == "1\nx\n")
            }
            for sentinel in sentinels {
                var st = stat()
                #expect(fstat(sentinel.fd, &st) == 0 && st.st_ino == sentinel.inode, "descriptor \(sentinel.fd) was closed by someone")
            }
        }

        @Test func concurrentTimeoutsCancellationsAndFloodsEachGetTheirOwnOutcome() async throws {
            var quick = try profile()
            quick.limits.wallTimeMs = 300
            quick.limits.outputBytes = 64 << 10
            let slow = SandboxRequest(argv: ["/bin/sleep", "5"], profile: quick)
            // The cancelled ones get a wall limit their cancellation always beats, even when a
            // loaded machine wakes the cancelling task late.
            var patient = quick
            patient.limits.wallTimeMs = 20_000
            let cancellable = SandboxRequest(argv: ["/bin/sleep", "5"], profile: patient)
            let flood = SandboxRequest(argv: ["/bin/sh", "-c", "yes"], profile: quick, stdout: .discard)
            let plain = SandboxRequest(argv: ["/bin/echo", "ok"], profile: quick)
            let outcomes = try await withThrowingTaskGroup(of: (String, Outcome).self) { group in
                for round in 0..<6 {
                    group.addTask { ("timeout", try await Sandbox.run(slow).outcome) }
                    group.addTask { ("flood", try await Sandbox.run(flood).outcome) }
                    group.addTask { ("plain", try await Sandbox.run(plain).outcome) }
                    group.addTask {
                        let task = Task { try await Sandbox.run(cancellable) }
                        try await Task.sleep(for: .milliseconds(20 + 10 * round))
                        task.cancel()
                        return ("cancelled", try await task.value.outcome)
                    }
                }
                var all: [(String, Outcome)] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(outcomes.count == 24)
            for (kind, outcome) in outcomes {
                switch kind {
                case "timeout": #expect(outcome == .timeout, "\(kind): \(outcome)")
                case "flood": #expect(outcome == .outputLimit, "\(kind): \(outcome)")
                case "plain": #expect(outcome == .exited, "\(kind): \(outcome)")
                default: #expect(outcome == .signaled, "\(kind): \(outcome)")
                }
            }
        }

        @Test func missingAndNonExecutableCommands() async throws {
            let missing = try await Sandbox.run(SandboxRequest(argv: ["no-such-tool-here"], profile: try profile()))
            #expect(missing.outcome == .setupFailed && missing.exitStatus == 127)
            let notExecutable = try await Sandbox.run(SandboxRequest(argv: ["/etc/hostname"], profile: try profile()))
            #expect(notExecutable.outcome == .setupFailed && notExecutable.exitStatus == 126)
        }
    }
#endif
