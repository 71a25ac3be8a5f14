import AirlockJournal
import AirlockRuntime
import AirlockSandbox
import ArgumentParser
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Exit statuses of the journaled commands; scripts depend on them.
enum JournalExit {
    static let success: Int32 = 0
    static let toolFailed: Int32 = 1
    static let usage: Int32 = 2
    static let awaitingApproval: Int32 = 3
    static let inDoubt: Int32 = 4
    static let conflict: Int32 = 5
    static let denied: Int32 = 6
    static let inProgress: Int32 = 7
    /// Airlock itself could not do the job: a damaged journal, a full disk.
    static let internalFailure: Int32 = 8
    /// A registered tool's pinned executable or scripts changed: refused until added again.
    static let untrusted: Int32 = 9

    static func status(_ status: CallStatus) -> Int32 {
        switch status {
        case .succeeded: return success
        case .failed: return toolFailed
        case .awaitingApproval: return awaitingApproval
        case .inDoubt: return inDoubt
        case .conflict: return conflict
        case .denied: return denied
        case .inProgress: return inProgress
        }
    }
}

/// `--home`, `--json` and `--durability`, shared by every journaled command.
struct HomeOptions: ParsableArguments {
    @Option(name: .long, help: "Airlock's home directory (default: $AIRLOCK_HOME, else ./.airlock).")
    var home: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @Option(name: .long, help: "Commit durability: process (survives a crash of the host process) or power (of the machine). Default: $AIRLOCK_DURABILITY, else process.")
    var durability: String?

    var resolvedHome: String {
        if let home { return home }
        if let value = getenv("AIRLOCK_HOME"), value.pointee != 0 { return String(cString: value) }
        return ".airlock"
    }

    func validate() throws {
        if let durability, Durability(rawValue: durability) == nil {
            throw ValidationError("--durability must be process or power, not '\(durability)'")
        }
        if durability == nil, let value = getenv("AIRLOCK_DURABILITY"), Durability(rawValue: String(cString: value)) == nil {
            throw ValidationError("AIRLOCK_DURABILITY must be process or power, not '\(String(cString: value))'")
        }
    }

    func openRuntime() throws -> Runtime {
        var mode = Durability.process
        if let durability, let chosen = Durability(rawValue: durability) {
            mode = chosen
        } else if let value = getenv("AIRLOCK_DURABILITY"), let chosen = Durability(rawValue: String(cString: value)) {
            mode = chosen
        }
        return try Runtime(home: resolvedHome, durability: mode)
    }

    /// Opens only the journal, without taking part as a host (for read-only commands).
    func openJournal() throws -> SQLiteJournal {
        let path = resolvedHome + "/journal.db"
        return try SQLiteJournal(path: path, durability: .process, create: false)
    }
}


/// Maps an error from the runtime or journal to a message and an exit status.
func fail(_ command: String, _ error: any Error) -> ExitCode {
    switch error {
    case let error as ExitCode:
        return error
    case let error as RuntimeError:
        printError("airlock \(command): \(error.message)")
        switch error.code {
        case .io, .badRecord: return ExitCode(JournalExit.internalFailure)
        case .untrusted: return ExitCode(JournalExit.untrusted)
        default: return ExitCode(JournalExit.usage)
        }
    case let error as JournalError:
        printError("airlock \(command): \(error.message)")
        return ExitCode(error.code == .notFound ? JournalExit.usage : JournalExit.internalFailure)
    default:
        printError("airlock \(command): \(error)")
        return ExitCode(JournalExit.internalFailure)
    }
}

/// The name of whoever acts: `--by`, else $AIRLOCK_OPERATOR, else $USER.
func actor(_ by: String?) -> String {
    if let by, !by.isEmpty { return by }
    for name in ["AIRLOCK_OPERATOR", "USER", "LOGNAME"] {
        if let value = getenv(name), value.pointee != 0 { return String(cString: value) }
    }
    return "uid:\(getuid())"
}

func timestamp(_ ms: Int64) -> String {
    var seconds = time_t(ms / 1000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func pad(_ n: Int32, _ width: Int = 2) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))Z"
}

// MARK: - runs

