#if canImport(Glibc)
import Glibc
#endif
import CAirlockSandbox
import Synchronization

/// Facts about this host that do not change while it runs.
struct HostFacts: Sendable {
    let isRoot: Bool
    let uid: uid_t
    let gid: gid_t
    let landlockABI: Int32

    static let shared: HostFacts = {
        // A write to a child that is gone must be an error, not the end of the host.
        signal(SIGPIPE, SIG_IGN)
        Posix.ensureStandardDescriptors()
        return HostFacts(isRoot: geteuid() == 0, uid: geteuid(), gid: getegid(), landlockABI: airlock_landlock_abi())
    }()
}

/// One request with everything that can be checked or built before the clone.
struct PreparedRun {
    let request: SandboxRequest
    let profile: Profile
    let environment: [String]
    let filters: [SeccompProgram]

    init(_ request: SandboxRequest) throws {
        guard let command = request.argv.first, !command.isEmpty else {
            throw SandboxError(.invalidRequest, "no command given")
        }
        for arg in request.argv where arg.utf8.contains(0) {
            throw SandboxError(.invalidRequest, "argument contains a NUL byte: \(arg.debugDescription)")
        }
        self.request = request
        self.profile = request.profile
        do {
            let main = try SeccompCompiler.compile(profile.seccomp)
            let baseline = try SeccompCompiler.baseline(
                network: profile.network, allowSocketpair: true, userNamespace: !HostFacts.shared.isRoot)
            // Baseline first: filters are stacked and the most restrictive answer wins anyway.
            filters = [baseline, main]
        } catch {
            throw SandboxError(.profile, "profile \(profile.name): seccomp: \(error)")
        }
        environment = Self.buildEnvironment(request)
    }

    static func buildEnvironment(_ request: SandboxRequest) -> [String] {
        let host = request.hostEnvironment ?? Posix.environment()
        var env: [String: String] = [:]
        for pattern in request.profile.env.allow {
            if pattern.hasSuffix("*") {
                let prefix = pattern.dropLast()
                for (name, value) in host where name.hasPrefix(prefix) { env[name] = value }
            } else if let value = host[pattern] {
                env[pattern] = value
            }
        }
        for (name, value) in request.profile.env.set { env[name] = value }
        for (name, value) in request.extraEnvironment { env[name] = value }
        return env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    // MARK: - Executable lookup

    /// Resolves argv[0] the way the child's execve will see it: a path as given (relative to the
    /// host's directory), or a name searched in the child's PATH.
    func resolveExecutable() -> (path: String?, errno: Int32) {
        let command = request.argv[0]
        if command.contains("/") {
            let path = command.hasPrefix("/") ? command : Posix.currentDirectory() + "/" + command
            return check(path)
        }
        let pathVariable = environment.first { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
            ?? "/usr/local/bin:/usr/bin:/bin"
        var firstError: Int32 = ENOENT
        for dir in pathVariable.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(command)"
            let result = check(candidate)
            if result.path != nil { return result }
            if result.errno != ENOENT && result.errno != ENOTDIR && firstError == ENOENT { firstError = result.errno }
        }
        return (nil, firstError)
    }

    private func check(_ path: String) -> (path: String?, errno: Int32) {
        var st = stat()
        guard stat(path, &st) == 0 else { return (nil, errno) }
        if (st.st_mode & S_IFMT) == S_IFDIR { return (nil, EACCES) }
        if (st.st_mode & 0o111) == 0 { return (nil, EACCES) }
        return (path, 0)
    }
}

/// One empty network namespace per host process, shared by `network: none` calls.
enum SharedNetworkNamespace {
    /// Off for one-shot processes (`airlock exec`), where making it costs what it saves.
    static let enabled = Atomic<Bool>(true)

    static var fd: Int32? { enabled.load(ordering: .relaxed) ? shared : nil }

    private static let shared: Int32? = {
        var fd: Int32 = -1
        return airlock_make_netns(&fd) == 0 ? fd : nil
    }()
}

extension FilesystemPolicy {
    /// Whether the tool may read `/proc` at all; only then is a fresh one mounted for its PID namespace.
    var exposesProc: Bool {
        (read + write).contains { $0 == "/" || $0 == "/proc" || $0.hasPrefix("/proc/") }
    }
}
