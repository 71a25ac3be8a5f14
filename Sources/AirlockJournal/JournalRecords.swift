import AirlockCore

// MARK: - States and classes

/// Where a step is in its life. Transitions are the Runtime's; the journal only stores them.
public enum StepState: String, Sendable, CaseIterable, Equatable {
    case pending
    case awaitingApproval = "awaiting_approval"
    case started
    case succeeded
    case failed
    case inDoubt = "in_doubt"

    /// Finished: the recorded result is the answer to any later call with the same key.
    public var isFinal: Bool { self == .succeeded || self == .failed }
}

/// What running a tool again would do to the world.
public enum EffectClass: String, Sendable, CaseIterable, Equatable {
    case readOnly = "read-only"
    case idempotent
    case nonIdempotent = "non-idempotent"

    /// Safe to run again after an unknown outcome.
    public var isRetrySafe: Bool { self != .nonIdempotent }
}

/// How far a commit must reach before it counts.
public enum Durability: String, Sendable, CaseIterable, Equatable {
    /// WAL with `synchronous=NORMAL`: survives a crash of the host process.
    case process
    /// WAL with `synchronous=FULL`: survives a crash of the machine.
    case power
}

// MARK: - Records

/// One step: its intent, its state, and (once finished) its result.
public struct StepRecord: Sendable, Equatable {
    public var id: String
    public var runId: String
    public var key: String
    public var tool: String
    public var toolVersion: String
    public var toolDigest: String
    public var effect: EffectClass
    /// The input as RFC 8785 canonical JSON text.
    public var input: String
    public var fingerprint: String
    /// How to run the step again (argv, profile, policies), as JSON the Runtime understands.
    public var spec: JSONValue
    public var state: StepState
    /// The number of the latest attempt (0 before the first starts).
    public var attempt: Int
    /// The host instance that holds the step while it is `started` or `pending`.
    public var owner: String?
    public var result: JSONValue?
    /// Why the step failed or waits: `{"code": ..., "message": ...}`.
    public var error: JSONValue?
    /// When the next attempt may start (milliseconds since the epoch), for a `pending` retry.
    public var nextAttemptAt: Int64?
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(
        id: String, runId: String, key: String, tool: String, toolVersion: String, toolDigest: String,
        effect: EffectClass, input: String, fingerprint: String, spec: JSONValue, state: StepState,
        attempt: Int = 0, owner: String? = nil, result: JSONValue? = nil, error: JSONValue? = nil,
        nextAttemptAt: Int64? = nil, createdAt: Int64, updatedAt: Int64
    ) {
        self.id = id
        self.runId = runId
        self.key = key
        self.tool = tool
        self.toolVersion = toolVersion
        self.toolDigest = toolDigest
        self.effect = effect
        self.input = input
        self.fingerprint = fingerprint
        self.spec = spec
        self.state = state
        self.attempt = attempt
        self.owner = owner
        self.result = result
        self.error = error
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One attempt of a step: opened by its intent, closed by its receipt.
public struct AttemptRecord: Sendable, Equatable {
    public var stepId: String
    public var attempt: Int
    public var owner: String
    public var startedAt: Int64
    public var endedAt: Int64?
    /// The receipt: outcome, exit status, times, sizes and digests, effects, retry decision.
    public var receipt: JSONValue?

    public init(stepId: String, attempt: Int, owner: String, startedAt: Int64, endedAt: Int64? = nil, receipt: JSONValue? = nil) {
        self.stepId = stepId
        self.attempt = attempt
        self.owner = owner
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.receipt = receipt
    }
}

/// An approval, denial, resolution or reconcile finding, bound to the fingerprint it was made for.
public struct DecisionRecord: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case approve, deny, resolve, reconcile
    }
    public var id: Int64
    public var stepId: String
    public var kind: Kind
    public var fingerprint: String
    public var by: String
    public var reason: String?
    public var at: Int64
    public var expiresAt: Int64?
    /// Kind-specific detail: a resolution's verdict and result, a probe's answer.
    public var detail: JSONValue?

    public init(
        id: Int64 = 0, stepId: String, kind: Kind, fingerprint: String, by: String, reason: String?, at: Int64,
        expiresAt: Int64? = nil, detail: JSONValue? = nil
    ) {
        self.id = id
        self.stepId = stepId
        self.kind = kind
        self.fingerprint = fingerprint
        self.by = by
        self.reason = reason
        self.at = at
        self.expiresAt = expiresAt
        self.detail = detail
    }
}

