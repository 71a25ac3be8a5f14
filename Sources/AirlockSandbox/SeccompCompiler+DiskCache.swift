#if canImport(Glibc)
import Glibc
#endif

/// Compiled filters kept on disk, so a short-lived `airlock exec` does not pay libseccomp's
/// compile (about 2 ms for the shipped profiles) on every start.
///
/// The cache is trusted exactly as far as the directory that holds it: it must belong to
/// this user and be writable by nobody else, and so must every entry; anything else is
/// ignored (and a filter is then compiled afresh). An entry's name is the SHA-256 of the
/// policy, libseccomp's version and the kernel release, so a change to any of them misses.
enum SeccompDiskCache {
    /// `$AIRLOCK_CACHE_DIR`, else `$XDG_CACHE_HOME/airlock`, else `$HOME/.cache/airlock`;
    /// nil when none is set. `AIRLOCK_CACHE_DIR=` (empty) turns the cache off.
    static let directory: String? = {
        if let raw = getenv("AIRLOCK_CACHE_DIR") {
            let value = String(cString: raw)
            return value.isEmpty ? nil : value + "/seccomp"
        }
        if let raw = getenv("XDG_CACHE_HOME"), raw.pointee != 0 { return String(cString: raw) + "/airlock/seccomp" }
        if let raw = getenv("HOME"), raw.pointee != 0 { return String(cString: raw) + "/.cache/airlock/seccomp" }
        return nil
    }()

    static func key(for policy: SeccompPolicy) -> String {
        // Bump the version whenever compile settings change (bad-arch action, NNP, TSYNC...).
        var text = "airlock-seccomp-cache-v1 badarch=kill-process nnp=0 tsync=0 optimize=2\nlibseccomp \(SeccompCompiler.libseccompVersion)\nkernel \(kernelRelease)\n"
        text += "\(policy.defaultAction.rawValue) \(policy.defaultErrnoRet.map(String.init) ?? "-")\n"
        text += "arch \(policy.architectures.joined(separator: ","))\nflags \(policy.flags.joined(separator: ","))\n"
        for rule in policy.syscalls {
            text += "\(rule.names.joined(separator: ",")) \(rule.action.rawValue) \(rule.errnoRet.map(String.init) ?? "-")"
            for arg in rule.args { text += " \(arg.index):\(arg.op.rawValue):\(arg.value):\(arg.valueTwo)" }
            text += "\n"
        }
        return SHA256Digest.hex(of: SHA256Digest.hash(Array(text.utf8)))
    }

    private static let kernelRelease: String = {
        var name = utsname()
        uname(&name)
        return withUnsafePointer(to: name.release) {
            $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) }
        }
    }()

    static func load(_ key: String, from dir: String? = directory) -> SeccompProgram? {
        guard let dir, isPrivate(dir, directory: true) else { return nil }
        let path = "\(dir)/\(key).bpf"
        guard isPrivate(path, directory: false), let bytes = Posix.readFile(path, limit: 1 << 20),
            !bytes.isEmpty, bytes.count % 8 == 0
        else { return nil }
        return SeccompProgram(bytes: bytes)
    }

    static func store(_ key: String, _ program: SeccompProgram, in dir: String? = directory) {
        guard let dir else { return }
        makeDirectories(dir)
        guard isPrivate(dir, directory: true) else { return }
        let temporary = "\(dir)/.\(key).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return }
        let written = program.bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        if written == program.bytes.count && synced {
            rename(temporary, "\(dir)/\(key).bpf")
        } else {
            unlink(temporary)
        }
    }

    /// Owned by this user, not a symlink, and not writable by group or others.
    private static func isPrivate(_ path: String, directory: Bool) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0 else { return false }
        let type = st.st_mode & S_IFMT
        guard type == (directory ? S_IFDIR : S_IFREG) else { return false }
        return st.st_uid == geteuid() && (st.st_mode & 0o022) == 0
    }

    private static func makeDirectories(_ path: String) {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST { return }
        }
    }
}
