import CAirlockSandbox
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A compiled classic-BPF seccomp program, ready for `seccomp(SECCOMP_SET_MODE_FILTER)`.
public struct SeccompProgram: Sendable, Equatable {
    /// The raw `struct sock_filter` array (8 bytes per instruction, host byte order).
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var instructionCount: Int { bytes.count / 8 }
}

/// Why a seccomp policy could not be compiled.
public struct SeccompError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// An action Airlock does not implement (`SCMP_ACT_NOTIFY`).
        case unsupportedAction = "unsupported_action"
        /// A syscall name libseccomp does not know, in a rule that cannot simply be skipped.
        case unknownSyscall = "unknown_syscall"
        /// An `SCMP_ARCH_*` name libseccomp does not know.
        case unknownArchitecture = "unknown_architecture"
        /// A rule that is not valid (argument index out of range, too many comparisons).
        case invalidRule = "invalid_rule"
        /// libseccomp itself failed; `errno` says how.
        case libseccomp
    }

    public var code: Code
    /// The negated libseccomp return value, when there is one.
    public var errno: Int32
    public var message: String

    public init(code: Code, errno: Int32 = 0, message: String) {
        self.code = code
        self.errno = errno
        self.message = message
    }

    public var description: String {
        errno != 0 ? "seccomp: \(message) (errno \(errno))" : "seccomp: \(message)"
    }
}

/// Turns `SeccompPolicy` values into BPF with libseccomp, in the parent, before any fork.
public enum SeccompCompiler {
    /// Linux syscalls newer than the libseccomp this host links (2.5.4): profiles (Docker's
    /// default among them) may name them. Like runc, a rule naming one is skipped when skipping
    /// cannot widen what the filter allows (the rule allows or logs, or the default action
    /// denies anyway); otherwise compiling fails closed. Any other unknown name is an error.
    public static let syscallsNewerThanLibseccomp: Set<String> = [
        "statmount", "listmount", "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules",
        "mseal", "setxattrat", "getxattrat", "listxattrat", "removexattrat", "open_tree_attr",
        "file_getattr", "file_setattr", "uretprobe", "riscv_hwprobe",
    ]

    private static let cache = Mutex<[SeccompPolicy: SeccompProgram]>([:])

    /// Compiles `policy`. Results are cached per policy for the life of the process.
    public static func compile(_ policy: SeccompPolicy) throws(SeccompError) -> SeccompProgram {
        if let cached = cache.withLock({ $0[policy] }) { return cached }
        let key = SeccompDiskCache.key(for: policy)
        if let stored = SeccompDiskCache.load(key) {
            cache.withLock { $0[policy] = stored }
            return stored
        }
        let program = try build(policy)
        SeccompDiskCache.store(key, program)
        cache.withLock { $0[policy] = program }
        return program
    }

    /// Names in `policy` that `compile` leaves out because libseccomp does not know them.
    public static func skippedSyscalls(in policy: SeccompPolicy) -> [String] {
        var skipped: [String] = []
        for rule in policy.syscalls {
            for name in rule.names where resolve(name) == nil && !skipped.contains(name) {
                skipped.append(name)
            }
        }
        return skipped
    }

    // MARK: - Airlock's baseline filter

    /// Airlock's always-on filter, stacked on top of the profile's: it can only tighten.
    ///
    /// Default allow, plus: `clone3` and `io_uring_*` fail with ENOSYS (so callers fall back
    /// to `clone`, whose flags the profile can filter); `int` arguments of `socket`,
    /// `socketpair` and `ioctl` with any of the high 32 bits set fail with EINVAL, because the
    /// kernel ignores those bits while a 64-bit comparison would not; address families other
    /// than AF_UNIX, AF_INET and AF_INET6 (none at all for `.none`, whose tools use socketpair)
    /// fail with EAFNOSUPPORT; `socketpair` is AF_UNIX only;
    /// which covers AF_NETLINK, AF_PACKET, AF_VSOCK, AF_ALG, AF_BLUETOOTH, AF_CAN and the
    /// rarely used families behind many kernel bugs; TIOCSTI and TIOCLINUX fail with EPERM;
    /// `socketpair` fails with EPERM unless `allowSocketpair`. Only the native architecture is
    /// in this filter, so any 32-bit or x32 syscall kills the process.
    public static func baseline(
        network: NetworkMode, allowSocketpair: Bool, userNamespace: Bool = false
    ) throws(SeccompError) -> SeccompProgram {
        try compile(baselinePolicy(network: network, allowSocketpair: allowSocketpair, userNamespace: userNamespace))
    }

