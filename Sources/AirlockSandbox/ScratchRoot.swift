#if canImport(Glibc)
import Glibc
#endif

/// Where per-call scratch directories are made: `/tmp/airlock-UID`, owned by this user,
/// mode 0711 (tools may pass through to their own directory, not list the others).
///
/// A scratch directory is named after the host process (`PID-XXXXXX`). A host killed with
/// SIGKILL cannot remove its own, so the first call of every host process removes those
/// whose process is gone. Their contents were a tmpfs of the tool's mount namespace, so
/// what is left is an empty directory.
enum ScratchRoot {
    /// Nil when the directory cannot be made or is not this user's own (someone planted a
    /// directory or a symlink in /tmp): calls that need scratch space then fail closed.
    static let path: String? = {
        let root = "/tmp/airlock-\(geteuid())"
        if mkdir(root, 0o711) != 0 && errno != EEXIST { return nil }
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_uid == geteuid() else { return nil }
        if (st.st_mode & 0o7777) != 0o711 { fchmod(fd, 0o711) }
        sweep(root)
        return root
    }()

    private static func sweep(_ root: String) {
        guard let dir = opendir(root) else { return }
        var stale: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard let dash = name.firstIndex(of: "-"), let pid = Int32(name[..<dash]) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH { stale.append(name) }
        }
        closedir(dir)
        for name in stale { Posix.removeTree("\(root)/\(name)") }
    }
}
