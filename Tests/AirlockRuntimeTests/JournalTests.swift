import AirlockJournal
import AirlockRuntime
import AirlockSandbox
import GRDB
import Glibc
import Synchronization
import Testing

@testable import AirlockJournal

/// The SQLite journal: its file, its modes, group commit, and the audit chain under tampering.
@Suite struct JournalTests {
    /// A journal with `count` finished steps written through the runtime's audit path.
    func populated(_ ws: RuntimeWorkspace, steps count: Int) async throws -> Runtime {
        let runtime = try ws.runtime()
        let tool = try ws.tool("echo", .readOnly, "echo ok")
        for i in 0..<count {
            _ = try await runtime.call(CallRequest(tool: tool, input: ["i": .number(JSONNumber(i))], key: "k\(i)"))
        }
        return runtime
    }

    func tamper(_ runtime: Runtime, _ sql: String) throws {
        let journal = try #require(runtime.journal as? SQLiteJournal)
        try journal.database.writeWithoutTransaction { db in try db.execute(sql: sql) }
    }

    func auditEntryText(_ runtime: Runtime, seq: Int) throws -> String? {
        let journal = try #require(runtime.journal as? SQLiteJournal)
        return try journal.database.read { db in try String.fetchOne(db, sql: "SELECT entry FROM audit WHERE seq = ?", arguments: [seq]) }
    }

    // MARK: - The file

    @Test func journalIsCreated0600InA0700HomeAndReopens() async throws {
        let ws = try RuntimeWorkspace()
        _ = try await populated(ws, steps: 1)
        var st = stat()
        #expect(stat(ws.home + "/journal.db", &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(stat(ws.home, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o700)
        let again = try SQLiteJournal(path: ws.home + "/journal.db", create: false)
        #expect(try again.steps(StepFilter()).count == 1)
        #expect(try again.verifyAudit().ok)
    }

    @Test func durabilityModesSetSynchronous() throws {
        let ws = try RuntimeWorkspace()
        for (mode, expected) in [(Durability.process, 1), (.power, 2)] {
            let journal = try SQLiteJournal(path: ws.path + "/\(mode.rawValue).db", durability: mode)
            let synchronous = try journal.database.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") }
            let journalMode = try journal.database.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
            #expect(synchronous == expected, "\(mode)")
            #expect(journalMode == "wal")
        }
    }

    @Test func damagedJournalsAreRefusedNeverReset() throws {
        let ws = try RuntimeWorkspace()
        let path = ws.path + "/journal.db"
        do {
            let journal = try SQLiteJournal(path: path)
            for i in 0..<200 {
                _ = try journal.writeBlocking { tx in
                    try tx.appendAudit(kind: "test", at: Int64(i), event: ["pad": .string(String(repeating: "x", count: 500))])
                }
            }
            // Everything in the journal file itself (no WAL left to recover pages from).
            try journal.close()
        }
        #expect(access(path + "-wal", F_OK) != 0)
        func expectRefused(_ label: String, _ contains: String) {
            var before = stat()
            stat(path, &before)
            do {
                let journal = try SQLiteJournal(path: path)
                _ = try journal.verifyAudit()
                Issue.record("\(label): the damaged journal was accepted")
            } catch let error as JournalError {
                #expect(error.code == .corrupt, "\(label): \(error)")
                #expect(error.message.contains(contains), "\(label): \(error.message)")
            } catch {
                Issue.record("\(label): unexpected error \(error)")
            }
            var after = stat()
            stat(path, &after)
            #expect(after.st_size == before.st_size, "\(label): the file was changed (\(before.st_size) -> \(after.st_size) bytes)")
        }
        var full = stat()
        #expect(stat(path, &full) == 0)
        let good = Int(full.st_size)
        #expect(good > 65536, "the journal holds 200 entries of 500 bytes: \(good) bytes")
        // Truncated to half.
        #expect(truncate(path, off_t(good / 2)) == 0)
        expectRefused("truncated", "truncated")
        // Truncated to nothing.
        #expect(truncate(path, 0) == 0)
        expectRefused("empty", "empty")
        // Garbage where the header was.
        ws.write(path, String(repeating: "garbage!", count: 1000))
        expectRefused("garbage", "not a SQLite database")
        // A SQLite database that is not a journal.
        unlink(path)
        let foreign = try DatabaseQueue(path: path)
        try foreign.write { try $0.execute(sql: "CREATE TABLE t (x); INSERT INTO t VALUES (1)") }
        try foreign.close()
        expectRefused("foreign", "not an Airlock journal")
        // And no journal at all is "not found" when not asked to create one.
        #expect(throws: JournalError.self) { _ = try SQLiteJournal(path: ws.path + "/none.db", create: false) }
    }