struct Runs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List runs, or show one run's steps.", subcommands: [List.self, Show.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List runs, most recent first.")
        @OptionGroup var options: HomeOptions
        @Option(name: .long, help: "At most this many runs.") var limit: Int?

        func run() throws {
            do {
                let runs = try options.openJournal().runs(limit: limit)
                if options.json {
                    printOut(JSONValue.array(runs.map(\.json)).serialized(pretty: true))
                    return
                }
                if runs.isEmpty { printOut("no runs"); return }
                for run in runs {
                    let states = StepState.allCases.compactMap { state in run.counts[state].map { "\(state.rawValue)=\($0)" } }
                    printOut("\(run.id)  \(timestamp(run.updatedAt))  \(states.joined(separator: " "))")
                }
            } catch { throw fail("runs list", error) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a run and its steps.")
        @OptionGroup var options: HomeOptions
        @Argument(help: "The run id.") var runId: String

        func run() throws {
            do {
                let journal = try options.openJournal()
                guard let summary = try journal.run(id: runId) else {
                    printError("airlock runs show: no run '\(runId)'")
                    throw ExitCode(JournalExit.usage)
                }
                let steps = try journal.steps(StepFilter(runId: runId))
                if options.json {
                    var object = summary.json.objectValue ?? [:]
                    object["stepList"] = .array(steps.map(\.json))
                    printOut(JSONValue.object(object).serialized(pretty: true))
                    return
                }
                printOut("run \(summary.id)  created \(timestamp(summary.createdAt))  updated \(timestamp(summary.updatedAt))")
                for step in steps { printOut(stepLine(step)) }
            } catch { throw fail("runs show", error) }
        }
    }
}

func stepLine(_ step: StepRecord) -> String {
    "\(step.id)  \(step.state.rawValue)  attempt \(step.attempt)  \(step.tool) (\(step.effect.rawValue))  key \(step.key)  run \(step.runId)"
}

// MARK: - steps

struct Steps: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List steps, or show one step with its attempts, receipts and decisions.")
    @OptionGroup var options: HomeOptions
    @Option(name: .long, help: "Only steps in this state (pending, awaiting_approval, started, succeeded, failed, in_doubt).")
    var state: String?
    @Option(name: .customLong("run"), help: "Only steps of this run.") var runId: String?
    @Option(name: .long, help: "At most this many steps.") var limit: Int?
    @Argument(help: "A step id or idempotency key to show in full.") var step: String?

    func validate() throws {
        if let state, StepState(rawValue: state) == nil {
            throw ValidationError("--state must be one of \(StepState.allCases.map(\.rawValue).joined(separator: ", ")), not '\(state)'")
        }
    }

    func run() throws {
        do {
            let journal = try options.openJournal()
            if let step {
                guard let record = try journal.step(idOrKey: step) else {
                    printError("airlock steps: no step with id or key '\(step)'")
                    throw ExitCode(JournalExit.usage)
                }
                var object = record.json.objectValue ?? [:]
                object["attempts"] = .array(try journal.attempts(stepId: record.id).map(\.json))
                object["decisions"] = .array(try journal.decisions(stepId: record.id).map(\.json))
                printOut(JSONValue.object(object).serialized(pretty: true))
                return
            }
            let filter = StepFilter(states: state.flatMap(StepState.init(rawValue:)).map { [$0] } ?? [], runId: runId, limit: limit)
            // Streamed: a JSON array written element by element.
            var count = 0
            let json = options.json
            try journal.forEachStep(filter) { step in
                if json {
                    let element = step.json.serialized(pretty: true).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
                    printOut((count == 0 ? "[\n" : ",\n") + element, newline: false)
                } else {
                    printOut(stepLine(step))
                }
                count += 1
            }
            if json {
                printOut(count == 0 ? "[]" : "\n]")
            } else if count == 0 {
                printOut("no steps")
            }
        } catch { throw fail("steps", error) }
    }
}

// MARK: - resume

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recover unfinished steps: re-run what is safe, put the rest in doubt.",
        discussion: "Steps left started by a dead host run again when their tool is read-only or idempotent, and go to in_doubt when it is non-idempotent (its reconcile probe, if any, is asked first). Pending retries and approved steps run.")
    @OptionGroup var options: HomeOptions
    @Argument(help: "Only this run.") var runId: String?

    func run() throws {
        do {
            let runtime = try options.openRuntime()
            let only = runId
            let items = try blocking { try await runtime.resume(run: only) }
            if options.json {
                printOut(JSONValue.array(items.map { item in
                    var object = item.answer.json.objectValue ?? [:]
                    object["action"] = .string(item.action)
                    return .object(object)
                }).serialized(pretty: true))
                return
            }
            if items.isEmpty { printOut("nothing to recover") }
            for item in items {
                printOut("\(item.stepId)  \(item.action)  -> \(item.answer.status.rawValue): \(item.answer.message)")
            }
        } catch { throw fail("resume", error) }
    }
}

// MARK: - approve, deny, resolve

struct Approve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Approve a step that waits for approval (for its current input only).")
    @OptionGroup var options: HomeOptions
    @Argument(help: "Step id or idempotency key.") var step: String
    @Option(name: .long, help: "Who approves (default: $AIRLOCK_OPERATOR, else $USER).") var by: String?
    @Option(name: .long, help: "Why.") var reason: String?
    @Option(name: .customLong("expires-in"), help: "The approval lapses after this many seconds.") var expiresIn: UInt64?

    func run() throws {
        do {
            let runtime = try options.openRuntime()
            let (id, who, why, ttl) = (step, actor(by), reason, expiresIn)
            let record = try blocking { try await runtime.approve(id, by: who, reason: why, expiresInSeconds: ttl) }
            if options.json { printOut(record.json.serialized(pretty: true)); return }
            printOut("approved \(record.id) (key \(record.key)); call again with that key, or run `airlock resume`, to run it")
        } catch { throw fail("approve", error) }
    }
}