    /// The policy `baseline` compiles.
    public static func baselinePolicy(
        network: NetworkMode, allowSocketpair: Bool, userNamespace: Bool = false
    ) -> SeccompPolicy {
        let highBits: UInt64 = 0xffff_ffff
        let low32: UInt64 = 0xffff_ffff
        let einval = UInt32(EINVAL)
        let eafnosupport = UInt32(EAFNOSUPPORT)
        var rules: [SeccompRule] = [
            SeccompRule(names: ["clone3"], action: .errno, errnoRet: UInt32(ENOSYS)),
            SeccompRule(
                names: ["io_uring_setup", "io_uring_enter", "io_uring_register"], action: .errno,
                errnoRet: UInt32(ENOSYS)),
        ]
        // High bits of int arguments: the kernel truncates them, so reject them outright.
        for index: UInt32 in 0...2 {
            rules.append(
                SeccompRule(
                    names: ["socket"], action: .errno, errnoRet: einval,
                    args: [SeccompArg(index: index, value: highBits, op: .greaterThan)]))
        }
        // Families. With the rule above, arg0 here is at most 0xffffffff, so 64-bit GT
        // comparisons see exactly what the kernel sees.
        let afUnix: UInt64 = 1
        let afInet6: UInt64 = 10
        var deniedFamilies: [UInt64] = [0]  // AF_UNSPEC
        let deniedAbove: UInt64
        if network == .none {
            // No socket() at all, AF_UNIX included: Landlock does not govern connect() to a
            // socket bound at a path, so an AF_UNIX socket could reach the host's services
            // (a session bus, an SSH agent, docker.sock). socketpair() still gives the tool
            // connected pairs for its own processes.
            deniedFamilies.append(afUnix)
            deniedAbove = afUnix
        } else {
            deniedFamilies += Array(3...9)  // AF_AX25 ... AF_ATMPVC, between AF_INET and AF_INET6
            deniedAbove = afInet6  // AF_NETLINK(16), AF_PACKET(17), AF_VSOCK(40), AF_ALG(38), ...
        }
        for family in deniedFamilies {
            rules.append(
                SeccompRule(
                    names: ["socket"], action: .errno, errnoRet: eafnosupport,
                    args: [SeccompArg(index: 0, value: low32, valueTwo: family, op: .maskedEqual)]))
        }
        rules.append(
            SeccompRule(
                names: ["socket"], action: .errno, errnoRet: eafnosupport,
                args: [SeccompArg(index: 0, value: deniedAbove, op: .greaterThan)]))
        if allowSocketpair {
            rules.append(
                SeccompRule(
                    names: ["socketpair"], action: .errno, errnoRet: einval,
                    args: [SeccompArg(index: 0, value: highBits, op: .greaterThan)]))
            // Pairs are AF_UNIX only: other families' code must not even be reached.
            rules.append(
                SeccompRule(
                    names: ["socketpair"], action: .errno, errnoRet: eafnosupport,
                    args: [SeccompArg(index: 0, value: low32, valueTwo: 0, op: .maskedEqual)]))
            rules.append(
                SeccompRule(
                    names: ["socketpair"], action: .errno, errnoRet: eafnosupport,
                    args: [SeccompArg(index: 0, value: afUnix, op: .greaterThan)]))
        } else {
            rules.append(SeccompRule(names: ["socketpair"], action: .errno, errnoRet: UInt32(EPERM)))
        }
        if network == .none {
            // socketpair() gives the tool connected pairs for its own processes and nothing
            // else: no datagram pairs (sendto() with a path would reach the host's datagram
            // sockets, which Landlock does not govern), no naming (bind() of an abstract name
            // shows in /proc/net/unix of a shared namespace), no connecting, no listening.
            rules.append(
                SeccompRule(
                    names: ["socketpair"], action: .errno, errnoRet: UInt32(EPERM),
                    args: [SeccompArg(index: 1, value: 0xf, valueTwo: 2, op: .maskedEqual)]))  // SOCK_DGRAM
            rules.append(
                SeccompRule(
                    names: ["bind", "connect", "listen", "accept", "accept4"], action: .errno,
                    errnoRet: UInt32(EPERM)))
        }
        if userNamespace {
            // In its own user namespace the tool holds capabilities over its mounts: it must not
            // unmount the fresh /proc or scratch tmpfs to see what is beneath, or make new ones.
            rules.append(
                SeccompRule(
                    names: [
                        "mount", "umount2", "pivot_root", "unshare", "setns", "open_tree", "move_mount",
                        "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
                    ], action: .errno, errnoRet: UInt32(EPERM)))
        }
        // Terminal injection: TIOCSTI and TIOCLINUX.
        rules.append(
            SeccompRule(
                names: ["ioctl"], action: .errno, errnoRet: einval,
                args: [SeccompArg(index: 1, value: highBits, op: .greaterThan)]))
        for request: UInt64 in [0x5412, 0x541C] {
            rules.append(
                SeccompRule(
                    names: ["ioctl"], action: .errno, errnoRet: UInt32(EPERM),
                    args: [SeccompArg(index: 1, value: low32, valueTwo: request, op: .maskedEqual)]))
        }
        return SeccompPolicy(defaultAction: .allow, syscalls: rules)
    }

