#if canImport(Glibc)
import Glibc
#endif
import CAirlockSandbox

/// What this kernel and this user allow, layer by layer (`airlock doctor`).
public struct LayerStatus: Sendable, Equatable {
    public var layer: String
    public var available: Bool
    /// What was found (a version, a path) or why it is missing.
    public var detail: String
}

public enum Doctor {
    /// Probes every confinement layer. Namespace probes clone and reap a tiny child each.
    public static func check() -> [LayerStatus] {
        let facts = HostFacts.shared
        var result: [LayerStatus] = []

        let seccomp = airlock_probe_seccomp()
        result.append(LayerStatus(
            layer: "seccomp", available: seccomp == 0,
            detail: seccomp == 0 ? "filter mode with SECCOMP_RET_KILL_PROCESS" : Posix.describe(errno: seccomp)))

        let abi = facts.landlockABI
        result.append(LayerStatus(
            layer: "landlock", available: abi > 0,
            detail: abi > 0 ? "ABI \(abi)" + (abi >= 4 ? ", TCP rules" : "") + (abi >= 6 ? ", signal and abstract-socket scoping" : "")
                + "; connect() to path-bound unix sockets is not covered (network none removes socket())"
                : "not enabled in this kernel (needs Linux 5.13+ with landlock in the LSM list)"))

        let nnp = airlock_probe_no_new_privs()
        result.append(LayerStatus(
            layer: "no_new_privs", available: nnp == 0, detail: nnp == 0 ? "prctl(PR_SET_NO_NEW_PRIVS)" : Posix.describe(errno: nnp)))

        let userFlag: UInt = facts.isRoot ? 0 : UInt(AIRLOCK_CLONE_NEWUSER)
        let namespaces: [(String, UInt)] = [
            ("user_namespace", UInt(AIRLOCK_CLONE_NEWUSER)), ("pid_namespace", UInt(AIRLOCK_CLONE_NEWPID)),
            ("network_namespace", UInt(AIRLOCK_CLONE_NEWNET)), ("mount_namespace", UInt(AIRLOCK_CLONE_NEWNS)),
            ("ipc_namespace", UInt(AIRLOCK_CLONE_NEWIPC)), ("uts_namespace", UInt(AIRLOCK_CLONE_NEWUTS)),
        ]
        for (name, flag) in namespaces {
            let err = airlock_probe_clone(flag | userFlag)
            result.append(LayerStatus(
                layer: name, available: err == 0,
                detail: err == 0 ? "clone(\(name.replacingUnderscores())) works for uid \(facts.uid)" : Posix.describe(errno: err)))
        }

        let cgroups = CgroupHost.shared
        result.append(LayerStatus(
            layer: "cgroup_memory", available: cgroups.memoryParent != nil,
            detail: cgroups.memoryParent.map { "cgroup \(cgroups.version?.rawValue ?? "") at \($0)" }
                ?? "\(cgroups.memoryProblem ?? "unavailable"); falling back to RLIMIT_AS"))
        result.append(LayerStatus(
            layer: "cgroup_pids", available: cgroups.pidsParent != nil,
            detail: cgroups.pidsParent.map { "cgroup \(cgroups.version?.rawValue ?? "") at \($0)" }
                ?? "\(cgroups.pidsProblem ?? "unavailable"); falling back to RLIMIT_NPROC"))

        // open(), not access(): dmesg_restrict is enforced at open time, not by the mode bits.
        let kmsgFd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        let kmsg = kmsgFd >= 0
        if kmsgFd >= 0 { close(kmsgFd) }
        result.append(LayerStatus(
            layer: "violation_names", available: kmsg,
            detail: kmsg ? "seccomp kill records readable in /dev/kmsg" : "cannot read /dev/kmsg: blocked syscalls are reported without a name"))

        result.append(LayerStatus(
            layer: "privilege_drop", available: true,
            detail: facts.isRoot ? "host is root: tools run as an unprivileged user (profile runAs, default nobody)"
                : "host is uid \(facts.uid): tools run as that uid mapped in a user namespace"))
        return result
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? " " : $0 })
    }
}
