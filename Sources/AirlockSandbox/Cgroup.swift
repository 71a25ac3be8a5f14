#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Where this process may create per-call cgroups for memory and process limits:
/// cgroup v2 (one directory, controllers enabled), or v1 (a memory and a pids hierarchy).
struct CgroupHost: Sendable {
    enum Version: String, Sendable { case v1, v2 }

    var version: Version?
    /// v1: the directories of this process's memory and pids cgroups. v2: the same directory twice.
    var memoryParent: String?
    var pidsParent: String?
    /// Why a controller is not usable, for `airlock doctor`.
    var memoryProblem: String?
    var pidsProblem: String?

    static let shared: CgroupHost = discover()

    private static let counter = Atomic<UInt64>(0)

    // MARK: - Discovery

    static func discover() -> CgroupHost {
        var host = CgroupHost()
        guard let mountinfo = Posix.readText("/proc/self/mountinfo"),
            let membership = Posix.readText("/proc/self/cgroup")
        else {
            host.memoryProblem = "cannot read /proc/self/mountinfo or /proc/self/cgroup"
            host.pidsProblem = host.memoryProblem
            return host
        }
        // mount point, mount root, and super options per cgroup filesystem.
        var v1Mounts: [(point: String, root: String, options: Set<String>)] = []
        var v2Mount: (point: String, root: String)?
        for line in mountinfo.split(separator: "\n") {
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " ")
            let right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 3 else { continue }
            let root = String(left[3])
            let point = String(left[4])
            if right[0] == "cgroup" {
                v1Mounts.append((point, root, Set(right[2].split(separator: ",").map(String.init))))
            } else if right[0] == "cgroup2" {
                v2Mount = (point, root)
            }
        }
        var v1Paths: [String: String] = [:]
        var v2Path: String?
        for line in membership.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[0] == "0" && parts[1].isEmpty {
                v2Path = String(parts[2])
            } else {
                for controller in parts[1].split(separator: ",") { v1Paths[String(controller)] = String(parts[2]) }
            }
        }
        func join(_ point: String, _ root: String, _ path: String) -> String {
            var relative = path
            if root != "/" && relative.hasPrefix(root) { relative = String(relative.dropFirst(root.count)) }
            return point + (relative == "/" ? "" : relative)
        }
        func usableV1(_ controller: String) -> (String?, String?) {
            guard let mount = v1Mounts.first(where: { $0.options.contains(controller) }),
                let path = v1Paths[controller]
            else { return (nil, "no cgroup v1 \(controller) hierarchy") }
            let dir = join(mount.point, mount.root, path)
            return probeCreate(in: dir) ? (dir, nil) : (nil, "cannot create cgroups under \(dir)")
        }
        let memory = usableV1("memory")
        let pids = usableV1("pids")
        if memory.0 != nil || pids.0 != nil {
            host.version = .v1
            (host.memoryParent, host.memoryProblem) = memory
            (host.pidsParent, host.pidsProblem) = pids
            return host
        }
        if let v2Mount, let v2Path {
            let dir = join(v2Mount.point, v2Mount.root, v2Path)
            let controllers = Set((Posix.readText(dir + "/cgroup.controllers") ?? "").split(whereSeparator: \.isWhitespace).map(String.init))
            let enabled = Set((Posix.readText(dir + "/cgroup.subtree_control") ?? "").split(whereSeparator: \.isWhitespace).map(String.init))
            var ok = true
            for controller in ["memory", "pids"] where !enabled.contains(controller) {
                if !controllers.contains(controller) || Posix.writeText(dir + "/cgroup.subtree_control", "+\(controller)") != 0 {
                    ok = false
                }
            }
            if ok && probeCreate(in: dir) {
                host.version = .v2
                host.memoryParent = dir
                host.pidsParent = dir
                return host
            }
            let why = "cgroup v2 at \(dir): memory/pids not delegated to this process"
            host.memoryProblem = memory.1.map { "\($0); \(why)" } ?? why
            host.pidsProblem = pids.1.map { "\($0); \(why)" } ?? why
            return host
        }
        host.memoryProblem = memory.1
        host.pidsProblem = pids.1
        return host
    }

    /// Whether per-call cgroups can be made under `dir`. Checked by permission rather than
    /// by a trial mkdir, which costs as much as a call's own; a lease that still fails to
    /// create its cgroup falls back to rlimits for that call.
    private static func probeCreate(in dir: String) -> Bool {
        sweepStale(in: dir)
        return access(dir, W_OK | X_OK) == 0 && access(dir + "/cgroup.procs", W_OK) == 0
    }

    /// Removes per-call cgroups left behind by Airlock processes that no longer exist.
    private static func sweepStale(in dir: String) {
        guard let handle = opendir(dir) else { return }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard name.hasPrefix("airlock-") else { continue }
            let parts = name.split(separator: "-")
            guard parts.count >= 2, let pid = Int32(parts[1]) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { rmdir("\(dir)/\(name)") }
        }
    }

    // MARK: - Per-call cgroups

    /// Creates the per-call cgroups for these limits. Nil members mean "use the rlimit fallback".
    func lease(memoryBytes: UInt64?, processes: UInt64?) -> CgroupLease {
        var lease = CgroupLease(version: version)
        let id = Self.counter.wrappingAdd(1, ordering: .relaxed).newValue
        let name = "airlock-\(getpid())-\(id)"
        if memoryBytes != nil, let parent = memoryParent {
            // Created without a limit: `armMemoryLimit` sets it once the tool has its own
            // address space (see there).
            let dir = "\(parent)/\(name)"
            if mkdir(dir, 0o755) == 0 {
                lease.directories.append(dir)
                lease.memoryDir = dir
            }
        }
        if let processes, let parent = pidsParent {
            let dir = version == .v2 && lease.memoryDir != nil ? lease.memoryDir! : "\(parent)/\(name)"
            let shared = dir == lease.memoryDir
            if shared || mkdir(dir, 0o755) == 0 {
                if Posix.writeText(dir + "/pids.max", "\(processes)") == 0 {
                    lease.pidsDir = dir
                    if !shared { lease.directories.append(dir) }
                } else if !shared {
                    rmdir(dir)  // a pids cgroup without its limit would only be joined, never removed
                }
            }
        }
        // A cgroup the child cannot join limits nothing: drop it, and the rlimit fallback
        // (and its layer name) takes over.
        for dir in lease.directories {
            let fd = open(dir + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
            if fd >= 0 {
                lease.procsFds.append(fd)
                continue
            }
            rmdir(dir)
            if lease.memoryDir == dir { lease.memoryDir = nil }
            if lease.pidsDir == dir { lease.pidsDir = nil }
        }
        lease.directories.removeAll { $0 != lease.memoryDir && $0 != lease.pidsDir }
        return lease
    }
}

