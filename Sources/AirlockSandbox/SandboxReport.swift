#if canImport(Glibc)
import Glibc
#endif

/// How a confined child ended.
public enum Outcome: String, Sendable, Equatable, CaseIterable {
    case exited
    case signaled
    case timeout
    case cpuLimit = "cpu_limit"
    case memoryLimit = "memory_limit"
    case outputLimit = "output_limit"
    case pidsLimit = "pids_limit"
    case syscallBlocked = "syscall_blocked"
    case setupFailed = "setup_failed"
}

/// The stage of sandbox setup that failed, and its errno.
public struct SetupFailure: Sendable, Equatable {
    /// Stage name, e.g. `namespaces`, `landlock`, `seccomp`, `exec`.
    public var stage: String
    public var errno: Int32
    /// One line naming the stage and the error, for people.
    public var message: String

    public init(stage: String, errno: Int32, message: String) {
        self.stage = stage
        self.errno = errno
        self.message = message
    }
}

/// Everything the parent learned about one confined run.
public struct SandboxReport: Sendable, Equatable {
    public var outcome: Outcome
    /// Exit code when the child exited normally.
    public var exitCode: Int32?
    /// Signal that ended the child, when one did.
    public var signal: Int32?
    public var wallMs: Double
    public var userMs: Double
    public var sysMs: Double
    /// Peak resident memory of the tree (cgroup peak where known, else the largest child's rusage).
    public var maxRssKiB: UInt64
    public var stdoutBytes: UInt64
    public var stderrBytes: UInt64
    public var stdoutTruncated: Bool
    public var stderrTruncated: Bool
    public var profile: String
    public var profileSha256: String
    /// Confinement layers actually applied, e.g. `seccomp`, `landlock`, `no_new_privs`, `userns`.
    public var layers: [String]
    /// Name of the blocked syscall, where it can be known.
    public var violation: String?
    /// Why the parent killed the child, when it did: `timeout`, `output_limit`, `memory_limit`
    /// (a tool already over its limit when the limit was armed), `cancelled`.
    public var killReason: String?
    public var setupFailure: SetupFailure?
    /// Captured stdout/stderr when the request asked for `.capture` (capped at the output limit).
    public var stdout: [UInt8]
    public var stderr: [UInt8]

    public init(
        outcome: Outcome, exitCode: Int32? = nil, signal: Int32? = nil, wallMs: Double = 0,
        userMs: Double = 0, sysMs: Double = 0, maxRssKiB: UInt64 = 0, stdoutBytes: UInt64 = 0,
        stderrBytes: UInt64 = 0, stdoutTruncated: Bool = false, stderrTruncated: Bool = false,
        profile: String = "", profileSha256: String = "", layers: [String] = [],
        violation: String? = nil, setupFailure: SetupFailure? = nil, stdout: [UInt8] = [],
        stderr: [UInt8] = []
    ) {
        self.outcome = outcome
        self.exitCode = exitCode
        self.signal = signal
        self.wallMs = wallMs
        self.userMs = userMs
        self.sysMs = sysMs
        self.maxRssKiB = maxRssKiB
        self.stdoutBytes = stdoutBytes
        self.stderrBytes = stderrBytes
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
        self.profile = profile
        self.profileSha256 = profileSha256
        self.layers = layers
        self.violation = violation
        self.setupFailure = setupFailure
        self.stdout = stdout
        self.stderr = stderr
    }

    /// The exit status `airlock exec` uses: the child's code; 128+N for signal N; 124 on a wall
    /// or CPU timeout; 125 when the sandbox could not be set up; 126 not executable; 127 not found.
    public var exitStatus: Int32 {
        switch outcome {
        case .exited: return exitCode ?? 0
        case .timeout, .cpuLimit: return 124
        case .setupFailed:
            if let failure = setupFailure, failure.stage == "exec" {
                switch failure.errno {
                case 2, 20: return 127  // ENOENT, ENOTDIR
                case 13, 8, 21, 1: return 126  // EACCES, ENOEXEC, EISDIR, EPERM
                default: return 126
                }
            }
            return 125
        case .signaled, .memoryLimit, .outputLimit, .pidsLimit, .syscallBlocked:
            // A wall-clock kill is 124 whatever else was hit first (a fork bomb at its pids
            // limit that then runs out of time is reported as pids_limit, exits 124).
            if killReason == "timeout" { return 124 }
            if let signal { return 128 + signal }
            return exitCode ?? 1
        }
    }
}

/// Where the child's stdin comes from.
public enum InputSource: Sendable, Equatable {
    /// `/dev/null`.
    case null
    /// The host's own descriptor 0.
    case inherit
    /// These bytes, written by the parent, then end of file.
    case bytes([UInt8])
    /// This descriptor of the host's (the read end of a pipe the caller writes to, for a
    /// conversation with the tool). Handed over: the sandbox closes it once the child has its
    /// copy, or when the run fails before that.
    case descriptor(Int32)
}

/// Where one of the child's output streams goes. Every mode counts bytes and enforces the cap.
public enum OutputSink: Sendable, Equatable {
    /// Copied to the host's own descriptor (1 for stdout, 2 for stderr) as it arrives.
    case passThrough
    /// Kept in the report (`stdout`/`stderr`).
    case capture
    /// Counted and hashed, then dropped.
    case discard
    /// The child writes straight to this descriptor of the host's (the write end of a pipe the
    /// caller reads, for a conversation with the tool). Handed over like `InputSource.descriptor`:
    /// the sandbox closes it once the child has its copy, so the caller's read end sees end of
    /// file when the tool is gone. The caller enforces its own cap: the report counts nothing
    /// for this stream.
    case descriptor(Int32)
}

/// One confined run: the command, the profile, and where its streams go.
public struct SandboxRequest: Sendable {
    /// `argv[0]` is a path or a name looked up in the child's `PATH`.
    public var argv: [String]
    public var profile: Profile
    /// The host environment that `profile.env.allow` filters (defaults to this process's).
    public var hostEnvironment: [String: String]?
    /// Variables set for this call on top of the profile's (`--env NAME=VALUE`).
    public var extraEnvironment: [String: String]
    public var stdin: InputSource
    public var stdout: OutputSink
    public var stderr: OutputSink
    /// Working directory; defaults to the scratch directory, else `/`.
    public var workingDirectory: String?
    /// Extra descriptors to pass: child descriptor number -> parent descriptor (e.g. 3 for effects).
    public var extraDescriptors: [Int32: Int32]

    public init(
        argv: [String], profile: Profile, hostEnvironment: [String: String]? = nil,
        extraEnvironment: [String: String] = [:], stdin: InputSource = .null,
        stdout: OutputSink = .capture, stderr: OutputSink = .capture,
        workingDirectory: String? = nil, extraDescriptors: [Int32: Int32] = [:]
    ) {
        self.argv = argv
        self.profile = profile
        self.hostEnvironment = hostEnvironment
        self.extraEnvironment = extraEnvironment
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.workingDirectory = workingDirectory
        self.extraDescriptors = extraDescriptors
    }
}

extension SandboxRequest {
    /// The `.descriptor` streams' descriptors, which the sandbox owns once asked to run.
    var handedOverDescriptors: [Int32] {
        var fds: [Int32] = []
        if case .descriptor(let fd) = stdin { fds.append(fd) }
        if case .descriptor(let fd) = stdout { fds.append(fd) }
        if case .descriptor(let fd) = stderr { fds.append(fd) }
        return fds
    }

    func closeHandedOverDescriptors() {
        for fd in Set(handedOverDescriptors) where fd > 2 { close(fd) }
    }
}