    // MARK: - Syscall names

    /// The native name of syscall `number`, as libseccomp knows it.
    public static func syscallName(_ number: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 128)
        let rc = buffer.withUnsafeMutableBufferPointer {
            airlock_seccomp_syscall_name(number, $0.baseAddress, $0.count)
        }
        guard rc == 0 else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// The native number of syscall `name`; `nil` when it does not exist on this architecture.
    public static func syscallNumber(_ name: String) -> Int32? {
        let nr = airlock_seccomp_syscall_resolve(name)
        return nr >= 0 ? nr : nil
    }

    /// True when libseccomp knows `name` on some architecture (or it is a known newer syscall).
    static func isKnownSyscall(_ name: String) -> Bool {
        resolve(name) != nil || syscallsNewerThanLibseccomp.contains(name)
    }

    /// libseccomp's number for `name`: native, or a negative pseudo number for syscalls of
    /// other architectures; `nil` when unknown (`__NR_SCMP_ERROR`).
    static func resolve(_ name: String) -> Int32? {
        let nr = airlock_seccomp_syscall_resolve(name)
        return nr == -1 ? nil : nr
    }

    /// The OCI runtime-spec's `SCMP_ARCH_*` names. Some (LOONGARCH64, M68K, SH) are newer than
    /// libseccomp 2.5.4; they are accepted and, like every foreign architecture, ignored here.
    public static let architectureNames: Set<String> = [
        "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
        "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
        "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
        "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
    ]

    /// True for an OCI `SCMP_ARCH_*` name.
    static func isKnownArchitecture(_ name: String) -> Bool { architectureNames.contains(name) }

    // MARK: - Building