/// The cgroups of one call: joined by the child, read and removed by the parent afterwards.
struct CgroupLease {
    var version: CgroupHost.Version?
    var directories: [String] = []
    var memoryDir: String?
    var pidsDir: String?
    var procsFds: [Int32] = []

    /// Sets the memory limit. Called after the child has exec'd, never before: until exec
    /// the child shares the host's memory, and the OOM killer kills every process sharing
    /// its victim's memory, so a limit hit during setup would kill the host. Returns false
    /// when the kernel refused (v1 refuses a limit below what the tree already uses).
    func armMemoryLimit(_ bytes: UInt64) -> Bool {
        guard let dir = memoryDir else { return true }
        if version == .v2 {
            guard Posix.writeText(dir + "/memory.max", "\(bytes)") == 0 else { return false }
            Posix.writeText(dir + "/memory.swap.max", "0")
            return true
        }
        guard Posix.writeText(dir + "/memory.limit_in_bytes", "\(bytes)") == 0 else { return false }
        // Swap too, where the kernel accounts it (memsw must not be below the memory limit).
        Posix.writeText(dir + "/memory.memsw.limit_in_bytes", "\(bytes)")
        return true
    }

    /// Times the memory limit was hit by an OOM kill.
    func oomKills() -> UInt64 {
        guard let dir = memoryDir else { return 0 }
        let file = version == .v2 ? dir + "/memory.events" : dir + "/memory.oom_control"
        return Self.counter(named: "oom_kill", in: Posix.readText(file) ?? "")
    }

    /// Times a fork or clone was refused by the pids limit.
    func pidsLimitHits() -> UInt64 {
        guard let dir = pidsDir else { return 0 }
        return Self.counter(named: "max", in: Posix.readText(dir + "/pids.events") ?? "")
    }

    /// Peak memory of the tree in bytes, when the kernel reports it.
    func peakMemoryBytes() -> UInt64? {
        guard let dir = memoryDir else { return nil }
        let file = version == .v2 ? dir + "/memory.peak" : dir + "/memory.max_usage_in_bytes"
        return Posix.readText(file).flatMap { UInt64($0.trimmingWhitespace()) }
    }

    /// Kills whatever is still inside (only needed without a PID namespace), then removes the cgroups.
    func release() {
        for fd in procsFds { close(fd) }
        for dir in directories.reversed() {
            for _ in 0..<50 {
                if rmdir(dir) == 0 || errno == ENOENT { break }
                if errno != EBUSY { break }
                if version == .v2, Posix.writeText(dir + "/cgroup.kill", "1") == 0 {
                } else if let procs = Posix.readText(dir + "/cgroup.procs") {
                    for line in procs.split(separator: "\n") { if let pid = Int32(line) { kill(pid, SIGKILL) } }
                }
                usleep(2000)
            }
        }
    }

    private static func counter(named name: String, in text: String) -> UInt64 {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 && parts[0] == name { return UInt64(parts[1]) ?? 0 }
        }
        return 0
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
