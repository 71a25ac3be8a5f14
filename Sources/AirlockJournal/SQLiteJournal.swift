import AirlockCore
import Dispatch
import GRDB
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The embedded journal: one SQLite file in WAL mode, written through a group committer.
///
/// A new journal is built beside its final path and renamed into place, so a file at the path
/// is always a complete journal; an empty, truncated or foreign file is an error, never reset.
public final class SQLiteJournal: JournalStore {
    public let path: String
    public let durability: Durability
    let database: DatabaseQueue
    private let committer: GroupCommitter

    /// The schema this build writes; older journals are migrated forward on open.
    static let format = "airlock-journal"

    /// Opens the journal at `path`, creating it (mode 0600) when `create` and it does not exist.
    public init(path: String, durability: Durability = .process, create: Bool = true) throws {
        self.path = path
        self.durability = durability
        var st = stat()
        if stat(path, &st) != 0 {
            let err = errno
            guard err == ENOENT else {
                throw JournalError(.cannotOpen, "cannot open the journal \(path): \(String(cString: strerror(err)))")
            }
            guard create else { throw JournalError(.notFound, "no journal at \(path)") }
            try Self.createJournal(at: path)
        } else {
            try Self.checkHeader(path: path, size: Int64(st.st_size))
        }
        let database: DatabaseQueue
        do {
            // Look before writing anything: switching a foreign database to WAL would change it.
            var inspect = Configuration()
            inspect.readonly = true
            inspect.busyMode = .timeout(30)
            let inspector = try DatabaseQueue(path: path, configuration: inspect)
            let migrator = Self.migrator
            try inspector.read { db in
                guard try db.tableExists("meta"),
                    try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'format'") == Self.format
                else {
                    throw JournalError(.corrupt, "\(path) is a SQLite database but not an Airlock journal; refusing to touch it")
                }
                if try migrator.hasBeenSuperseded(db) {
                    throw JournalError(.tooNew, "the journal \(path) was written by a newer Airlock; upgrade before using it")
                }
            }
            try inspector.close()
            database = try DatabaseQueue(path: path, configuration: Self.configuration(durability))
            if try database.read({ try !migrator.hasCompletedMigrations($0) }) {
                try migrator.migrate(database)
            }
            // After GRDB's own WAL set-up, which chooses NORMAL: the one connection keeps it.
            let synchronous = durability == .power ? "FULL" : "NORMAL"
            try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        } catch {
            throw Self.mapped(error, path: path)
        }
        self.database = database
        self.committer = GroupCommitter(database: database)
    }

    static func configuration(_ durability: Durability) -> Configuration {
        var config = Configuration()
        config.journalMode = .wal
        // Other hosts' processes share the file: wait for their commits instead of failing.
        config.busyMode = .timeout(30)
        config.label = "airlock.journal"
        return config
    }

    // MARK: - Creating and checking the file

