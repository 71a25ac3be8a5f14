/// A sandbox profile: what a confined child may do, and how much of the machine it may use.
///
/// Parsed from `sandbox-profiles/NAME.json` (see `Profile+Decoding.swift`). The `seccomp`
/// section is the OCI runtime-spec `LinuxSeccomp` object; everything else is Airlock's own.
public struct Profile: Sendable, Equatable {
    /// The profile's name (file name without `.json`, or the path it was loaded from).
    public var name: String
    /// Free text shown by `airlock profiles list`.
    public var description: String
    /// The OCI `LinuxSeccomp` object, Docker's extensions already resolved for this machine.
    public var seccomp: SeccompPolicy
    public var limits: Limits
    public var filesystem: FilesystemPolicy
    public var network: NetworkMode
    public var namespaces: NamespacePolicy
    public var env: EnvPolicy
    /// Unprivileged user the tool runs as when the host is root (`nobody` by default).
    public var runAs: String
    /// Lowercase hex SHA-256 of the profile's source bytes.
    public var sha256: String

    public init(
        name: String, description: String = "", seccomp: SeccompPolicy, limits: Limits = Limits(),
        filesystem: FilesystemPolicy = FilesystemPolicy(), network: NetworkMode = .none,
        namespaces: NamespacePolicy = NamespacePolicy(), env: EnvPolicy = EnvPolicy(),
        runAs: String = "nobody", sha256: String = ""
    ) {
        self.name = name
        self.description = description
        self.seccomp = seccomp
        self.limits = limits
        self.filesystem = filesystem
        self.network = network
        self.namespaces = namespaces
        self.env = env
        self.runAs = runAs
        self.sha256 = sha256
    }
}

// MARK: - Limits

/// Resource limits; `nil` means "not limited by this profile".
public struct Limits: Sendable, Equatable {
    /// Wall-clock time, in milliseconds (`wallTimeSeconds` in JSON, may be fractional).
    public var wallTimeMs: UInt64?
    /// CPU time (user + system), in milliseconds (`cpuTimeSeconds` in JSON).
    public var cpuTimeMs: UInt64?
    /// Memory of the whole process tree (`memoryBytes`): cgroup where possible, else RLIMIT_AS.
    public var memoryBytes: UInt64?
    /// Live processes and threads of the tree (`processes`): cgroup pids where possible, else RLIMIT_NPROC.
    public var processes: UInt64?
    /// RLIMIT_NOFILE (`openFiles`).
    public var openFiles: UInt64?
    /// RLIMIT_FSIZE (`fileSizeBytes`).
    public var fileSizeBytes: UInt64?
    /// Cap on each of stdout and stderr (`outputBytes`); past it the child is killed.
    public var outputBytes: UInt64?

    public init(
        wallTimeMs: UInt64? = nil, cpuTimeMs: UInt64? = nil, memoryBytes: UInt64? = nil,
        processes: UInt64? = nil, openFiles: UInt64? = nil, fileSizeBytes: UInt64? = nil,
        outputBytes: UInt64? = nil
    ) {
        self.wallTimeMs = wallTimeMs
        self.cpuTimeMs = cpuTimeMs
        self.memoryBytes = memoryBytes
        self.processes = processes
        self.openFiles = openFiles
        self.fileSizeBytes = fileSizeBytes
        self.outputBytes = outputBytes
    }
}

// MARK: - Filesystem, network, namespaces, environment

/// Landlock rules. Paths that do not exist on this machine are skipped.
public struct FilesystemPolicy: Sendable, Equatable {
    /// Readable (and executable) trees (`read`).
    public var read: [String]
    /// Readable and writable trees (`write`).
    public var write: [String]
    /// Give the tool a private, writable scratch directory as its cwd, `HOME` and `TMPDIR` (`scratch`).
    public var scratch: Bool

    public init(read: [String] = [], write: [String] = [], scratch: Bool = true) {
        self.read = read
        self.write = write
        self.scratch = scratch
    }
}

/// What network the tool sees.
public enum NetworkMode: String, Sendable, Equatable, CaseIterable {
    /// A new, empty network namespace; only `AF_UNIX` sockets.
    case none
    /// A new network namespace with `lo` up.
    case loopback
    /// The host's network.
    case host
}

