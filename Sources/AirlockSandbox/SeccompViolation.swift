#if canImport(Glibc)
import Glibc
#endif

/// Finds which syscall a seccomp filter killed a process for.
///
/// The kernel logs every `SECCOMP_RET_KILL_*` as an audit record (type 1326) naming the host
/// pid and the syscall number; without auditd it lands in the kernel log. Reading it needs
/// access to `/dev/kmsg` (root, or `dmesg_restrict=0`), so the answer is best effort: nil
/// when the record cannot be read.
enum SeccompViolation {
    static func find(hostPid: pid_t) -> String? {
        let fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let needle = " pid=\(hostPid) "
        var found: Int32?
        var buffer = [UInt8](repeating: 0, count: 8192)
        // /dev/kmsg yields one record per read, oldest first; keep the last match.
        for _ in 0..<100_000 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EPIPE { continue }  // a record was overwritten while reading
                break
            }
            if n == 0 { break }
            let line = String(decoding: buffer[0..<n], as: UTF8.self)
            guard line.contains("type=1326"), line.contains(needle) else { continue }
            for field in line.split(separator: " ") where field.hasPrefix("syscall=") {
                if let number = Int32(field.dropFirst(8).prefix { $0.isNumber }) { found = number }
            }
        }
        guard let number = found else { return nil }
        return SeccompCompiler.syscallName(number) ?? "syscall \(number)"
    }
}