    private static func build(_ policy: SeccompPolicy) throws(SeccompError) -> SeccompProgram {
        let defaultAction = try actionValue(policy.defaultAction, errno: policy.defaultErrnoRet, policy: policy)
        var context: UnsafeMutableRawPointer?
        try check(airlock_seccomp_new(defaultAction, &context), "seccomp_init")
        defer { airlock_seccomp_free(context) }

        for token in try architectureTokens(policy.architectures) {
            try check(airlock_seccomp_arch_add(context, token), "seccomp_arch_add")
        }

        let defaultPermits = policy.defaultAction == .allow || policy.defaultAction == .log
        for rule in policy.syscalls {
            let action = try actionValue(rule.action, errno: rule.errnoRet, policy: policy)
            // libseccomp refuses a rule whose action is the default one; it would change nothing.
            if action == defaultAction { continue }
            let comparisons = try comparisons(of: rule)
            for name in rule.names {
                guard let nr = resolve(name) else {
                    let ruleWidens = rule.action == .allow || rule.action == .log
                    if syscallsNewerThanLibseccomp.contains(name) && (ruleWidens || !defaultPermits) { continue }
                    throw SeccompError(
                        code: .unknownSyscall,
                        message:
                            "syscall \(name) is not known to libseccomp \(libseccompVersion); cannot apply \(rule.action.rawValue) to it"
                    )
                }
                for group in comparisons {
                    let rc = group.withUnsafeBufferPointer {
                        airlock_seccomp_rule_add(context, action, nr, UInt32($0.count), $0.baseAddress)
                    }
                    try check(rc, "seccomp_rule_add(\(name), \(rule.action.rawValue))")
                }
            }
        }

        var buffer: UnsafeMutablePointer<UInt8>?
        var length = 0
        try check(airlock_seccomp_export(context, &buffer, &length), "seccomp_export_bpf")
        defer { free(buffer) }
        guard let buffer else {
            throw SeccompError(code: .libseccomp, errno: EIO, message: "seccomp_export_bpf produced nothing")
        }
        return SeccompProgram(bytes: Array(UnsafeBufferPointer(start: buffer, count: length)))
    }

    /// The comparisons of `rule`, as one group or, when an argument index repeats (which
    /// libseccomp rejects within one rule), one group per comparison: OR semantics, as runc does.
    private static func comparisons(of rule: SeccompRule) throws(SeccompError) -> [[airlock_seccomp_cmp]] {
        var result: [airlock_seccomp_cmp] = []
        var seen = Set<UInt32>()
        var repeated = false
        for arg in rule.args {
            guard arg.index < 6 else {
                throw SeccompError(
                    code: .invalidRule,
                    message:
                        "argument index \(arg.index) in a rule for \(rule.names.joined(separator: ", ")) is out of range 0...5"
                )
            }
            if !seen.insert(arg.index).inserted { repeated = true }
            result.append(
                airlock_seccomp_cmp(arg: arg.index, op: opValue(arg.op), datum_a: arg.value, datum_b: arg.valueTwo))
        }
        if repeated { return result.map { [$0] } }
        return [result]
    }

    private static func opValue(_ op: SeccompOperator) -> UInt32 {
        switch op {
        case .notEqual: return UInt32(AIRLOCK_SECCOMP_CMP_NE.rawValue)
        case .lessThan: return UInt32(AIRLOCK_SECCOMP_CMP_LT.rawValue)
        case .lessOrEqual: return UInt32(AIRLOCK_SECCOMP_CMP_LE.rawValue)
        case .equal: return UInt32(AIRLOCK_SECCOMP_CMP_EQ.rawValue)
        case .greaterOrEqual: return UInt32(AIRLOCK_SECCOMP_CMP_GE.rawValue)
        case .greaterThan: return UInt32(AIRLOCK_SECCOMP_CMP_GT.rawValue)
        case .maskedEqual: return UInt32(AIRLOCK_SECCOMP_CMP_MASKED_EQ.rawValue)
        }
    }