struct Deny: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Deny a step that waits for approval; it fails without running.")
    @OptionGroup var options: HomeOptions
    @Argument(help: "Step id or idempotency key.") var step: String
    @Option(name: .long, help: "Who denies (default: $AIRLOCK_OPERATOR, else $USER).") var by: String?
    @Option(name: .long, help: "Why.") var reason: String?

    func run() throws {
        do {
            let runtime = try options.openRuntime()
            let (id, who, why) = (step, actor(by), reason)
            let record = try blocking { try await runtime.deny(id, by: who, reason: why) }
            if options.json { printOut(record.json.serialized(pretty: true)); return }
            printOut("denied \(record.id)")
        } catch { throw fail("deny", error) }
    }
}

struct Resolve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decide an in-doubt step: succeeded, failed, or retry.")
    @OptionGroup var options: HomeOptions
    @Argument(help: "Step id or idempotency key.") var step: String
    @Option(name: .customLong("as"), help: "succeeded (the effect happened), failed (it did not; do not retry), or retry (it did not; run again).")
    var verdict: String
    @Option(name: .long, help: "Why (required; journaled).") var reason: String
    @Option(name: .long, help: "The step's result, as JSON (with --as succeeded).") var result: String?
    @Option(name: .long, help: "Who decides (default: $AIRLOCK_OPERATOR, else $USER).") var by: String?

    func validate() throws {
        if Resolution(rawValue: verdict) == nil { throw ValidationError("--as must be succeeded, failed or retry, not '\(verdict)'") }
        if reason.trimmingCharacters(in: " \t\n") .isEmpty { throw ValidationError("--reason must say why") }
        if let result {
            do { _ = try JSONValue.parse(result) } catch { throw ValidationError("--result is not JSON: \(error)") }
        }
    }

    func run() throws {
        do {
            let runtime = try options.openRuntime()
            let value = try result.map { try JSONValue.parse($0) }
            let (id, resolution, why, who) = (step, Resolution(rawValue: verdict)!, reason, actor(by))
            let record = try blocking { try await runtime.resolve(id, as: resolution, reason: why, result: value, by: who) }
            if options.json { printOut(record.json.serialized(pretty: true)); return }
            switch resolution {
            case .retry: printOut("resolved \(record.id) as retry; `airlock resume` (or a call with key \(record.key)) runs it again")
            default: printOut("resolved \(record.id) as \(resolution.rawValue)")
            }
        } catch { throw fail("resolve", error) }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}

// MARK: - audit

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify or export the hash-chained audit log.", subcommands: [Verify.self, Export.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every link of the audit chain; exit 1 naming the first bad entry.")
        @OptionGroup var options: HomeOptions

        func run() throws {
            let verification: AuditVerification
            do {
                verification = try options.openJournal().verifyAudit()
            } catch { throw fail("audit verify", error) }
            if options.json {
                var object: JSONObject = [
                    "ok": .bool(verification.ok), "entries": .number(JSONNumber(verification.entries)),
                    "head": .string(verification.headHash),
                ]
                if let bad = verification.firstBad {
                    object["firstBad"] = .number(JSONNumber(bad.seq))
                    object["problem"] = .string(bad.problem)
                }
                printOut(JSONValue.object(object).serialized(pretty: true))
            } else if let bad = verification.firstBad {
                printError("airlock audit verify: entry \(bad.seq) is bad: \(bad.problem)")
            } else {
                printOut("audit log ok: \(verification.entries) entries, head \(verification.headHash)")
            }
            if !verification.ok { throw ExitCode(1) }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the audit log as JSON lines (each entry with its hash), verifiable elsewhere.")
        @OptionGroup var options: HomeOptions
        @Option(name: .long, help: "Write to FILE instead of stdout.") var output: String?

        func run() throws {
            do {
                let journal = try options.openJournal()
                var fd: Int32 = 1
                if let output {
                    fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                    guard fd >= 0 else {
                        printError("airlock audit export: cannot write \(output): \(String(cString: strerror(errno)))")
                        throw ExitCode(JournalExit.usage)
                    }
                }
                defer { if fd != 1 { close(fd) } }
                var buffer = ""
                try journal.forEachAuditEntry { entry in
                    buffer += try AuditChain.exportLine(entry) + "\n"
                    if buffer.utf8.count > 1 << 16 {
                        guard writeAll(fd, buffer) else { throw RuntimeError(.io, "write failed: \(String(cString: strerror(errno)))") }
                        buffer = ""
                    }
                }
                guard writeAll(fd, buffer) else { throw RuntimeError(.io, "write failed: \(String(cString: strerror(errno)))") }
            } catch { throw fail("audit export", error) }
        }
    }
}
