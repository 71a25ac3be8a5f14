import AirlockJournal
import AirlockSandbox
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One tool call as a caller asks for it.
public struct CallRequest: Sendable {
    public var tool: ToolSpec
    public var input: JSONValue
    /// The idempotency key; a fresh one is made when nil (every such call is a new step).
    public var key: String?
    /// The run the step belongs to; a fresh run when nil.
    public var run: String?

    public init(tool: ToolSpec, input: JSONValue, key: String? = nil, run: String? = nil) {
        self.tool = tool
        self.input = input
        self.key = key
        self.run = run
    }
}

/// How a call ended, from the caller's side.
public enum CallStatus: String, Sendable, CaseIterable {
    case succeeded
    case failed
    case awaitingApproval = "awaiting_approval"
    case inDoubt = "in_doubt"
    case conflict
    case denied
    case inProgress = "in_progress"
}

/// The answer to a call: the step as the journal has it, and what to do next when refused.
public struct CallAnswer: Sendable {
    public var status: CallStatus
    /// The step this answer is about (for a conflict: the step that holds the key).
    public var step: StepRecord
    /// True when nothing ran for this call: the answer is what the journal already held.
    public var replayed: Bool
    /// The last attempt's receipt, when there is one.
    public var receipt: JSONValue?
    /// What happened and, for a refusal, what the caller or operator can do.
    public var message: String

    public var result: JSONValue? { step.result }
}

/// A registered tool ready for calls: its registration and compiled input schema.
struct PreparedTool: Sendable {
    var text: String
    var tool: ToolRegistration
    var schema: JSONSchema
}

/// What the first transaction of a call decided.
enum Claim: Sendable {
    /// The step's new attempt is committed as `started`: run it.
    case run(StepRecord)
    /// Nothing to run: answer with this.
    case answer(CallAnswer)
    /// The step just went in doubt and its tool has a reconcile probe: run the probe.
    case probe(StepRecord)
}

/// The durable-step state machine: idempotency keys, intents and receipts, retries,
/// approvals, recovery. It decides every transition; the journal stores them.
public final class Runtime: Sendable {
    public let home: String
    public let journal: any JournalStore
    public let host: HostInstance
    /// Registered tools as parsed and compiled, by name, with the registry text they came from.
    let preparedTools = Mutex<[String: PreparedTool]>([:])

    /// Opens (or creates) the home directory and its journal.
    public convenience init(home: String, durability: Durability = .process) throws {
        try Runtime.makeHome(home)
        let journal = try SQLiteJournal(path: home + "/journal.db", durability: durability)
        try self.init(home: home, journal: journal, host: HostInstance(home: home))
    }

    public init(home: String, journal: any JournalStore, host: HostInstance) throws {
        self.home = home
        self.journal = journal
        self.host = host
    }

