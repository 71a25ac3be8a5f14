import AirlockCore
import GRDB

extension SQLiteJournal {
    /// The journal's migrations, applied in order on open; never edit one that has shipped.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                    INSERT INTO meta (key, value) VALUES ('format', '\(format)');
                    INSERT INTO meta (key, value) VALUES ('audit_head_seq', '0');
                    INSERT INTO meta (key, value) VALUES ('audit_head_hash', '\(AuditChain.genesis)');
                    CREATE TABLE runs (
                        id TEXT PRIMARY KEY NOT NULL,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    CREATE TABLE steps (
                        id TEXT PRIMARY KEY NOT NULL,
                        run_id TEXT NOT NULL REFERENCES runs(id),
                        idem_key TEXT NOT NULL UNIQUE,
                        tool TEXT NOT NULL,
                        tool_version TEXT NOT NULL,
                        tool_digest TEXT NOT NULL,
                        effect TEXT NOT NULL,
                        input TEXT NOT NULL,
                        fingerprint TEXT NOT NULL,
                        spec TEXT NOT NULL,
                        state TEXT NOT NULL,
                        attempt INTEGER NOT NULL,
                        owner TEXT,
                        result TEXT,
                        error TEXT,
                        next_attempt_at INTEGER,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    CREATE INDEX steps_by_run ON steps (run_id, created_at);
                    CREATE INDEX steps_by_state ON steps (state, created_at);
                    CREATE TABLE attempts (
                        step_id TEXT NOT NULL REFERENCES steps(id),
                        attempt INTEGER NOT NULL,
                        owner TEXT NOT NULL,
                        started_at INTEGER NOT NULL,
                        ended_at INTEGER,
                        receipt TEXT,
                        PRIMARY KEY (step_id, attempt)
                    ) WITHOUT ROWID;
                    CREATE TABLE decisions (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        step_id TEXT NOT NULL REFERENCES steps(id),
                        kind TEXT NOT NULL,
                        fingerprint TEXT NOT NULL,
                        by TEXT NOT NULL,
                        reason TEXT,
                        at INTEGER NOT NULL,
                        expires_at INTEGER,
                        detail TEXT
                    );
                    CREATE INDEX decisions_by_step ON decisions (step_id, id);
                    CREATE TABLE audit (
                        seq INTEGER PRIMARY KEY,
                        entry TEXT NOT NULL,
                        hash TEXT NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2: steps by creation") { db in
            try db.execute(sql: "CREATE INDEX steps_by_created ON steps (created_at)")
        }
        migrator.registerMigration("v3: tool registry") { db in
            try db.execute(sql: """
                    CREATE TABLE tools (
                        name TEXT PRIMARY KEY NOT NULL,
                        registration TEXT NOT NULL,
                        added_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    )
                    """)
        }
        migrator.registerMigration("v4: gateway tokens") { db in
            try db.execute(sql: """
                    CREATE TABLE tokens (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL UNIQUE,
                        role TEXT NOT NULL,
                        tools TEXT,
                        secret_sha256 TEXT NOT NULL UNIQUE,
                        created_at INTEGER NOT NULL,
                        revoked_at INTEGER
                    )
                    """)
        }
        return migrator
    }
}

// MARK: - Rows

extension StepRecord {
    init(row: Row) throws {
        func json(_ column: String) throws -> JSONValue? {
            guard let text: String = row[column] else { return nil }
            do {
                return try JSONValue.parse(text)
            } catch {
                throw JournalError(.badRecord, "step \(row["id"] as String? ?? "?"): column \(column) is not JSON: \(error)")
            }
        }
        let stateText: String = row["state"]
        let effectText: String = row["effect"]
        guard let state = StepState(rawValue: stateText) else {
            throw JournalError(.badRecord, "step \(row["id"] as String? ?? "?") has an unknown state '\(stateText)'")
        }
        guard let effect = EffectClass(rawValue: effectText) else {
            throw JournalError(.badRecord, "step \(row["id"] as String? ?? "?") has an unknown effect class '\(effectText)'")
        }
        self.init(
            id: row["id"], runId: row["run_id"], key: row["idem_key"], tool: row["tool"],
            toolVersion: row["tool_version"], toolDigest: row["tool_digest"], effect: effect, input: row["input"],
            fingerprint: row["fingerprint"], spec: try json("spec") ?? .null, state: state, attempt: row["attempt"],
            owner: row["owner"], result: try json("result"), error: try json("error"),
            nextAttemptAt: row["next_attempt_at"], createdAt: row["created_at"], updatedAt: row["updated_at"])
    }
}

extension AttemptRecord {
    init(row: Row) throws {
        var receipt: JSONValue?
        if let text: String = row["receipt"] {
            do {
                receipt = try JSONValue.parse(text)
            } catch {
                throw JournalError(.badRecord, "attempt \(row["attempt"] as Int? ?? 0) of step \(row["step_id"] as String? ?? "?"): receipt is not JSON")
            }
        }
        self.init(
            stepId: row["step_id"], attempt: row["attempt"], owner: row["owner"], startedAt: row["started_at"],
            endedAt: row["ended_at"], receipt: receipt)
    }
}

extension DecisionRecord {
    init(row: Row) throws {
        let kindText: String = row["kind"]
        guard let kind = Kind(rawValue: kindText) else {
            throw JournalError(.badRecord, "decision \(row["id"] as Int64? ?? 0) has an unknown kind '\(kindText)'")
        }
        var detail: JSONValue?
        if let text: String = row["detail"] { detail = try? JSONValue.parse(text) }
        self.init(
            id: row["id"], stepId: row["step_id"], kind: kind, fingerprint: row["fingerprint"], by: row["by"],
            reason: row["reason"], at: row["at"], expiresAt: row["expires_at"], detail: detail)
    }
}

extension TokenRecord {
    init(row: Row) throws {
        let roleText: String = row["role"]
        guard let role = TokenRole(rawValue: roleText) else {
            throw JournalError(.badRecord, "token \(row["name"] as String? ?? "?") has an unknown role '\(roleText)'")
        }
        var tools: [String]?
        if let text: String = row["tools"] {
            guard case .array(let names)? = try? JSONValue.parse(text) else {
                throw JournalError(.badRecord, "token \(row["name"] as String? ?? "?"): its tool list is not a JSON array")
            }
            tools = names.compactMap(\.stringValue)
        }
        self.init(
            id: row["id"], name: row["name"], role: role, tools: tools, secretSHA256: row["secret_sha256"],
            createdAt: row["created_at"], revokedAt: row["revoked_at"])
    }
}

extension ToolRecord {
    init(row: Row) {
        self.init(name: row["name"], text: row["registration"], addedAt: row["added_at"], updatedAt: row["updated_at"])
    }
}

/// Optional JSON as column text.
func columnText(_ value: JSONValue?) -> String? {
    guard let value else { return nil }
    return value.serialized()
}

// MARK: - Transactions

/// `JournalTransaction` over one GRDB connection inside the group committer's transaction.
struct SQLiteTransaction: JournalTransaction {
    let db: Database