/// Namespaces the child is created in. Each one asked for is required: if this host cannot
/// create it, the call fails closed with `setup_failed`.
public struct NamespacePolicy: Sendable, Equatable {
    /// A user namespace (always used when the host is not root, since the others need it).
    public var user: Bool
    public var pid: Bool
    public var mount: Bool
    public var ipc: Bool
    public var uts: Bool

    public init(user: Bool = true, pid: Bool = true, mount: Bool = true, ipc: Bool = true, uts: Bool = true) {
        self.user = user
        self.pid = pid
        self.mount = mount
        self.ipc = ipc
        self.uts = uts
    }
}

/// The child's environment: nothing passes unless named here.
public struct EnvPolicy: Sendable, Equatable {
    /// Names passed through from the host's environment when set there (`allow`).
    public var allow: [String]
    /// Fixed values (`set`), applied after `allow`.
    public var set: [String: String]

    public init(allow: [String] = [], set: [String: String] = [:]) {
        self.allow = allow
        self.set = set
    }
}

// MARK: - Seccomp (OCI LinuxSeccomp)

/// The OCI runtime-spec `LinuxSeccomp` object, after Docker's `archMap` and
/// `includes`/`excludes` were resolved for this machine.
public struct SeccompPolicy: Sendable, Equatable {
    /// `SCMP_ACT_*` name, e.g. `SCMP_ACT_ERRNO`.
    public var defaultAction: SeccompAction
    /// Errno for `defaultAction` when it is `SCMP_ACT_ERRNO`/`SCMP_ACT_TRACE` (`defaultErrnoRet`, default EPERM).
    public var defaultErrnoRet: UInt32?
    /// `SCMP_ARCH_*` names.
    public var architectures: [String]
    /// `flags` (`SECCOMP_FILTER_FLAG_*` names), kept for round trips.
    public var flags: [String]
    public var syscalls: [SeccompRule]

    public init(
        defaultAction: SeccompAction, defaultErrnoRet: UInt32? = nil, architectures: [String] = [],
        flags: [String] = [], syscalls: [SeccompRule] = []
    ) {
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.architectures = architectures
        self.flags = flags
        self.syscalls = syscalls
    }
}

/// One entry of `syscalls`.
public struct SeccompRule: Sendable, Equatable {
    public var names: [String]
    public var action: SeccompAction
    public var errnoRet: UInt32?
    public var args: [SeccompArg]

    public init(names: [String], action: SeccompAction, errnoRet: UInt32? = nil, args: [SeccompArg] = []) {
        self.names = names
        self.action = action
        self.errnoRet = errnoRet
        self.args = args
    }
}

/// One argument comparison (`{index, value, valueTwo, op}`).
public struct SeccompArg: Sendable, Equatable {
    public var index: UInt32
    public var value: UInt64
    public var valueTwo: UInt64
    public var op: SeccompOperator

    public init(index: UInt32, value: UInt64, valueTwo: UInt64 = 0, op: SeccompOperator) {
        self.index = index
        self.value = value
        self.valueTwo = valueTwo
        self.op = op
    }
}

public enum SeccompAction: String, Sendable, Equatable, CaseIterable {
    case killThread = "SCMP_ACT_KILL"
    case killProcess = "SCMP_ACT_KILL_PROCESS"
    case killThreadExplicit = "SCMP_ACT_KILL_THREAD"
    case trap = "SCMP_ACT_TRAP"
    case errno = "SCMP_ACT_ERRNO"
    case trace = "SCMP_ACT_TRACE"
    case allow = "SCMP_ACT_ALLOW"
    case log = "SCMP_ACT_LOG"
    case notify = "SCMP_ACT_NOTIFY"
}

public enum SeccompOperator: String, Sendable, Equatable, CaseIterable {
    case notEqual = "SCMP_CMP_NE"
    case lessThan = "SCMP_CMP_LT"
    case lessOrEqual = "SCMP_CMP_LE"
    case equal = "SCMP_CMP_EQ"
    case greaterOrEqual = "SCMP_CMP_GE"
    case greaterThan = "SCMP_CMP_GT"
    case maskedEqual = "SCMP_CMP_MASKED_EQ"
}