/// A run and how many of its steps are in each state.
public struct RunSummary: Sendable, Equatable {
    public var id: String
    public var createdAt: Int64
    public var updatedAt: Int64
    public var counts: [StepState: Int]

    public init(id: String, createdAt: Int64, updatedAt: Int64, counts: [StepState: Int]) {
        self.id = id
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.counts = counts
    }
}

/// One link of the audit hash chain, as stored: `entry` is RFC 8785 canonical JSON holding
/// `seq`, `prev` (the previous link's hash), `at`, `kind`, and the event; `hash` is its SHA-256.
public struct AuditEntry: Sendable, Equatable {
    public var seq: Int64
    public var entry: String
    public var hash: String

    public init(seq: Int64, entry: String, hash: String) {
        self.seq = seq
        self.entry = entry
        self.hash = hash
    }
}

/// What `verifyAudit` found.
public struct AuditVerification: Sendable, Equatable {
    public var entries: Int64
    public var headHash: String
    /// The first bad entry (its sequence number) and what is wrong with it.
    public var firstBad: (seq: Int64, problem: String)?

    public var ok: Bool { firstBad == nil }

    public init(entries: Int64, headHash: String, firstBad: (seq: Int64, problem: String)?) {
        self.entries = entries
        self.headHash = headHash
        self.firstBad = firstBad
    }

    public static func == (lhs: AuditVerification, rhs: AuditVerification) -> Bool {
        lhs.entries == rhs.entries && lhs.headHash == rhs.headHash && lhs.firstBad?.seq == rhs.firstBad?.seq
            && lhs.firstBad?.problem == rhs.firstBad?.problem
    }
}

// MARK: - Errors

/// A journal failure with a code, mapped once to exit codes and protocol errors at the edge.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The journal file is not a database, is damaged or truncated.
        case corrupt
        /// The journal could not be opened or created (permissions, missing directory).
        case cannotOpen
        /// The journal was written by a newer Airlock.
        case tooNew
        /// A write or read failed (disk full, I/O error, lock timeout).
        case io
        /// A record does not decode (edited by hand?).
        case badRecord
        case notFound
    }
    public var code: Code
    public var message: String
    /// SQLite's result code, when SQLite reported the failure.
    public var sqliteCode: Int32?

    public init(_ code: Code, _ message: String, sqliteCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.sqliteCode = sqliteCode
    }

    public var description: String { message }
}

/// A registered tool: its name and the registration the Runtime wrote (manifest, pinned
/// digests, the operator's overrides). The journal stores it; the Runtime gives it meaning.
public struct ToolRecord: Sendable, Equatable {
    public var name: String
    /// The registration as stored (JSON text): a caller may reuse what it parsed from the same text.
    public var text: String
    public var addedAt: Int64
    public var updatedAt: Int64

    public init(name: String, registration: JSONValue, addedAt: Int64, updatedAt: Int64) {
        self.init(name: name, text: registration.serialized(), addedAt: addedAt, updatedAt: updatedAt)
    }

    public init(name: String, text: String, addedAt: Int64, updatedAt: Int64) {
        self.name = name
        self.text = text
        self.addedAt = addedAt
        self.updatedAt = updatedAt
    }

    public func registration() throws -> JSONValue {
        do {
            return try JSONValue.parse(text)
        } catch {
            throw JournalError(.badRecord, "tool \(name): its registration is not JSON: \(error)")
        }
    }
}

/// What a gateway token may do: call tools (`agent`), or also act on runs (`operator`).
public enum TokenRole: String, Sendable, CaseIterable {
    case agent
    case `operator`
}

/// A bearer token of the gateway. Only the SHA-256 of its secret is stored; the secret is
/// shown once, when it is created.
public struct TokenRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var role: TokenRole
    /// The tools this token may call; nil means every registered tool.
    public var tools: [String]?
    public var secretSHA256: String
    public var createdAt: Int64
    public var revokedAt: Int64?

    public init(
        id: String, name: String, role: TokenRole, tools: [String]?, secretSHA256: String, createdAt: Int64,
        revokedAt: Int64?
    ) {
        self.id = id
        self.name = name
        self.role = role
        self.tools = tools
        self.secretSHA256 = secretSHA256
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    /// May this token call the tool of this name?
    public func allows(tool: String) -> Bool {
        guard let tools else { return true }
        return tools.contains(tool)
    }
}