    @Test func corruptPagesInsideTheFileAreAClearError() async throws {
        let ws = try RuntimeWorkspace()
        _ = try await populated(ws, steps: 30)
        let path = ws.home + "/journal.db"
        // Overwrite every page after the first two with garbage (the file keeps its size).
        let fd = open(path, O_WRONLY)
        var st = stat()
        fstat(fd, &st)
        let garbage = [UInt8](repeating: 0xA5, count: Int(st.st_size) - 8192)
        _ = garbage.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 8192) }
        close(fd)
        do {
            let journal = try SQLiteJournal(path: path)
            _ = try journal.steps(StepFilter())
            _ = try journal.verifyAudit()
            Issue.record("a journal with garbage pages was read without an error")
        } catch let error as JournalError {
            #expect(error.code == .corrupt, "\(error)")
            #expect(error.message.contains("damaged") || error.message.contains("not an Airlock journal"), "\(error.message)")
        }
    }

    // MARK: - Group commit

    @Test func concurrentWritersShareCommitsAndKeepTheirOwnOutcome() async throws {
        let ws = try RuntimeWorkspace()
        let journal = try SQLiteJournal(path: ws.path + "/journal.db", durability: .power)
        struct Refused: Error {}
        let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for i in 0..<64 {
                group.addTask {
                    do {
                        try await journal.write { tx in
                            try tx.touchRun(id: "run-\(i)", at: Int64(i))
                            if i % 2 == 1 { throw Refused() }
                        }
                        return (i, true)
                    } catch is Refused {
                        return (i, false)
                    }
                }
            }
            var all: [Int: Bool] = [:]
            for try await (i, ok) in group { all[i] = ok }
            return all
        }
        #expect(outcomes.count == 64)
        #expect(outcomes.allSatisfy { $0.value == ($0.key % 2 == 0) })
        // The refused writers' changes were rolled back; the others' are there.
        let runs = Set(try journal.runs(limit: nil).map(\.id))
        #expect(runs == Set((0..<64).filter { $0 % 2 == 0 }.map { "run-\($0)" }))
        #expect(journal.commitsSoFar >= 1 && journal.commitsSoFar <= 64)
    }

    // MARK: - Audit chain

    @Test func auditVerifyNamesTheFirstEditedDeletedOrReorderedEntry() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try await populated(ws, steps: 4)
        let clean = try runtime.journal.verifyAudit()
        #expect(clean.ok)
        #expect(clean.entries == 8)

        // Edited (content changed, hash left alone).
        try tamper(runtime, "UPDATE audit SET entry = replace(entry, '\"kind\":\"intent\"', '\"kind\":\"intenT\"') WHERE seq = 3")
        var result = try runtime.journal.verifyAudit()
        #expect(result.firstBad?.seq == 3, "\(String(describing: result.firstBad))")
        #expect(result.firstBad?.problem.contains("edited") == true)
        try tamper(runtime, "UPDATE audit SET entry = replace(entry, '\"kind\":\"intenT\"', '\"kind\":\"intent\"') WHERE seq = 3")
        #expect(try runtime.journal.verifyAudit().ok)

        // Edited with its hash recomputed: the next entry no longer follows it.
        let entry3 = try #require(try auditEntryText(runtime, seq: 3))
        let forged = entry3.replacingOccurrences("\"effect\":\"read-only\"", "\"effect\":\"idempotent\"")
        #expect(forged != entry3)
        try tamper(runtime, "UPDATE audit SET entry = '\(forged)', hash = '\(AuditChain.sha256(forged))' WHERE seq = 3")
        result = try runtime.journal.verifyAudit()
        #expect(result.firstBad?.seq == 4, "\(String(describing: result.firstBad))")
        #expect(result.firstBad?.problem.contains("chain is broken") == true)
    }

    @Test func auditVerifyCatchesDeletionReorderingAndATruncatedTail() async throws {
        do {
            let ws = try RuntimeWorkspace()
            let runtime = try await populated(ws, steps: 3)
            try tamper(runtime, "DELETE FROM audit WHERE seq = 2")
            let result = try runtime.journal.verifyAudit()
            #expect(result.firstBad?.seq == 2, "\(String(describing: result.firstBad))")
            #expect(result.firstBad?.problem.contains("missing") == true)
        }
        do {
            let ws = try RuntimeWorkspace()
            let runtime = try await populated(ws, steps: 3)
            // Swap entries 4 and 5 (content and hash travel together).
            try tamper(runtime, """
                UPDATE audit SET seq = -4 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 5; UPDATE audit SET seq = 5 WHERE seq = -4;
                """)
            let result = try runtime.journal.verifyAudit()
            #expect(result.firstBad?.seq == 4, "\(String(describing: result.firstBad))")
        }
        do {
            let ws = try RuntimeWorkspace()
            let runtime = try await populated(ws, steps: 3)
            try tamper(runtime, "DELETE FROM audit WHERE seq = 6")
            let result = try runtime.journal.verifyAudit()
            #expect(result.firstBad?.seq == 6, "\(String(describing: result.firstBad))")
        }
    }

    @Test func anEditedReceiptBreaksItsAuditLink() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try await populated(ws, steps: 2)
        try tamper(runtime, "UPDATE attempts SET receipt = replace(receipt, '\"exitCode\":0', '\"exitCode\":1') WHERE attempt = 1 AND step_id = (SELECT step_id FROM attempts LIMIT 1)")
        let result = try runtime.journal.verifyAudit()
        #expect(result.firstBad != nil)
        #expect(result.firstBad?.problem.contains("receipt") == true, "\(String(describing: result.firstBad))")
    }

    @Test func exportedLinesVerifyWithAnIndependentImplementation() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try await populated(ws, steps: 5)
        var lines = ""
        try runtime.journal.forEachAuditEntry { lines += try AuditChain.exportLine($0) + "\n" }
        let file = ws.path + "/audit.jsonl"
        ws.write(file, lines)
        // Python's json with sorted keys and no spaces is RFC 8785 for these entries (integers,
        // ASCII keys): recompute every hash and link independently of Airlock's code.
        let script = ws.path + "/verify.py"
        ws.write(script, """
            import hashlib, json, sys
            prev = "0" * 64
            n = 0
            for line in open(sys.argv[1]):
                entry = json.loads(line)
                digest = entry.pop("hash")
                text = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                assert hashlib.sha256(text.encode()).hexdigest() == digest, "hash of %d" % entry["seq"]
                assert entry["prev"] == prev, "link of %d" % entry["seq"]
                n += 1
                assert entry["seq"] == n
                prev = digest
            print(n)
            """)
        let status = system("python3 '\(script)' '\(file)' > '\(ws.path)/out.txt' 2>&1")
        #expect(status == 0, "\(ws.read(ws.path + "/out.txt") ?? "")")
        #expect(ws.read(ws.path + "/out.txt") == "10\n")
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
