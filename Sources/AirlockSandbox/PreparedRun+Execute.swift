#if canImport(Glibc)
import Glibc
#endif
import CAirlockSandbox
import Synchronization

extension PreparedRun {
    enum ExecWait { case execed, timedOut }

    /// The child's own stack while it shares the host's memory (until exec).
    static let childStackSize = 256 * 1024
    /// Serializes clone-to-exec across the process (see its use).
    static let spawnLock = Mutex<Void>(())

    /// How long the child's setup (clone to execve) may take before it is killed.
    static let setupDeadlineNs: UInt64 = 10_000_000_000

    /// RLIMIT_CPU's whole seconds for a limit in milliseconds: rounded up, at least 1.
    static func cpuSeconds(_ ms: UInt64) -> UInt64 {
        max(1, ms / 1000 + (ms % 1000 == 0 ? 0 : 1))
    }

    /// `start` plus `ms` milliseconds in nanoseconds, saturating instead of trapping.
    static func deadline(after ms: UInt64, from start: UInt64) -> UInt64 {
        let (ns, overflow) = ms.multipliedReportingOverflow(by: 1_000_000)
        if overflow { return .max }
        let (sum, overflow2) = start.addingReportingOverflow(ns)
        return overflow2 ? .max : sum
    }

    /// Everything opened for one run, closed and removed by `cleanUp`.
    final class Resources {
        var scratch: String?
        var landlockFd: Int32 = -1
        var cgroups: CgroupLease?
        var fds: [Int32] = []

        func cleanUp() {
            for fd in fds where fd >= 0 { close(fd) }
            fds = []
            if landlockFd >= 0 { close(landlockFd) }
            landlockFd = -1
            cgroups?.release()
            cgroups = nil
            if let scratch { Posix.removeTree(scratch) }
            scratch = nil
        }
    }

    private static let stageNames: [Int32: String] = [
        1: "session", 2: "pdeathsig", 3: "cgroup", 4: "userns", 5: "uts", 6: "mount", 7: "network",
        8: "credentials", 9: "rlimits", 10: "descriptors", 11: "cwd", 12: "no_new_privs", 13: "landlock",
        14: "seccomp", 15: "exec", 16: "host_gone", 17: "clone",
    ]

    func failure(_ stage: String, _ code: Int32, _ detail: String? = nil) -> SandboxReport {
        let reason = detail ?? Posix.describe(errno: code)
        let message = "sandbox setup failed at stage \(stage): \(Posix.errnoName(code)) (\(reason))"
        return SandboxReport(
            outcome: .setupFailed, profile: profile.name, profileSha256: profile.sha256,
            setupFailure: SetupFailure(stage: stage, errno: code, message: message))
    }

