// Recovery over a large journal: `populate` writes N finished steps and M steps left `started`
// by a dead host; `resume`, in a fresh process, opens the journal and recovers, and reports
// how long that took and how much memory the process held.
import AirlockJournal
import AirlockRuntime
import AirlockSandbox

#if canImport(Glibc)
import Glibc
#endif

/// The owner that "crashed" while the in-flight steps ran.
let deadOwner = "h-dead-1-00000000"

/// The owner that ran the finished steps, long gone.
let oldOwner = "h-old-1-00000000"

/// The effect classes of the in-flight steps, in turn: two of three are re-run, one goes in doubt.
let inFlightEffects: [EffectClass] = [.readOnly, .idempotent, .nonIdempotent]

/// The audit event of an intent, as the Runtime writes it.
func benchIntentEvent(_ s: StepRecord, owner: String) -> JSONObject {
    [
        "run": .string(s.runId), "step": .string(s.id), "key": .string(s.key), "tool": .string(s.tool),
        "version": .string(s.toolVersion), "digest": .string(s.toolDigest), "effect": .string(s.effect.rawValue),
        "fingerprint": .string(s.fingerprint), "inputSha256": .string(AuditChain.sha256(s.input)),
        "attempt": .number(JSONNumber(s.attempt)), "owner": .string(owner),
    ]
}

