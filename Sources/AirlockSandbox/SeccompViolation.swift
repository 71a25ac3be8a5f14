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
    /// AUDIT_ARCH_* of this build, as the kernel prints it.
    #if arch(x86_64)
    static let nativeAuditArch = "c000003e"
    #elseif arch(arm64)
    static let nativeAuditArch = "c00000b7"
    #else
    static let nativeAuditArch = ""
    #endif

    /// The kernel's audit thread prints the record after the kill, asynchronously: on a busy
    /// machine it can come after the child is reaped, so a miss is retried for up to ~0.5 s
    /// (paid only by a run that seccomp killed and whose record is late).
    static func find(hostPid: pid_t) -> String? {
        for attempt in 0..<25 {
            if attempt > 0 { usleep(20_000) }
            switch scan(hostPid: hostPid) {
            case .found(let name): return name
            case .unreadable: return nil
            case .absent: continue
            }
        }
        return nil
    }

    private enum Scan { case found(String), absent, unreadable }

    private static func scan(hostPid: pid_t) -> Scan {
        let fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return .unreadable }
        defer { close(fd) }
        let needle = " pid=\(hostPid) "
        var found: Int32?
        var foreignArch: String?
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
            var arch: String?
            var number: Int32?
            for field in line.split(separator: " ") {
                if field.hasPrefix("syscall=") { number = Int32(field.dropFirst(8).prefix { $0.isNumber }) }
                if field.hasPrefix("arch=") { arch = String(field.dropFirst(5)) }
            }
            if let number {
                found = number
                // Numbers are per ABI: an int 0x80 or x32 call must not be named as a native one.
                foreignArch = arch.flatMap { $0 == nativeAuditArch ? nil : $0 }
            }
        }
        guard let number = found else { return .absent }
        if let foreignArch { return .found("syscall \(number) (audit arch \(foreignArch))") }
        return .found(SeccompCompiler.syscallName(number) ?? "syscall \(number)")
    }
}