    /// Builds a fresh journal at a temporary path, migrates it, and renames it into place.
    private static func createJournal(at path: String) throws {
        let temporary = path + ".new-\(getpid())"
        unlink(temporary)
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw JournalError(.cannotOpen, "cannot create the journal \(path): \(String(cString: strerror(errno)))")
        }
        Glibc.close(fd)
        do {
            var config = configuration(.power)
            config.journalMode = .default
            let queue = try DatabaseQueue(path: temporary, configuration: config)
            try migrator.migrate(queue)
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            try queue.close()
        } catch {
            unlink(temporary)
            unlink(temporary + "-wal")
            unlink(temporary + "-shm")
            throw mapped(error, path: path)
        }
        unlink(temporary + "-wal")
        unlink(temporary + "-shm")
        // link() fails if another process created the journal meanwhile: theirs wins.
        if link(temporary, path) != 0 && errno != EEXIST {
            let err = errno
            unlink(temporary)
            throw JournalError(.cannotOpen, "cannot create the journal \(path): \(String(cString: strerror(err)))")
        }
        unlink(temporary)
        syncDirectory(of: path)
    }

    /// Refuses files that cannot be a whole journal before SQLite sees them.
    private static func checkHeader(path: String, size: Int64) throws {
        if size == 0 {
            throw JournalError(.corrupt, "the journal \(path) is empty (truncated?); refusing to start over: move it aside or restore it from a backup")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw JournalError(.cannotOpen, "cannot open the journal \(path): \(String(cString: strerror(errno)))")
        }
        defer { Glibc.close(fd) }
        var header = [UInt8](repeating: 0, count: 100)
        let n = header.withUnsafeMutableBytes { read(fd, $0.baseAddress, 100) }
        let magic = Array("SQLite format 3".utf8) + [0]
        guard n == 100, Array(header[0..<16]) == magic else {
            throw JournalError(.corrupt, "the journal \(path) is not a SQLite database (damaged or not a journal); refusing to touch it")
        }
        var pageSize = Int64(header[16]) << 8 | Int64(header[17])
        if pageSize == 1 { pageSize = 65536 }
        let pages = Int64(header[28]) << 24 | Int64(header[29]) << 16 | Int64(header[30]) << 8 | Int64(header[31])
        guard pageSize >= 512, pages > 0, size < pages * pageSize else { return }
        // Shorter than its header says. A checkpoint writes page 1 (the new size) before the
        // pages after it, so a host killed mid-checkpoint leaves such a file with the missing
        // pages in the WAL; SQLite finishes the checkpoint. Real truncation has no such pages.
        // Tell them apart without writing: a read-only connection cannot checkpoint.
        var wal = stat()
        let truncated = JournalError(.corrupt, "the journal \(path) is truncated (\(size) bytes, its header says \(pages * pageSize)); restore it from a backup")
        guard stat(path + "-wal", &wal) == 0, wal.st_size > 0 else { throw truncated }
        do {
            var config = Configuration()
            config.readonly = true
            config.busyMode = .timeout(30)
            let inspector = try DatabaseQueue(path: path, configuration: config)
            let verdict = try inspector.read { db in try String.fetchOne(db, sql: "PRAGMA quick_check") }
            try inspector.close()
            if verdict != "ok" { throw truncated }
        } catch {
            throw truncated
        }
    }

    private static func syncDirectory(of path: String) {
        var directory = path
        if let slash = directory.lastIndex(of: "/") {
            directory = String(directory[..<slash])
            if directory.isEmpty { directory = "/" }
        } else {
            directory = "."
        }
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            Glibc.close(fd)
        }
    }

    /// Turns SQLite's errors into journal errors that say what to do.
    static func mapped(_ error: any Error, path: String) -> any Error {
        if error is JournalError { return error }
        guard let error = error as? DatabaseError else { return error }
        let code = error.resultCode
        let detail = error.message ?? "\(error)"
        // A short read is a page the file should have and does not: damage, not an I/O hiccup.
        let damaged = code == .SQLITE_IOERR_SHORT_READ
        switch code.primaryResultCode {
        case _ where damaged, .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return JournalError(.corrupt, "the journal \(path) is damaged (\(detail)); refusing to continue: restore it from a backup or move it aside", sqliteCode: code.rawValue)
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_AUTH:
            return JournalError(.cannotOpen, "cannot open the journal \(path): \(detail)", sqliteCode: code.rawValue)
        default:
            return JournalError(.io, "journal \(path): \(detail)", sqliteCode: code.rawValue)
        }
    }

    /// Runs a read, mapping SQLite's errors.
    func reading<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try database.read(body)
        } catch {
            throw Self.mapped(error, path: path)
        }
    }

    // MARK: - Writes

    public func write<T: Sendable>(_ body: @escaping @Sendable (any JournalTransaction) throws -> T) async throws -> T {
        let path = self.path
        return try await withCheckedThrowingContinuation { continuation in
            committer.submit({ db in try body(SQLiteTransaction(db: db)) }) { result in
                continuation.resume(with: result.mapError { Self.mapped($0, path: path) })
            }
        }
    }

    public func writeBlocking<T: Sendable>(_ body: @escaping @Sendable (any JournalTransaction) throws -> T) throws -> T {
        let box = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        committer.submit({ db in try body(SQLiteTransaction(db: db)) }) { result in
            box.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        let result = box.withLock { $0 }!
        return try result.mapError { Self.mapped($0, path: path) }.get()
    }

    /// Checkpoints the WAL into the journal file and closes it; later calls fail.
    public func close() throws {
        do {
            try database.close()
        } catch {
            throw Self.mapped(error, path: path)
        }
    }

    /// Commits written so far (and batches shared with other callers).
    public var commitsSoFar: Int { committer.commits }
}

// MARK: - Group commit

/// One writer's outcome, filled in on the commit queue and read after the batch commits.
private final class Outcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// Collects concurrent writes and commits them together: one transaction, one fsync, each
/// write in its own savepoint so that one writer's error rolls back only its own changes.
final class GroupCommitter: Sendable {
    private struct Item: @unchecked Sendable {
        /// Runs the writer's body inside its savepoint and keeps its outcome.
        let run: (Database) -> Void
        /// Delivers the outcome once the batch is durable (or the commit's error).
        let finish: (Error?) -> Void
    }

    private let database: DatabaseQueue
    private let queue = DispatchQueue(label: "airlock.journal.group-commit")
    private let pending = Mutex<[Item]>([])
    private let commitCount = Atomic<Int>(0)

    init(database: DatabaseQueue) {
        self.database = database
    }

    var commits: Int { commitCount.load(ordering: .relaxed) }

    func submit<T>(_ body: @escaping (Database) throws -> T, completion: @escaping (Result<T, any Error>) -> Void) {
        let outcome = Outcome<T>()
        let item = Item(
            run: { db in
                do {
                    try db.inSavepoint {
                        outcome.result = .success(try body(db))
                        return .commit
                    }
                } catch {
                    outcome.result = .failure(error)
                }
            },
            finish: { commitError in
                if let commitError, case .success = outcome.result {
                    completion(.failure(commitError))
                } else {
                    completion(outcome.result ?? .failure(commitError ?? JournalError(.io, "write was not run")))
                }
            })
        pending.withLock { $0.append(item) }
        queue.async { self.drain() }
    }

    private func drain() {
        let batch = pending.withLock { items -> [Item] in
            let taken = items
            items.removeAll(keepingCapacity: true)
            return taken
        }
        if batch.isEmpty { return }
        do {
            try database.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    for item in batch { item.run(db) }
                    return .commit
                }
            }
            commitCount.add(1, ordering: .relaxed)
            for item in batch { item.finish(nil) }
        } catch {
            for item in batch { item.finish(error) }
        }
    }
}