    func step(id: String) throws -> StepRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM steps WHERE id = ?"), arguments: [id]).map(StepRecord.init(row:))
    }

    func step(key: String) throws -> StepRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM steps WHERE idem_key = ?"), arguments: [key]).map(StepRecord.init(row:))
    }

    func touchRun(id: String, at: Int64) throws {
        try db.cachedStatement(sql: """
                INSERT INTO runs (id, created_at, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at
                """).execute(arguments: [id, at, at])
    }

    func insertStep(_ s: StepRecord) throws {
        try db.cachedStatement(sql: """
                INSERT INTO steps (id, run_id, idem_key, tool, tool_version, tool_digest, effect, input, fingerprint,
                    spec, state, attempt, owner, result, error, next_attempt_at, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [
                s.id, s.runId, s.key, s.tool, s.toolVersion, s.toolDigest, s.effect.rawValue, s.input, s.fingerprint,
                s.spec.serialized(), s.state.rawValue, s.attempt, s.owner, columnText(s.result), columnText(s.error),
                s.nextAttemptAt, s.createdAt, s.updatedAt,
            ])
    }

    func updateStep(_ s: StepRecord) throws {
        try db.cachedStatement(sql: """
                UPDATE steps SET state = ?, attempt = ?, owner = ?, result = ?, error = ?, next_attempt_at = ?,
                    updated_at = ? WHERE id = ?
                """).execute(arguments: [
                s.state.rawValue, s.attempt, s.owner, columnText(s.result), columnText(s.error), s.nextAttemptAt,
                s.updatedAt, s.id,
            ])
        if db.changesCount != 1 { throw JournalError(.notFound, "no step \(s.id) to update") }
    }

    func updateStep(_ s: StepRecord, ifState state: StepState, owner: String?, attempt: Int) throws -> Bool {
        try db.cachedStatement(sql: """
                UPDATE steps SET state = ?, attempt = ?, owner = ?, result = ?, error = ?, next_attempt_at = ?,
                    updated_at = ? WHERE id = ? AND state = ? AND owner IS ? AND attempt = ?
                """).execute(arguments: [
                s.state.rawValue, s.attempt, s.owner, columnText(s.result), columnText(s.error), s.nextAttemptAt,
                s.updatedAt, s.id, state.rawValue, owner, attempt,
            ])
        return db.changesCount == 1
    }

    func closeAttempt(stepId: String, attempt: Int, endedAt: Int64, receiptText: String) throws {
        try db.cachedStatement(sql: "UPDATE attempts SET ended_at = ?, receipt = ? WHERE step_id = ? AND attempt = ?")
            .execute(arguments: [endedAt, receiptText, stepId, attempt])
        if db.changesCount != 1 { throw JournalError(.notFound, "no attempt \(attempt) of step \(stepId) to close") }
    }

    func insertAttempt(_ a: AttemptRecord) throws {
        try db.cachedStatement(sql: "INSERT INTO attempts (step_id, attempt, owner, started_at, ended_at, receipt) VALUES (?, ?, ?, ?, ?, ?)").execute(arguments: [a.stepId, a.attempt, a.owner, a.startedAt, a.endedAt, columnText(a.receipt)])
    }

    func updateAttempt(_ a: AttemptRecord) throws {
        try db.cachedStatement(sql: "UPDATE attempts SET owner = ?, ended_at = ?, receipt = ? WHERE step_id = ? AND attempt = ?").execute(arguments: [a.owner, a.endedAt, columnText(a.receipt), a.stepId, a.attempt])
        if db.changesCount != 1 { throw JournalError(.notFound, "no attempt \(a.attempt) of step \(a.stepId) to update") }
    }

    func attempts(stepId: String) throws -> [AttemptRecord] {
        try Row.fetchAll(db, sql: "SELECT * FROM attempts WHERE step_id = ? ORDER BY attempt", arguments: [stepId])
            .map(AttemptRecord.init(row:))
    }

    func insertDecision(_ d: DecisionRecord) throws -> Int64 {
        try db.cachedStatement(sql: "INSERT INTO decisions (step_id, kind, fingerprint, by, reason, at, expires_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)").execute(arguments: [d.stepId, d.kind.rawValue, d.fingerprint, d.by, d.reason, d.at, d.expiresAt, columnText(d.detail)])
        return db.lastInsertedRowID
    }

    func decisions(stepId: String) throws -> [DecisionRecord] {
        try Row.fetchAll(db, sql: "SELECT * FROM decisions WHERE step_id = ? ORDER BY id", arguments: [stepId])
            .map(DecisionRecord.init(row:))
    }

    func tool(name: String) throws -> ToolRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM tools WHERE name = ?"), arguments: [name]).map(ToolRecord.init(row:))
    }

    func tools() throws -> [ToolRecord] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM tools ORDER BY name")).map(ToolRecord.init(row:))
    }

    func putTool(_ tool: ToolRecord) throws {
        try db.cachedStatement(sql: """
                INSERT INTO tools (name, registration, added_at, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET registration = excluded.registration, updated_at = excluded.updated_at
                """).execute(arguments: [tool.name, tool.text, tool.addedAt, tool.updatedAt])
    }

    func deleteTool(name: String) throws -> Bool {
        try db.cachedStatement(sql: "DELETE FROM tools WHERE name = ?").execute(arguments: [name])
        return db.changesCount > 0
    }

    func insertToken(_ token: TokenRecord) throws {
        let tools = token.tools.map { JSONValue.array($0.map { .string($0) }).serialized() }
        try db.cachedStatement(sql: """
                INSERT INTO tokens (id, name, role, tools, secret_sha256, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [token.id, token.name, token.role.rawValue, tools, token.secretSHA256, token.createdAt, token.revokedAt])
    }

    func token(name: String) throws -> TokenRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM tokens WHERE name = ?"), arguments: [name]).map(TokenRecord.init(row:))
    }

    func revokeToken(name: String, at: Int64) throws -> Bool {
        try db.cachedStatement(sql: "UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL").execute(arguments: [at, name])
        return db.changesCount > 0
    }

    func appendAudit(kind: String, at: Int64, event: JSONObject) throws {
        let seqText = try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = 'audit_head_seq'")) ?? "0"
        let prev = try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = 'audit_head_hash'")) ?? AuditChain.genesis
        let seq = (Int64(seqText) ?? 0) + 1
        let link = try AuditChain.link(seq: seq, prev: prev, at: at, kind: kind, event: event)
        try db.cachedStatement(sql: "INSERT INTO audit (seq, entry, hash) VALUES (?, ?, ?)").execute(arguments: [seq, link.entry, link.hash])
        try db.cachedStatement(sql: "UPDATE meta SET value = ? WHERE key = 'audit_head_seq'").execute(arguments: [String(seq)])
        try db.cachedStatement(sql: "UPDATE meta SET value = ? WHERE key = 'audit_head_hash'").execute(arguments: [link.hash])
    }
}

