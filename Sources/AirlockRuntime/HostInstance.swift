import AirlockJournal
import AirlockSandbox
import CAirlockSandbox
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// This host process as an owner of steps, and a way to tell whether other owners still live.
///
/// Each host holds an exclusive `flock` on `HOME/owners/ID.lock` for as long as it lives; the
/// kernel drops it when the process dies, however it dies. Another process that can take the
/// lock knows the owner is gone. (Past one machine, a shared store uses leases instead.)
public final class HostInstance: Sendable {
    public let id: String
    let directory: String
    private let lockFd: Int32

    public init(home: String) throws {
        directory = home + "/owners"
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw RuntimeError(.io, "cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        var hostname = [CChar](repeating: 0, count: 256)
        gethostname(&hostname, 255)
        let name = String(decoding: hostname.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }.prefix(32))
        id = "h-\(safe)-\(getpid())-\(RandomID.hex(bytes: 4))"
        // Locked under a temporary name, then renamed: a file named ID.lock is always locked
        // while its host lives, so a sweeper that can lock one knows its host is gone.
        let path = directory + "/" + id + ".lock"
        let temporary = directory + "/" + id + ".new"
        let fd = open(temporary, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RuntimeError(.io, "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0, rename(temporary, path) == 0 else {
            let err = errno
            close(fd)
            unlink(temporary)
            throw RuntimeError(.io, "cannot lock \(path): \(String(cString: strerror(err)))")
        }
        lockFd = fd
        sweep()
    }

    /// Removes the lock files of hosts that are gone (a CLI process exits without cleaning up).
    private func sweep() {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasSuffix(".lock") else { continue }
            let owner = String(name.dropLast(5))
            if owner != id { _ = isAlive(owner) }
        }
    }

    deinit {
        unlink(directory + "/" + id + ".lock")
        close(lockFd)
    }

    /// Whether `owner` is a live host: this one, or one that still holds its lock.
    public func isAlive(_ owner: String?) -> Bool {
        guard let owner else { return false }
        if owner == id { return true }
        guard !owner.contains("/"), !owner.isEmpty else { return false }
        let path = directory + "/" + owner + ".lock"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        // No file: its host is gone and a sweep removed it. Any other failure to look (no
        // descriptors left, permissions) proves nothing, and a live owner wrongly taken for
        // dead could see its step run twice: only a lock this process takes means "dead".
        if fd < 0 { return errno != ENOENT }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            // Its owner is gone; the file is litter.
            flock(fd, LOCK_UN)
            unlink(path)
            return false
        }
        return true
    }
}

/// Random identifiers from the kernel's generator.
enum RandomID {
    static func hex(bytes count: Int) -> String {
        var bytes = [UInt8](repeating: 0, count: count)
        let err = bytes.withUnsafeMutableBytes { airlock_random($0.baseAddress, count) }
        precondition(err == 0, "getrandom failed: \(err)")
        return SHA256Digest.hex(of: bytes)
    }

    /// A uniform double in [0, 1).
    static func unit() -> Double {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { airlock_random($0.baseAddress, 8) }
        return Double(value >> 11) / Double(1 << 53)
    }
}

/// Milliseconds since the epoch.
func nowMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Test hook: `AIRLOCK_TEST_CRASH_AT=point` makes the host SIGKILL itself at that point, so the
/// crash-consistency tests can stop it exactly between two commits.
enum CrashPoint: String {
    case beforeIntent = "before-intent"
    case afterIntent = "after-intent"
    case afterChild = "after-child"
    case afterReceipt = "after-receipt"

    static let armed: String? = {
        guard let value = getenv("AIRLOCK_TEST_CRASH_AT") else { return nil }
        return String(cString: value)
    }()

    func hit() {
        if CrashPoint.armed == rawValue { kill(getpid(), SIGKILL) }
    }
}

/// A runtime failure, mapped once to exit codes and protocol errors at the edge.
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case usage
        case notFound = "not_found"
        case invalidState = "invalid_state"
        case badRecord = "bad_record"
        case io
        /// The input does not match the tool's input schema (nothing was journaled or run).
        case invalidInput = "invalid_input"
        /// A registered tool's executable or pinned file changed since `tools add`.
        case untrusted
    }
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
