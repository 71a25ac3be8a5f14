import AirlockCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Finding a tool's executable and pinning its content.
public enum Executable {
    /// The path `argv0` names: itself when it has a slash, else the first executable match in `PATH`.
    public static func resolve(_ argv0: String, environment: [String: String]) throws -> String {
        if argv0.contains("/") {
            guard access(argv0, X_OK) == 0 else {
                throw RuntimeError(.notFound, "\(argv0): \(String(cString: strerror(errno)))")
            }
            return argv0
        }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = directory + "/" + argv0
            var st = stat()
            if stat(candidate, &st) == 0, st.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        throw RuntimeError(.notFound, "\(argv0): command not found in PATH")
    }

    /// Digests already taken by this process, by file identity.
    static let cache = Mutex<[FileIdentity: String]>([:])

    /// SHA-256 (hex) of the file's content. Re-read only when the file's identity (device,
    /// inode, size, mtime, ctime) changed since this process last hashed it.
    public static func digest(path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RuntimeError(.notFound, "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard let identity = FileIdentity(descriptor: fd) else {
            throw RuntimeError(.io, "cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        if let known = cache.withLock({ $0[identity] }) { return known }
        let digest = try hash(fd: fd, path: path)
        cache.withLock { $0[identity] = digest }
        return digest
    }

    private static func hash(fd: Int32, path: String) throws -> String {
        var hasher = SHA256Digest()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw RuntimeError(.io, "cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return SHA256Digest.hex(of: hasher.finalize())
    }
}