// MARK: - Reads

extension SQLiteJournal {
    public func step(idOrKey: String) throws -> StepRecord? {
        try reading { db in
            try Row.fetchOne(db, sql: "SELECT * FROM steps WHERE id = ? OR idem_key = ? ORDER BY id = ? DESC LIMIT 1", arguments: [idOrKey, idOrKey, idOrKey])
                .map(StepRecord.init(row:))
        }
    }

    /// Steps in creation order, one at a time from one snapshot (a listing of 100,000 steps
    /// need not hold them all).
    public func forEachStep(_ filter: StepFilter, _ body: (StepRecord) throws -> Void) throws {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if !filter.states.isEmpty {
            clauses.append("state IN (\(filter.states.map { _ in "?" }.joined(separator: ",")))")
            for state in filter.states { _ = arguments.append(contentsOf: [state.rawValue]) }
        }
        if let run = filter.runId {
            clauses.append("run_id = ?")
            _ = arguments.append(contentsOf: [run])
        }
        var sql = "SELECT * FROM steps"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += " ORDER BY created_at, rowid"
        if let limit = filter.limit { sql += " LIMIT \(max(0, limit))" }
        let finalSQL = sql
        let finalArguments = arguments
        try reading { db in
            let cursor = try Row.fetchCursor(db, sql: finalSQL, arguments: finalArguments)
            while let row = try cursor.next() { try body(try StepRecord(row: row)) }
        }
    }

