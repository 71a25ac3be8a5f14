import AirlockCore

/// The operations of one write transaction. A store runs the Runtime's closure inside a
/// transaction and commits it (or rolls it back when the closure throws) before answering.
public protocol JournalTransaction {
    func step(id: String) throws -> StepRecord?
    func step(key: String) throws -> StepRecord?
    /// Creates the run if it does not exist yet; touches its `updatedAt` otherwise.
    func touchRun(id: String, at: Int64) throws
    func insertStep(_ step: StepRecord) throws
    func updateStep(_ step: StepRecord) throws
    /// Updates the step only if it is still in `state`, held by `owner`, at `attempt`; false
    /// when it changed meanwhile.
    func updateStep(_ step: StepRecord, ifState state: StepState, owner: String?, attempt: Int) throws -> Bool
    func insertAttempt(_ attempt: AttemptRecord) throws
    func updateAttempt(_ attempt: AttemptRecord) throws
    /// Ends an attempt with its receipt, given as the JSON text to store (and to hash).
    func closeAttempt(stepId: String, attempt: Int, endedAt: Int64, receiptText: String) throws
    func attempts(stepId: String) throws -> [AttemptRecord]
    /// Stores the decision and returns its id.
    @discardableResult func insertDecision(_ decision: DecisionRecord) throws -> Int64
    func decisions(stepId: String) throws -> [DecisionRecord]
    /// Appends an event to the hash-chained audit log in this transaction.
    func appendAudit(kind: String, at: Int64, event: JSONObject) throws
    func tool(name: String) throws -> ToolRecord?
    func tools() throws -> [ToolRecord]
    /// Inserts or replaces the tool of this name.
    func putTool(_ tool: ToolRecord) throws
    /// False when there was no such tool.
    func deleteTool(name: String) throws -> Bool
    /// Stores a new gateway token (its name and secret digest must be new).
    func insertToken(_ token: TokenRecord) throws
    func token(name: String) throws -> TokenRecord?
    /// Marks the token revoked; false when there is no such live token.
    func revokeToken(name: String, at: Int64) throws -> Bool
}

/// Which steps a listing wants.
public struct StepFilter: Sendable, Equatable {
    public var states: [StepState]
    public var runId: String?
    public var limit: Int?

    public init(states: [StepState] = [], runId: String? = nil, limit: Int? = nil) {
        self.states = states
        self.runId = runId
        self.limit = limit
    }
}

/// Where steps, attempts, decisions and the audit chain live. SQLite is the embedded store; a
/// shared PostgreSQL store can implement the same protocol.
public protocol JournalStore: Sendable {
    var durability: Durability { get }

    /// Runs `body` in a write transaction and commits it before returning. Concurrent writers
    /// may share one commit (group commit); a closure that throws rolls back only its own work.
    func write<T: Sendable>(_ body: @escaping @Sendable (any JournalTransaction) throws -> T) async throws -> T

    /// `write` for callers on their own thread (the CLI).
    func writeBlocking<T: Sendable>(_ body: @escaping @Sendable (any JournalTransaction) throws -> T) throws -> T

    func step(idOrKey: String) throws -> StepRecord?
    func steps(_ filter: StepFilter) throws -> [StepRecord]
    /// `steps`, streamed: one record at a time.
    func forEachStep(_ filter: StepFilter, _ body: (StepRecord) throws -> Void) throws
    /// Steps that recovery must look at: `pending`, `started`, and approved `awaiting_approval`.
    func unfinishedSteps() throws -> [StepRecord]
    func attempts(stepId: String) throws -> [AttemptRecord]
    func decisions(stepId: String) throws -> [DecisionRecord]
    func runs(limit: Int?) throws -> [RunSummary]
    func run(id: String) throws -> RunSummary?

    /// The tool registry, by name.
    func tools() throws -> [ToolRecord]
    func tool(name: String) throws -> ToolRecord?

    /// Gateway tokens, revoked ones included, oldest first.
    func tokens() throws -> [TokenRecord]
    /// The token whose secret has this SHA-256 (hex), revoked or not.
    func token(secretSHA256: String) throws -> TokenRecord?

    /// Calls `body` with each audit entry in order, in batches, without loading them all.
    func forEachAuditEntry(_ body: (AuditEntry) throws -> Void) throws
    /// Recomputes the hash chain and checks it against the stored head.
    func verifyAudit() throws -> AuditVerification
}