/// `airlock-bench populate --home DIR --finished N --inflight M [--per-run R] [--audit 1|0] CMD`
///
/// One real call makes the template step and receipt; the rest are copies with their own ids,
/// keys, inputs and fingerprints, written through `JournalTransaction` in large transactions,
/// with the audit chain's intent and receipt links as the Runtime would append them.
func populateBench(_ args: ArraySlice<String>) async throws {
    let flags = try Flags(args, known: ["home", "finished", "inflight", "per-run", "audit", "profile"])
    let home = try flags.string("home")
    let finished = try flags.int("finished")
    let inflight = try flags.int("inflight")
    let perRun = max(1, try flags.int("per-run", 100))
    let audit = try flags.int("audit", 1) != 0
    let argv = flags.positional
    guard !argv.isEmpty else { throw BenchError("no command given") }
    let t0 = nowUs()
    let runtime = try Runtime(home: home, durability: .process)
    let spec = try benchTool(argv, profile: try flags.string("profile", "default"), effect: .idempotent)
    let journal = runtime.journal

    // The template: a real call's step and receipt.
    let first = try await runtime.call(CallRequest(tool: spec, input: ["n": 0], key: "bench-fin-0", run: "run-0"))
    guard first.status == .succeeded, let receipt = try journal.attempts(stepId: first.step.id).last?.receipt else {
        throw BenchError("the template call failed: \(first.message)")
    }
    let template = first.step
    let receiptSha = AuditChain.sha256(receipt.serialized())
    let base = template.createdAt

    @Sendable func step(_ n: Int, key: String, run: String, tool: ToolSpec, state: StepState) throws -> StepRecord {
        var s = template
        let input: JSONValue = ["n": .number(JSONNumber(n))]
        // Random-looking like the Runtime's ids, so index inserts land all over the B-tree.
        s.id = "st-" + AuditChain.sha256("step-\(n)").prefix(16)
        s.key = key
        s.runId = run
        s.input = try input.canonicalized()
        s.fingerprint = try Runtime.fingerprint(tool: tool, canonicalInput: s.input)
        s.effect = tool.effect
        s.spec = tool.json
        s.state = state
        s.attempt = 1
        s.createdAt = base + Int64(n)
        s.updatedAt = s.createdAt
        return s
    }

    let batchSize = 2000
    var next = 1
    while next < finished {
        let range = next..<min(finished, next + batchSize)
        try await journal.write { tx in
            for n in range {
                var s = try step(n, key: "bench-fin-\(n)", run: "run-\(n / perRun)", tool: spec, state: .succeeded)
                s.owner = nil
                try tx.touchRun(id: s.runId, at: s.createdAt)
                try tx.insertStep(s)
                try tx.insertAttempt(
                    AttemptRecord(
                        stepId: s.id, attempt: 1, owner: oldOwner, startedAt: s.createdAt,
                        endedAt: s.createdAt + 2, receipt: receipt))
                if audit {
                    try tx.appendAudit(
                        kind: "intent", at: s.createdAt, event: benchIntentEvent(s, owner: oldOwner))
                    try tx.appendAudit(
                        kind: "receipt", at: s.createdAt + 2,
                        event: [
                            "run": .string(s.runId), "step": .string(s.id), "attempt": 1, "outcome": "exited",
                            "receiptSha256": .string(receiptSha),
                        ])
                }
            }
        }
        next = range.upperBound
    }

    // The steps a dead host left `started`, after all the finished ones.
    var rerunnable = 0
    for j in 0..<inflight where inFlightEffects[j % inFlightEffects.count].isRetrySafe { rerunnable += 1 }
    let inflightCount = inflight
    try await journal.write { tx in
        for j in 0..<inflightCount {
            var tool = spec
            tool.effect = inFlightEffects[j % inFlightEffects.count]
            let n = finished + j
            var s = try step(n, key: "bench-inflight-\(j)", run: "run-inflight-\(j / 10)", tool: tool, state: .started)
            s.owner = deadOwner
            s.result = nil
            try tx.touchRun(id: s.runId, at: s.createdAt)
            try tx.insertStep(s)
            try tx.insertAttempt(AttemptRecord(stepId: s.id, attempt: 1, owner: deadOwner, startedAt: s.createdAt))
            if audit {
                try tx.appendAudit(kind: "intent", at: s.createdAt, event: benchIntentEvent(s, owner: deadOwner))
            }
        }
    }
    // A host that is killed leaves its lock file behind, unlocked.
    let lock = open(home + "/owners/" + deadOwner + ".lock", O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
    if lock >= 0 { close(lock) }

    // Closing checkpoints the WAL into the file, as a host that stops does.
    try (journal as? SQLiteJournal)?.close()
    var st = stat()
    stat(home + "/journal.db", &st)
    var line = JSONLine()
    line.add("finished", max(1, finished))
    line.add("inflight", inflight)
    line.add("rerunnable", rerunnable)
    line.add("seconds", (nowUs() - t0) / 1e6)
    line.add("journalBytes", Int(st.st_size))
    print(line.text)
}

/// `airlock-bench resume --home DIR --durability process|power [--serve N] [--concurrency C] [--launched T] CMD`
///
/// Times `Runtime(home:durability:)` (opening the journal) and `resume()` in this fresh
/// process; then holds the Runtime while it lists, and serves N more calls, and reports the
/// process's resident memory after each phase (VmRSS) and at its peak (VmHWM). With
/// `--launched T` (the wall-clock time in seconds at which the caller started this process),
/// it also reports the time from launch to the end of `resume()`, the Swift runtime's start included.
func resumeBench(_ args: ArraySlice<String>) async throws {
    let flags = try Flags(args, known: ["home", "durability", "serve", "concurrency", "profile", "launched", "scan"])
    let launched = flags.values["launched"].flatMap { Double($0) }
    let home = try flags.string("home")
    let durability: Durability = try flags.string("durability", "process") == "power" ? .power : .process
    let serve = try flags.int("serve", 0)
    let concurrency = max(1, try flags.int("concurrency", 8))
    let argv = flags.positional
    var line = JSONLine()
    line.add("durability", durability.rawValue)
    line.add("startRssKiB", procStatusKiB("VmRSS"))

    let t0 = nowUs()
    let runtime = try Runtime(home: home, durability: durability)
    let t1 = nowUs()
    let items = try await runtime.resume()
    let t2 = nowUs()
    let resumedAt = wallClockSeconds()
    var ran = 0, inDoubt = 0, other = 0
    var problem = ""
    for item in items {
        switch (item.action, item.answer.status) {
        case ("ran", .succeeded): ran += 1
        case ("in_doubt", .inDoubt): inDoubt += 1
        default:
            other += 1
            if problem.isEmpty {
                problem = "\(item.stepId): \(item.action) \(item.answer.status.rawValue): \(item.answer.message)"
            }
        }
    }
    line.add("openMs", (t1 - t0) / 1e3)
    line.add("resumeMs", (t2 - t1) / 1e3)
    line.add("totalMs", (t2 - t0) / 1e3)
    if let launched { line.add("sinceLaunchMs", (resumedAt - launched) * 1e3) }
    line.add("ran", ran)
    line.add("inDoubt", inDoubt)
    line.add("other", other)
    if let journal = runtime.journal as? SQLiteJournal { line.add("commits", journal.commitsSoFar) }
    line.add("resumeRssKiB", procStatusKiB("VmRSS"))
    line.add("resumeHwmKiB", procStatusKiB("VmHWM"))

    // What a host does next: list recent runs and steps, then serve calls.
    let journal = runtime.journal
    let t3 = nowUs()
    let runs = try journal.runs(limit: 20)
    let recent = try journal.steps(StepFilter(limit: 100))
    let doubtful = try journal.steps(StepFilter(states: [.inDoubt]))
    line.add("listMs", (nowUs() - t3) / 1e3)
    line.add("listed", runs.count + recent.count + doubtful.count)
    line.add("listHwmKiB", procStatusKiB("VmHWM"))
    if serve > 0 {
        guard !argv.isEmpty else { throw BenchError("--serve needs the command") }
        let spec = try benchTool(argv, profile: try flags.string("profile", "default"), effect: .idempotent)
        let served = await drive(
            count: serve, concurrency: concurrency, offset: 0,
            journaledCall(runtime, spec, prefix: "serve-\(getpid())", run: "run-serve"))
        line.add("served", serve)
        line.add("servedPerSecond", Double(serve) / (served.wallUs / 1e6))
        line.add("serveFailures", served.failures)
        if served.failures > 0 && problem.isEmpty { problem = "serve: \(served.firstFailure)" }
    }
    line.add("rssKiB", procStatusKiB("VmRSS"))
    line.add("hwmKiB", procStatusKiB("VmHWM"))
    if try flags.int("scan", 0) != 0 {
        // What the CLI's whole-journal commands hold: every step listed, the audit chain verified.
        let t4 = nowUs()
        let verification = try journal.verifyAudit()
        line.add("verifyEntries", Int(verification.entries))
        line.add("verifyOk", verification.ok ? 1 : 0)
        line.add("verifyMs", (nowUs() - t4) / 1e3)
        line.add("verifyHwmKiB", procStatusKiB("VmHWM"))
        let t5 = nowUs()
        let all = try journal.steps(StepFilter())
        line.add("listAllSteps", all.count)
        line.add("listAllMs", (nowUs() - t5) / 1e3)
        line.add("listAllHwmKiB", procStatusKiB("VmHWM"))
    }
    print(line.text)
    if !problem.isEmpty { throw BenchError("unexpected: \(problem)") }
}