    /// Sets up, clones, supervises and cleans up. Never throws: every failure is a report.
    func execute(control: RunControl) -> SandboxReport {
        let facts = HostFacts.shared
        let resources = Resources()
        // Handed-over descriptors are closed right after the clone, or by the clean-up on any
        // earlier way out.
        resources.fds += Set(request.handedOverDescriptors).filter { $0 > 2 }
        defer { resources.cleanUp() }
        var layers: [String] = []

        guard profile.namespaces.pid else {
            return failure("namespaces", EINVAL, "profile \(profile.name) has no PID namespace; without one a daemon the tool starts could outlive the call")
        }

        guard airlock_sigchld_ignored() == 0 else {
            return failure("host", EINVAL, "this process ignores SIGCHLD, so the kernel would reap the tool before its status could be read")
        }

        // MARK: Identity
        var runUid = facts.uid
        var runGid = facts.gid
        if facts.isRoot {
            guard let user = Posix.lookupUser(profile.runAs) else {
                return failure("credentials", EINVAL, "no user named \(profile.runAs) to run the tool as")
            }
            guard user.uid != 0 else {
                return failure("credentials", EPERM, "refusing to run a tool as root (runAs \(profile.runAs))")
            }
            (runUid, runGid) = user
        }

        // MARK: Executable
        let resolved = resolveExecutable()
        guard let executable = resolved.path else {
            let what = resolved.errno == ENOENT ? "not found" : "not executable"
            return failure("exec", resolved.errno, "\(request.argv[0]): \(what)")
        }

        // MARK: Scratch directory
        var workingDirectory = request.workingDirectory
        var env = environment
        if profile.filesystem.scratch {
            guard let root = ScratchRoot.path else {
                return failure("scratch", EPERM, "/tmp/airlock-\(facts.uid) is not a directory of this user's (refusing to use it)")
            }
            let made = Posix.makeTemporaryDirectory(base: root, prefix: "\(getpid())-")
            guard let dir = made.path else { return failure("scratch", made.errno) }
            resources.scratch = dir
            // With a mount namespace the tool only ever sees the tmpfs mounted over this
            // directory; without one it works in the directory itself, handed over by descriptor.
            if !profile.namespaces.mount {
                let fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { return failure("scratch", errno) }
                if facts.isRoot { fchown(fd, runUid, runGid) }
                fchmod(fd, 0o700)
                close(fd)
            }
            if workingDirectory == nil { workingDirectory = dir }
            let overridden = Set(request.extraEnvironment.keys).union(profile.env.set.keys)
            for name in ["HOME", "TMPDIR"] where !overridden.contains(name) {
                env.removeAll { $0.hasPrefix(name + "=") }
                env.append("\(name)=\(dir)")
            }
        }

        // MARK: Landlock
        let abi = facts.landlockABI
        var procAccess: UInt64 = 0
        var scratchAccess: UInt64 = 0
        if abi > 0 {
            let all = airlock_landlock_fs_rights(abi)
            let read = airlock_landlock_read_rights()
            // network none: Landlock (ABI 4+) also refuses TCP bind and connect, a second wall
            // behind the empty namespace and the missing socket().
            let net: UInt64 = (abi >= 4 && profile.network == .none) ? 0b11 : 0
            let scoped: UInt64 = abi >= 6 ? 0b11 : 0  // abstract unix sockets and signals
            var fd: Int32 = -1
            let err = airlock_landlock_create(abi, all, net, scoped, &fd)
            guard err == 0 else { return failure("landlock", err) }
            resources.landlockFd = fd
            var rules: [(String, UInt64)] = profile.filesystem.read.map { ($0, read) }
            rules += profile.filesystem.write.map { ($0, all) }
            rules.append((executable, read))
            let writeFile: UInt64 = 1 << 1  // LANDLOCK_ACCESS_FS_WRITE_FILE
            for device in ["/dev/null", "/dev/zero", "/dev/full"] { rules.append((device, read | writeFile)) }
            for device in ["/dev/random", "/dev/urandom"] { rules.append((device, read)) }
            if let scratch = resources.scratch {
                if profile.namespaces.mount { scratchAccess = all } else { rules.append((scratch, all)) }
            }
            if profile.filesystem.exposesProc { procAccess = read }
            for (path, access) in rules {
                let err = airlock_landlock_add_path(fd, path, access)
                if err != 0 && err != ENOENT && err != ENOTDIR {
                    return failure("landlock", err, "rule for \(path): \(Posix.describe(errno: err))")
                }
            }
            layers.append("landlock")
        } else if !profile.filesystem.read.isEmpty || !profile.filesystem.write.isEmpty || profile.filesystem.scratch {
            return failure("landlock", ENOSYS, "profile \(profile.name) restricts the filesystem but this kernel has no Landlock")
        }

        // MARK: Namespaces
        var cloneFlags: UInt = 0
        let ns = profile.namespaces
        if ns.pid { cloneFlags |= UInt(AIRLOCK_CLONE_NEWPID); layers.append("pidns") }
        if ns.mount { cloneFlags |= UInt(AIRLOCK_CLONE_NEWNS); layers.append("mountns") }
        if ns.ipc { cloneFlags |= UInt(AIRLOCK_CLONE_NEWIPC); layers.append("ipcns") }
        if ns.uts { cloneFlags |= UInt(AIRLOCK_CLONE_NEWUTS); layers.append("utsns") }
        // network none: a root host reuses one empty namespace (creating one costs ~0.5 ms);
        // tools in it cannot reach each other: lo is down, the baseline filter refuses socket()
        // altogether, and Landlock (ABI 6+) scopes signals and abstract sockets to each tool.
        var netnsFd: Int32 = -1
        if profile.network == .none, facts.isRoot, abi >= 6, let shared = SharedNetworkNamespace.fd {
            netnsFd = shared
            layers.append("netns")
        } else if profile.network != .host {
            cloneFlags |= UInt(AIRLOCK_CLONE_NEWNET)
            layers.append("netns")
        }
        // Without root the other namespaces need a user namespace (and a PID one is always
        // there). A root host drops the tool to runAs instead (see spawn.c for why not both).
        if facts.isRoot {
            layers.append("uid_drop")
        } else {
            cloneFlags |= UInt(AIRLOCK_CLONE_NEWUSER)
            layers.append("userns")
        }

        // MARK: Limits
        let limits = profile.limits
        let lease = CgroupHost.shared.lease(memoryBytes: limits.memoryBytes, processes: limits.processes)
        resources.cgroups = lease
        var rlimits: [airlock_rlimit] = [airlock_rlimit(resource: Int32(AIRLOCK_RLIMIT_CORE), soft: 0, hard: 0)]
        func addLimit(_ resource: Int, _ value: UInt64?) {
            guard let value else { return }
            rlimits.append(airlock_rlimit(resource: Int32(resource), soft: value, hard: value))
        }
        if let cpu = limits.cpuTimeMs {
            // Soft = hard: the tool is pid 1 of its namespace, where SIGXCPU (the soft limit's
            // signal) is ignored unless handled, so the hard limit's SIGKILL must come on time.
            addLimit(AIRLOCK_RLIMIT_CPU, Self.cpuSeconds(cpu))
        }
        addLimit(AIRLOCK_RLIMIT_NOFILE, limits.openFiles)
        addLimit(AIRLOCK_RLIMIT_FSIZE, limits.fileSizeBytes)
        // Fallbacks are weaker and say so in the layer names: RLIMIT_AS limits each process's
        // address space, RLIMIT_NPROC counts every process of the uid on the machine.
        if lease.memoryDir != nil {
            layers.append("cgroup_memory")
        } else if limits.memoryBytes != nil {
            addLimit(AIRLOCK_RLIMIT_AS, limits.memoryBytes)
            layers.append("rlimit_as_per_process")
        }
        if lease.pidsDir != nil {
            layers.append("cgroup_pids")
        } else if limits.processes != nil {
            addLimit(AIRLOCK_RLIMIT_NPROC, limits.processes)
            layers.append("rlimit_nproc_per_uid")
        }
        layers.append("rlimits")

        // MARK: Descriptors
        func makePipe() -> (read: Int32, write: Int32)? {
            var fds: [Int32] = [-1, -1]
            guard airlock_pipe_cloexec(&fds) == 0 else { return nil }
            resources.fds += fds
            return (fds[0], fds[1])
        }
        guard let reportPipe = makePipe(), let lifeline = makePipe(), let outPipe = makePipe(),
            let errPipe = makePipe()
        else { return failure("descriptors", errno) }
        var stdinSource: Int32
        var stdinPipe: (read: Int32, write: Int32)?
        switch request.stdin {
        case .inherit: stdinSource = 0
        case .null:
            stdinSource = open("/dev/null", O_RDONLY | O_CLOEXEC)
            guard stdinSource >= 0 else { return failure("descriptors", errno) }
            resources.fds.append(stdinSource)
        case .bytes:
            guard let p = makePipe() else { return failure("descriptors", errno) }
            stdinPipe = p
            stdinSource = p.read
        case .descriptor(let fd):
            stdinSource = fd
        }
        // A stream sent to the caller's descriptor leaves its pipe unused: the parent closes
        // the write end after the clone, so the supervisor sees end of file on it at once.
        var stdoutTarget = outPipe.write
        var stderrTarget = errPipe.write
        if case .descriptor(let fd) = request.stdout { stdoutTarget = fd }
        if case .descriptor(let fd) = request.stderr { stderrTarget = fd }
        var childFds: [Int32] = [0, 1, 2]
        var parentFds: [Int32] = [stdinSource, stdoutTarget, stderrTarget]
        for (child, parent) in request.extraDescriptors.sorted(by: { $0.key < $1.key }) where child > 2 {
            childFds.append(child)
            parentFds.append(parent)
        }

        // MARK: Clone
        let sharedError = UnsafeMutablePointer<airlock_child_error>.allocate(capacity: 1)
        sharedError.initialize(to: airlock_child_error(stage: 0, err: 0))
        defer { sharedError.deallocate() }
        let argv = CStringArray(request.argv)
        let envp = CStringArray(env)
        let pathC = strdup(executable)
        let cwdC = workingDirectory.map { strdup($0) }
        // With a mount namespace the scratch directory becomes a private tmpfs in the child.
        let scratchC: UnsafeMutablePointer<CChar>? = profile.namespaces.mount ? resources.scratch.flatMap { strdup($0) } : nil
        // Sized by the memory limit (its pages count against it anyway), else a fixed 1 GiB,
        // so a tool without a memory cgroup cannot pin half the machine's RAM in it.
        let scratchSize = limits.memoryBytes ?? (1 << 30)
        let scratchOptionsC = strdup("mode=0700,uid=\(runUid),gid=\(runGid),size=\(scratchSize),nr_inodes=65536")
        defer {
            argv.deallocate()
            envp.deallocate()
            free(pathC)
            if let cwdC { free(cwdC) }
            if let scratchC { free(scratchC) }
            free(scratchOptionsC)
        }
        let filterStorage = filters.map { program -> UnsafeMutableRawPointer in
            let memory = UnsafeMutableRawPointer.allocate(byteCount: max(program.bytes.count, 8), alignment: 8)
            program.bytes.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return memory
        }
        defer { filterStorage.forEach { $0.deallocate() } }
        var bpf = zip(filters, filterStorage).map { airlock_bpf(instructions: $1, count: UInt16(clamping: $0.instructionCount)) }
        layers.append(contentsOf: ["no_new_privs", "seccomp"])

        var pid: pid_t = 0
        var pidfd: Int32 = -1
        let stack = UnsafeMutableRawPointer.allocate(byteCount: Self.childStackSize, alignment: 64)
        defer { stack.deallocate() }
        var execWait = ExecWait.execed

        let execWord = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        execWord.initialize(to: 1)
        defer { execWord.deallocate() }

        /// Waits until the child has called execve or exited (the kernel zeroes execWord then:
        /// CLONE_CHILD_CLEARTID), killing it if setup takes longer than the deadline: a child
        /// stopped by a signal during setup must not hang the host. Until then the child reads
        /// the memory below, so nothing is freed before this returns.
        func awaitExec() -> ExecWait {
            close(reportPipe.write)
            resources.fds.removeAll { $0 == reportPipe.write }
            if pidfd < 0 { _ = airlock_pidfd_open(pid, &pidfd) }
            if airlock_wait_exec(execWord, Int64(Self.setupDeadlineNs)) == 0 { return .execed }
            if pidfd >= 0 { _ = airlock_pidfd_send_signal(pidfd, SIGKILL) } else { kill(pid, SIGKILL) }
            _ = airlock_wait_exec(execWord, -1)  // SIGKILL: it exits, and the kernel clears the word
            return .timedOut
        }
        let start = Posix.monotonicNanoseconds()
        // One child in setup at a time, process-wide: every child copies the fd table at its
        // clone, so a concurrent one would hold this call's lifeline pipe open and hide the
        // host's death from this child's check (see spawn.c). Setup takes well under a ms.
        let spawnError: Int32 = Self.spawnLock.withLock { _ in childFds.withUnsafeBufferPointer { childFdsPtr in
            parentFds.withUnsafeBufferPointer { parentFdsPtr in
                rlimits.withUnsafeBufferPointer { rlimitsPtr in
                    lease.procsFds.withUnsafeBufferPointer { cgroupPtr in
                        bpf.withUnsafeMutableBufferPointer { bpfPtr in
                            var config = airlock_spawn_config()
                            config.path = UnsafePointer(pathC)
                            config.argv = UnsafePointer(argv.pointer)
                            config.envp = UnsafePointer(envp.pointer)
                            config.cwd = cwdC.map { UnsafePointer($0!) }
                            config.child_fds = childFdsPtr.baseAddress
                            config.parent_fds = parentFdsPtr.baseAddress
                            config.fd_count = Int32(childFdsPtr.count)
                            config.clone_flags = cloneFlags
                            config.map_self = (cloneFlags & UInt(AIRLOCK_CLONE_NEWUSER)) != 0 ? 1 : 0
                            config.outer_uid = facts.uid
                            config.outer_gid = facts.gid
                            config.drop_credentials = facts.isRoot ? 1 : 0
                            config.run_uid = runUid
                            config.run_gid = runGid
                            config.set_hostname = ns.uts ? 1 : 0
                            config.make_mounts_private = ns.mount ? 1 : 0
                            config.mount_proc = ns.mount && ns.pid && profile.filesystem.exposesProc ? 1 : 0
                            config.netns_fd = netnsFd
                            config.proc_landlock_access = procAccess
                            config.scratch_path = scratchC.map { UnsafePointer($0) }
                            config.scratch_options = UnsafePointer(scratchOptionsC)
                            config.scratch_landlock_access = scratchAccess
                            config.loopback_up = profile.network == .loopback ? 1 : 0
                            config.rlimits = rlimitsPtr.baseAddress
                            config.rlimit_count = Int32(rlimitsPtr.count)
                            config.cgroup_procs_fds = cgroupPtr.baseAddress
                            config.cgroup_fd_count = Int32(cgroupPtr.count)
                            config.landlock_ruleset_fd = resources.landlockFd
                            config.filters = UnsafePointer(bpfPtr.baseAddress)
                            config.filter_count = Int32(bpfPtr.count)
                            config.lifeline_read_fd = lifeline.read
                            config.lifeline_write_fd = lifeline.write
                            config.report_fd = reportPipe.write
                            config.shared_error = sharedError
                            config.stack = stack
                            config.exec_word = execWord
                            config.stack_size = Self.childStackSize
                            let rc = airlock_spawn(&config, &pid, &pidfd)
                            // The child reads this memory until it execs: wait for that here,
                            // while every buffer above is still alive.
                            if rc == 0 { execWait = awaitExec() }
                            return rc
                        }
                    }
                }
            }
        } }
        guard spawnError == 0 else {
            let hint = spawnError == EPERM || spawnError == ENOSPC || spawnError == EINVAL
                ? "cannot create the namespaces this profile needs (see airlock doctor)" : nil
            return failure("clone", spawnError, hint)
        }
        if pidfd >= 0 { resources.fds.append(pidfd) }

        // The parent's copies of the child's ends are no longer needed; the child has its own.
        func closeFd(_ fd: Int32) {
            close(fd)
            resources.fds.removeAll { $0 == fd }
        }
        closeFd(outPipe.write)
        closeFd(errPipe.write)
        if let stdinPipe { closeFd(stdinPipe.read) }
        for fd in Set(request.handedOverDescriptors) where fd > 2 { closeFd(fd) }

        // The child has called execve or exited. A setup failure is in the shared error record
        // (written without allocating, so it survives a child at its memory limit); the report
        // pipe, written after it, is read only as a second channel.
        if sharedError.pointee.stage == 0, airlock_set_nonblocking(reportPipe.read) == 0 {
            var fromPipe = airlock_child_error()
            let n = withUnsafeMutableBytes(of: &fromPipe) { read(reportPipe.read, $0.baseAddress, $0.count) }
            if n == MemoryLayout<airlock_child_error>.size { sharedError.pointee = fromPipe }
        }
        let childError = sharedError.pointee
        let got = childError.stage != 0 ? MemoryLayout<airlock_child_error>.size : 0
        if execWait == .timedOut && got == 0 {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            var report = failure("setup", ETIMEDOUT, "the child did not finish its setup within \(Self.setupDeadlineNs / 1_000_000_000) s (stopped?) and was killed")
            report.wallMs = Double(Posix.monotonicNanoseconds() - start) / 1e6
            return report
        }
        closeFd(reportPipe.read)
        if got == MemoryLayout<airlock_child_error>.size {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let stage = Self.stageNames[childError.stage] ?? "stage \(childError.stage)"
            var report = failure(stage, childError.err, stage == "exec" ? "\(request.argv[0]): \(Posix.describe(errno: childError.err))" : nil)
            report.wallMs = Double(Posix.monotonicNanoseconds() - start) / 1e6
            return report
        }

        // MARK: Memory limit
        // Armed only now that the tool has its own address space (see armMemoryLimit). A tool
        // that already uses more than the limit in these microseconds is stopped right here.
        var memoryRefused = false
        if let bytes = limits.memoryBytes, !lease.armMemoryLimit(bytes) {
            memoryRefused = true
            if pidfd >= 0 { _ = airlock_pidfd_send_signal(pidfd, SIGKILL) } else { kill(pid, SIGKILL) }
        }

        // MARK: Supervise
        // The supervisor closes these itself (at end of file, or when it is done): they leave
        // `resources` now, or a second close could hit a number another thread reused.
        let handedOver = [outPipe.read, errPipe.read] + (stdinPipe.map { [$0.write] } ?? [])
        resources.fds.removeAll { handedOver.contains($0) }
        var supervisor = Supervisor(
            pid: pid, pidfd: pidfd, stdoutFd: outPipe.read, stderrFd: errPipe.read,
            stdinFd: stdinPipe?.write, stdinBytes: { if case .bytes(let b) = request.stdin { return b } else { return [] } }(),
            stdoutSink: request.stdout, stderrSink: request.stderr, outputCap: limits.outputBytes,
            wallDeadline: limits.wallTimeMs.map { Self.deadline(after: $0, from: start) }, cancelFd: control.fd)
        let result = supervisor.run()
        let end = result.reapedAt > 0 ? result.reapedAt : Posix.monotonicNanoseconds()
        closeFd(lifeline.write)
        closeFd(lifeline.read)

        // MARK: Report
        var report = SandboxReport(outcome: .exited, profile: profile.name, profileSha256: profile.sha256, layers: layers)
        report.wallMs = Double(end - start) / 1e6
        report.userMs = Double(result.usage.ru_utime.tv_sec) * 1000 + Double(result.usage.ru_utime.tv_usec) / 1000
        report.sysMs = Double(result.usage.ru_stime.tv_sec) * 1000 + Double(result.usage.ru_stime.tv_usec) / 1000
        report.maxRssKiB = UInt64(max(0, result.usage.ru_maxrss))
        report.stdoutBytes = result.stdoutBytes
        report.stderrBytes = result.stderrBytes
        report.stdoutTruncated = result.stdoutTruncated
        report.stderrTruncated = result.stderrTruncated
        report.stdout = result.stdout
        report.stderr = result.stderr
        let status = result.status
        let signaled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
        let signal = status & 0x7f
        if signaled { report.signal = signal } else { report.exitCode = (status >> 8) & 0xff }
        let cpuMs = report.userMs + report.sysMs
        let cpuKillThresholdMs = limits.cpuTimeMs.map { Double(Self.cpuSeconds($0)) * 1000 * 0.9 } ?? .infinity
        let oom = lease.oomKills()
        let pidsHits = lease.pidsLimitHits()
        if memoryRefused {
            report.killReason = "memory_limit"
        } else if result.outputExceeded {
            report.killReason = "output_limit"
        } else if result.cancelled {
            report.killReason = "cancelled"
        } else if result.timedOut {
            report.killReason = "timeout"
        }
        if memoryRefused {
            report.outcome = .memoryLimit
        } else if result.outputExceeded {
            report.outcome = .outputLimit
        } else if result.cancelled {
            report.outcome = .signaled
        } else if result.timedOut {
            report.outcome = pidsHits > 0 ? .pidsLimit : .timeout
        } else if signaled && signal == SIGSYS {
            report.outcome = .syscallBlocked
            report.violation = SeccompViolation.find(hostPid: pid)
        } else if oom > 0 && (signaled || report.exitCode != 0) {
            report.outcome = .memoryLimit
        } else if signaled && (signal == SIGXCPU || (signal == SIGKILL && cpuMs >= cpuKillThresholdMs)) {
            // RLIMIT_CPU's SIGKILL carries no mark of its own: nobody else sent a SIGKILL and
            // the CPU time is at the limit (accounting may read a tick or two short of it).
            report.outcome = .cpuLimit
        } else if pidsHits > 0 && (signaled || report.exitCode != 0) {
            report.outcome = .pidsLimit
        } else if signaled {
            report.outcome = .signaled
        }
        if let peak = lease.peakMemoryBytes(), peak > 0 { report.maxRssKiB = peak / 1024 }
        return report
    }
}
