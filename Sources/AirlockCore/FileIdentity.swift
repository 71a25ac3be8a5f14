#if canImport(Glibc)
import Glibc
#endif

/// What identifies a file's content without reading it: device, inode, size, mtime and ctime
/// (any write changes the ctime). Caches keyed by it reuse work while a file is unchanged.
public struct FileIdentity: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var mtime: Int64
    public var mtimeNanoseconds: Int64
    public var ctime: Int64
    public var ctimeNanoseconds: Int64

    public init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        mtime = Int64(info.st_mtim.tv_sec)
        mtimeNanoseconds = Int64(info.st_mtim.tv_nsec)
        ctime = Int64(info.st_ctim.tv_sec)
        ctimeNanoseconds = Int64(info.st_ctim.tv_nsec)
    }

    /// The identity of the file at `path`, or nil when it cannot be stat'ed.
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(info)
    }

    /// The identity of an open file, or nil when it cannot be stat'ed.
    public init?(descriptor: Int32) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        self.init(info)
    }
}