    /// `mkdir -p` with mode 0700 for what it creates.
    static func makeHome(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw RuntimeError(.io, "cannot create the home directory \(prefix): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// The largest input a step takes (as JSON): it is journaled and handed to the tool whole.
    public static let maxInputBytes = 16 << 20

    /// SHA-256 over the tool's identity (name, version, executable digest, command) and the
    /// canonical input: two calls with one key must agree on all of it.
    public static func fingerprint(tool: ToolSpec, canonicalInput: String) throws -> String {
        var document: JSONValue = [
            "tool": .string(tool.name), "version": .string(tool.version), "digest": .string(tool.digest),
            "command": .array(tool.command.map { .string($0) }), "input": try JSONValue.parse(canonicalInput),
        ]
        // Only for the registry's protocols: an `exec` step keeps the fingerprint it always had.
        if tool.protocolKind != .exec, case .object(var object) = document {
            object["protocol"] = .string(tool.protocolKind.rawValue)
            if let mcpTool = tool.mcpTool { object["mcpTool"] = .string(mcpTool) }
            document = .object(object)
        }
        return AuditChain.sha256(try document.canonicalized())
    }

    // MARK: - Calls

    /// One journaled, sandboxed call, by the write-ahead rule: the intent is committed before the
    /// child exists, the receipt before this returns.
    public func call(_ request: CallRequest) async throws -> CallAnswer {
        let canonical: String
        do {
            canonical = try request.input.canonicalized()
        } catch {
            throw RuntimeError(.usage, "the input cannot be canonicalized: \(error)")
        }
        if canonical.utf8.count > Self.maxInputBytes {
            throw RuntimeError(.usage, "the input is \(canonical.utf8.count) bytes as canonical JSON; the limit is \(Self.maxInputBytes >> 20) MiB")
        }
        let fingerprint = try Self.fingerprint(tool: request.tool, canonicalInput: canonical)
        // The tool gets the input as sent (keys sorted, numbers exactly as written): RFC 8785
        // would round an integer beyond 2^53 to the nearest double. Only the fingerprint is canonical.
        let exact = request.input.serialized(sortedKeys: true)
        if exact.utf8.count > Self.maxInputBytes {
            throw RuntimeError(.usage, "the input is \(exact.utf8.count) bytes as JSON; the limit is \(Self.maxInputBytes >> 20) MiB")
        }
        let key = request.key ?? "auto-" + RandomID.hex(bytes: 12)
        let runId = request.run ?? "run-" + RandomID.hex(bytes: 6)
        let spec = request.tool
        CrashPoint.beforeIntent.hit()
        let claim = try await journal.write { tx -> Claim in
            let now = nowMs()
            if let existing = try tx.step(key: key) {
                guard existing.fingerprint == fingerprint else {
                    return .answer(self.conflict(existing, fingerprint: fingerprint))
                }
                return try self.claim(tx, existing, now: now)
            }
            try tx.touchRun(id: runId, at: now)
            var step = StepRecord(
                id: "st-" + RandomID.hex(bytes: 8), runId: runId, key: key, tool: spec.name, toolVersion: spec.version,
                toolDigest: spec.digest, effect: spec.effect, input: exact, fingerprint: fingerprint, spec: spec.json,
                state: .pending, createdAt: now, updatedAt: now)
            if spec.approval == .always {
                step.state = .awaitingApproval
                try tx.insertStep(step)
                try tx.appendAudit(kind: "approval_requested", at: now, event: self.intentEvent(step))
                return .answer(self.awaitingApproval(step, note: nil))
            }
            try tx.insertStep(step)
            try self.startAttempt(tx, &step, now: now)
            return .run(step)
        }
        return try await carryOut(claim)
    }

    /// Runs what a claim asks for and returns the caller's answer.
    func carryOut(_ claim: Claim) async throws -> CallAnswer {
        switch claim {
        case .answer(let answer): return answer
        case .run(let step): return try await runAttempts(step)
        case .probe(let step): return try await reconcile(step)
        }
    }

    /// Decides what a call (or recovery) does with a step that already exists.
    func claim(_ tx: any JournalTransaction, _ existing: StepRecord, now: Int64) throws -> Claim {
        var step = existing
        switch step.state {
        case .succeeded:
            return .answer(answer(tx, step, status: .succeeded, replayed: true, message: "step \(step.id) already succeeded; this is its recorded result (nothing ran)"))
        case .failed:
            if step.error?["code"]?.stringValue == "denied" {
                return .answer(answer(tx, step, status: .denied, replayed: true, message: deniedMessage(step)))
            }
            return .answer(answer(tx, step, status: .failed, replayed: true, message: "step \(step.id) already failed; this is its recorded failure (nothing ran). Use a new key to try again."))
        case .inDoubt:
            return .answer(answer(tx, step, status: .inDoubt, replayed: true, message: inDoubtMessage(step)))
        case .awaitingApproval:
            let decisions = try tx.decisions(stepId: step.id)
            guard let approval = decisions.last(where: { $0.kind == .approve }), approval.fingerprint == step.fingerprint else {
                return .answer(awaitingApproval(step, note: nil))
            }
            if let expires = approval.expiresAt, expires <= now {
                return .answer(awaitingApproval(step, note: "the approval by \(approval.by) expired; approve it again"))
            }
            try startAttempt(tx, &step, now: now)
            return .run(step)
        case .started, .pending:
            if host.isAlive(step.owner) {
                return .answer(CallAnswer(
                    status: .inProgress, step: step, replayed: true, receipt: nil,
                    message: "step \(step.id) (key \(step.key)) is running under host \(step.owner ?? "?"); nothing ran. Call again later with the same key for its result."))
            }
            if step.state == .started {
                // Its host died mid-attempt: the outcome of that attempt is unknown.
                let abandoned = step.owner ?? "?"
                if !step.effect.isRetrySafe {
                    try closeAttempt(tx, step, now: now, receipt: [
                        "outcome": "unknown", "attempt": .number(JSONNumber(step.attempt)),
                        "reason": .string("the host \(abandoned) died while the attempt ran; a non-idempotent tool is not run again"),
                    ])
                    step.state = .inDoubt
                    step.owner = nil
                    step.error = ["code": "in_doubt", "message": .string("host \(abandoned) died during attempt \(step.attempt); whether the effect happened is unknown")]
                    step.updatedAt = now
                    try tx.updateStep(step)
                    try tx.appendAudit(kind: "in_doubt", at: now, event: [
                        "run": .string(step.runId), "step": .string(step.id), "attempt": .number(JSONNumber(step.attempt)),
                        "owner": .string(abandoned), "fingerprint": .string(step.fingerprint),
                    ])
                    let spec = try ToolSpec(json: step.spec)
                    if spec.reconcile != nil { return .probe(step) }
                    return .answer(answer(tx, step, status: .inDoubt, replayed: false, message: inDoubtMessage(step)))
                }
                try closeAttempt(tx, step, now: now, receipt: [
                    "outcome": "unknown", "attempt": .number(JSONNumber(step.attempt)),
                    "reason": .string("the host \(abandoned) died while the attempt ran; the tool is \(step.effect.rawValue), so it runs again"),
                ])
            }
            try startAttempt(tx, &step, now: now)
            return .run(step)
        }
    }

    /// Commits a new attempt's intent: state `started`, owned by this host.
    func startAttempt(_ tx: any JournalTransaction, _ step: inout StepRecord, now: Int64) throws {
        step.attempt += 1
        step.state = .started
        step.owner = host.id
        step.nextAttemptAt = nil
        step.error = nil
        step.updatedAt = now
        try tx.updateStep(step)
        try tx.insertAttempt(AttemptRecord(stepId: step.id, attempt: step.attempt, owner: host.id, startedAt: now))
        var event = intentEvent(step)
        event["attempt"] = .number(JSONNumber(step.attempt))
        event["owner"] = .string(host.id)
        try tx.appendAudit(kind: "intent", at: now, event: event)
    }

    /// Ends the step's current attempt with `receipt` and links it into the audit chain.
    func closeAttempt(_ tx: any JournalTransaction, _ step: StepRecord, now: Int64, receipt: JSONValue) throws {
        try closeAttempt(tx, step, now: now, outcome: receipt["outcome"] ?? .null, receiptText: receipt.serialized())
    }

    /// `closeAttempt` with the receipt already serialized (off the journal's writer thread).
    func closeAttempt(_ tx: any JournalTransaction, _ step: StepRecord, now: Int64, outcome: JSONValue, receiptText: String) throws {
        try tx.closeAttempt(stepId: step.id, attempt: step.attempt, endedAt: now, receiptText: receiptText)
        try tx.appendAudit(kind: "receipt", at: now, event: [
            "run": .string(step.runId), "step": .string(step.id), "attempt": .number(JSONNumber(step.attempt)),
            "outcome": outcome, "receiptSha256": .string(AuditChain.sha256(receiptText)),
        ])
    }

    func intentEvent(_ step: StepRecord) -> JSONObject {
        [
            "run": .string(step.runId), "step": .string(step.id), "key": .string(step.key), "tool": .string(step.tool),
            "version": .string(step.toolVersion), "digest": .string(step.toolDigest), "effect": .string(step.effect.rawValue),
            "fingerprint": .string(step.fingerprint), "inputSha256": .string(AuditChain.sha256(step.input)),
        ]
    }

    // MARK: - Answers

    func answer(_ tx: any JournalTransaction, _ step: StepRecord, status: CallStatus, replayed: Bool, message: String) -> CallAnswer {
        let receipt = (try? tx.attempts(stepId: step.id))?.last?.receipt
        return CallAnswer(status: status, step: step, replayed: replayed, receipt: receipt, message: message)
    }

    func conflict(_ existing: StepRecord, fingerprint: String) -> CallAnswer {
        CallAnswer(
            status: .conflict, step: existing, replayed: true, receipt: nil,
            message: "key \(existing.key) already belongs to step \(existing.id) with another input or tool (fingerprint \(existing.fingerprint.prefix(12))…, this call \(fingerprint.prefix(12))…); nothing ran. Use a new key for a different call.")
    }

    func awaitingApproval(_ step: StepRecord, note: String?) -> CallAnswer {
        var message = "step \(step.id) waits for approval"
        if let note { message += " (\(note))" }
        message += ": `airlock approve \(step.id)` or `airlock deny \(step.id)`, then call again with key \(step.key) or run `airlock resume`."
        return CallAnswer(status: .awaitingApproval, step: step, replayed: false, receipt: nil, message: message)
    }

    func inDoubtMessage(_ step: StepRecord) -> String {
        "step \(step.id) (key \(step.key)) is in doubt: its host died while the non-idempotent tool \(step.tool) ran, so whether its effect happened is unknown; nothing ran. Check the effect, then `airlock resolve \(step.id) --as succeeded|failed|retry --reason TEXT`."
    }

    func deniedMessage(_ step: StepRecord) -> String {
        let why = step.error?["message"]?.stringValue ?? "denied"
        return "step \(step.id) was denied (\(why)); nothing ran. Use a new key to ask again."
    }
}