    public func steps(_ filter: StepFilter) throws -> [StepRecord] {
        var all: [StepRecord] = []
        try forEachStep(filter) { all.append($0) }
        return all
    }

    public func unfinishedSteps() throws -> [StepRecord] {
        try reading { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM steps WHERE state IN ('pending', 'started', 'awaiting_approval') ORDER BY state, created_at"
            ).map(StepRecord.init(row:))
        }
    }

    public func attempts(stepId: String) throws -> [AttemptRecord] {
        try reading { db in try SQLiteTransaction(db: db).attempts(stepId: stepId) }
    }

    public func decisions(stepId: String) throws -> [DecisionRecord] {
        try reading { db in try SQLiteTransaction(db: db).decisions(stepId: stepId) }
    }

    public func runs(limit: Int?) throws -> [RunSummary] {
        try reading { db in
            var sql = "SELECT id FROM runs ORDER BY updated_at DESC, id"
            if let limit { sql += " LIMIT \(max(0, limit))" }
            return try String.fetchAll(db, sql: sql).compactMap { try Self.summary(db, id: $0) }
        }
    }

    public func run(id: String) throws -> RunSummary? {
        try reading { db in try Self.summary(db, id: id) }
    }

    private static func summary(_ db: Database, id: String) throws -> RunSummary? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id]) else { return nil }
        var counts: [StepState: Int] = [:]
        for count in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM steps WHERE run_id = ? GROUP BY state", arguments: [id]) {
            if let state = StepState(rawValue: count["state"]) { counts[state] = count["n"] }
        }
        return RunSummary(id: id, createdAt: row["created_at"], updatedAt: row["updated_at"], counts: counts)
    }

    public func tools() throws -> [ToolRecord] {
        try reading { db in try SQLiteTransaction(db: db).tools() }
    }

    public func tokens() throws -> [TokenRecord] {
        try reading { db in try Row.fetchAll(db, sql: "SELECT * FROM tokens ORDER BY created_at, name").map(TokenRecord.init(row:)) }
    }

    public func token(secretSHA256: String) throws -> TokenRecord? {
        try reading { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM tokens WHERE secret_sha256 = ?"), arguments: [secretSHA256])
                .map(TokenRecord.init(row:))
        }
    }

    public func tool(name: String) throws -> ToolRecord? {
        try reading { db in try SQLiteTransaction(db: db).tool(name: name) }
    }

    /// Every audit entry in order, from one snapshot of the journal (hosts may be writing).
    public func forEachAuditEntry(_ body: (AuditEntry) throws -> Void) throws {
        try reading { db in
            let cursor = try Row.fetchCursor(db, sql: "SELECT seq, entry, hash FROM audit ORDER BY seq")
            while let row = try cursor.next() {
                try body(AuditEntry(seq: row["seq"], entry: row["entry"], hash: row["hash"]))
            }
        }
    }

    /// Checks the chain, its head, and each receipt's link, all in one snapshot: a verify that
    /// runs while hosts commit sees the journal as of one moment.
    public func verifyAudit() throws -> AuditVerification {
        try reading { db in
            let seq = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'audit_head_seq'").flatMap { Int64($0) } ?? -1
            let hash = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'audit_head_hash'") ?? ""
            var verifier = AuditChain.Verifier()
            let receipt = try db.makeStatement(sql: "SELECT receipt FROM attempts WHERE step_id = ? AND attempt = ?")
            let cursor = try Row.fetchCursor(db, sql: "SELECT seq, entry, hash FROM audit ORDER BY seq")
            while let row = try cursor.next() {
                let entry = AuditEntry(seq: row["seq"], entry: row["entry"], hash: row["hash"])
                verifier.check(entry)
                if verifier.firstBad != nil { break }
                // Receipts are linked to the chain by their digest: an edited receipt breaks the link.
                if let link = verifier.lastReceiptLink {
                    guard let text = try String.fetchOne(receipt, arguments: [link.step, link.attempt]) else {
                        verifier.firstBad = (entry.seq, "the receipt it records (step \(link.step), attempt \(link.attempt)) is missing from the journal")
                        break
                    }
                    if AuditChain.sha256(text) != link.sha256 {
                        verifier.firstBad = (entry.seq, "the receipt it records (step \(link.step), attempt \(link.attempt)) was edited after it was committed")
                        break
                    }
                }
            }
            if verifier.firstBad == nil { verifier.checkHead(seq: seq, hash: hash) }
            return AuditVerification(entries: verifier.count, headHash: verifier.previous, firstBad: verifier.firstBad)
        }
    }
}