    /// libseccomp's value for `action`. `SCMP_ACT_ERRNO` uses the rule's errno, else the
    /// policy's `defaultErrnoRet`, else EPERM; `SCMP_ACT_TRACE` uses the rule's errno as its
    /// message number.
    private static func actionValue(_ action: SeccompAction, errno: UInt32?, policy: SeccompPolicy) throws(SeccompError)
        -> UInt32
    {
        let kind: airlock_seccomp_action_kind
        var data: UInt32 = 0
        switch action {
        case .killThread, .killThreadExplicit: kind = AIRLOCK_SECCOMP_KILL_THREAD
        case .killProcess: kind = AIRLOCK_SECCOMP_KILL_PROCESS
        case .trap: kind = AIRLOCK_SECCOMP_TRAP
        case .errno:
            kind = AIRLOCK_SECCOMP_ERRNO
            data = errno ?? policy.defaultErrnoRet ?? UInt32(EPERM)
        case .trace:
            kind = AIRLOCK_SECCOMP_TRACE
            data = errno ?? policy.defaultErrnoRet ?? UInt32(EPERM)
        case .allow: kind = AIRLOCK_SECCOMP_ALLOW
        case .log: kind = AIRLOCK_SECCOMP_LOG
        case .notify:
            throw SeccompError(
                code: .unsupportedAction,
                message: "SCMP_ACT_NOTIFY is not supported: Airlock has no seccomp user-notification agent")
        }
        if data > 0xffff {
            throw SeccompError(code: .invalidRule, message: "errno/trace value \(data) does not fit in 16 bits")
        }
        return airlock_seccomp_action(Int32(kind.rawValue), data)
    }

    /// Tokens for the listed architectures that matter on this machine: the native one and its
    /// compat ABIs (x86 and x32 on x86_64, arm on aarch64). Others are ignored, as Docker does.
    private static func architectureTokens(_ names: [String]) throws(SeccompError) -> [UInt32] {
        let native = airlock_seccomp_arch_native()
        let relevant = Set([native] + compatArchitectures(of: native))
        var tokens: [UInt32] = []
        for name in names {
            guard isKnownArchitecture(name) else {
                throw SeccompError(code: .unknownArchitecture, message: "unknown architecture \(name)")
            }
            // 0: unknown to this libseccomp, so not this machine's architecture family either.
            let token = airlock_seccomp_arch_resolve(String(name.dropFirst(10)).lowercased())
            if token != 0 && relevant.contains(token) && !tokens.contains(token) { tokens.append(token) }
        }
        return tokens
    }

    private static func compatArchitectures(of native: UInt32) -> [UInt32] {
        switch native {
        case airlock_seccomp_arch_resolve("x86_64"):
            return [airlock_seccomp_arch_resolve("x86"), airlock_seccomp_arch_resolve("x32")]
        case airlock_seccomp_arch_resolve("aarch64"): return [airlock_seccomp_arch_resolve("arm")]
        default: return []
        }
    }

    static var libseccompVersion: String {
        let v = Int(airlock_seccomp_version())
        return "\(v / 10000).\(v / 100 % 100).\(v % 100)"
    }

    private static func check(_ rc: Int32, _ what: String) throws(SeccompError) {
        guard rc < 0 else { return }
        throw SeccompError(code: .libseccomp, errno: -rc, message: "\(what) failed")
    }
}

// MARK: - Hashable (cache keys)

extension SeccompPolicy: Hashable {
    public func hash(into hasher: inout Hasher) {
        hasher.combine(defaultAction)
        hasher.combine(defaultErrnoRet)
        hasher.combine(architectures)
        hasher.combine(flags)
        hasher.combine(syscalls)
    }
}

extension SeccompRule: Hashable {
    public func hash(into hasher: inout Hasher) {
        hasher.combine(names)
        hasher.combine(action)
        hasher.combine(errnoRet)
        hasher.combine(args)
    }
}

extension SeccompArg: Hashable {
    public func hash(into hasher: inout Hasher) {
        hasher.combine(index)
        hasher.combine(value)
        hasher.combine(valueTwo)
        hasher.combine(op)
    }
}
