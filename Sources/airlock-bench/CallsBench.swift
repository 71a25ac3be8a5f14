// Throughput of calls with C in flight: bare sandboxed calls (`Sandbox.run`, the foundation
// benchmark's request) or journaled calls (`Runtime.call`) in `process` or `power` durability.
import AirlockJournal
import AirlockRuntime
import AirlockSandbox

#if canImport(Glibc)
import Glibc
#endif

/// The benchmark's tool: `argv` pinned by its digest, the `profile` with the binary's directory readable.
func benchTool(_ argv: [String], profile: String, effect: EffectClass) throws -> ToolSpec {
    guard let path = argv.first, path.hasPrefix("/") else { throw BenchError("the command must be an absolute path") }
    var spec = ToolSpec(
        name: "noop", version: "1", digest: try Executable.digest(path: path), command: argv, effect: effect)
    spec.profile = profile
    let dir = directoryOf(path)
    if !dir.isEmpty { spec.allowRead = [dir] }
    return spec
}

/// The bare sandboxed call of the foundation benchmark (`airlock-bench N PROFILE CMD`).
func bareRequest(_ argv: [String], profile name: String) throws -> SandboxRequest {
    var profile = try Profile.named(name)
    let dir = directoryOf(argv[0])
    if !dir.isEmpty { profile.filesystem.read.append(dir) }
    return SandboxRequest(argv: argv, profile: profile, stdout: .discard, stderr: .capture)
}

/// Work for `drive`: one journaled call with a fresh key (and `input`, else `{"n": i}`).
func journaledCall(_ runtime: Runtime, _ spec: ToolSpec, prefix: String, run: String, input: JSONValue? = nil)
    -> @Sendable (Int) async -> String?
{
    { i in
        do {
            let answer = try await runtime.call(
                CallRequest(tool: spec, input: input ?? ["n": .number(JSONNumber(i))], key: "\(prefix)-\(i)", run: run))
            return answer.status == .succeeded ? nil : "\(answer.status.rawValue): \(answer.message)"
        } catch {
            return "\(error)"
        }
    }
}

/// Work for `drive`: the journal's share of one call and nothing else: the two transactions
/// `Runtime.call` commits (the intent: look the key up, touch the run, insert the step, start
/// its attempt, link the audit chain; the receipt: re-read the step, close the attempt with a
/// real call's receipt, link the chain, finish the step), with no child in between.
func journalOnlyCall(_ journal: SQLiteJournal, _ spec: ToolSpec, receipt: JSONValue, prefix: String, run: String)
    -> @Sendable (Int) async -> String?
{
    let owner = "h-bench-\(getpid())-00000000"
    let specJSON = spec.json
    let receiptSha = AuditChain.sha256(receipt.serialized())
    return { i in
        do {
            let input = try JSONValue.object(["n": .number(JSONNumber(i))]).canonicalized()
            let fingerprint = try Runtime.fingerprint(tool: spec, canonicalInput: input)
            let key = "\(prefix)-\(i)"
            let id = "st-" + AuditChain.sha256(key).prefix(16)
            try await journal.write { tx in
                let now = Int64(wallClockSeconds() * 1000)
                if try tx.step(key: key) != nil { throw BenchError("key \(key) exists") }
                try tx.touchRun(id: run, at: now)
                var step = StepRecord(
                    id: id, runId: run, key: key, tool: spec.name, toolVersion: spec.version, toolDigest: spec.digest,
                    effect: spec.effect, input: input, fingerprint: fingerprint, spec: specJSON, state: .pending,
                    createdAt: now, updatedAt: now)
                try tx.insertStep(step)
                step.attempt = 1
                step.state = .started
                step.owner = owner
                try tx.updateStep(step)
                try tx.insertAttempt(AttemptRecord(stepId: id, attempt: 1, owner: owner, startedAt: now))
                try tx.appendAudit(kind: "intent", at: now, event: benchIntentEvent(step, owner: owner))
            }
            try await journal.write { tx in
                let now = Int64(wallClockSeconds() * 1000)
                guard var step = try tx.step(id: id), step.state == .started, step.owner == owner else {
                    throw BenchError("step \(id) changed hands")
                }
                try tx.updateAttempt(
                    AttemptRecord(stepId: id, attempt: 1, owner: owner, startedAt: 0, endedAt: now, receipt: receipt))
                try tx.appendAudit(
                    kind: "receipt", at: now,
                    event: [
                        "run": .string(run), "step": .string(id), "attempt": 1, "outcome": "exited",
                        "receiptSha256": .string(receiptSha),
                    ])
                step.state = .succeeded
                step.owner = nil
                step.result = receipt["result"] ?? .null
                step.updatedAt = now
                try tx.updateStep(step)
            }
            return nil
        } catch {
            return "\(error)"
        }
    }
}

/// Work for `drive`: one bare sandboxed call.
func bareCall(_ request: SandboxRequest) -> @Sendable (Int) async -> String? {
    { _ in
        do {
            let report = try await Sandbox.run(request)
            if report.outcome == .exited && report.exitCode == 0 { return nil }
            return
                "\(report.outcome.rawValue) \(report.setupFailure?.message ?? "") \(String(decoding: report.stderr, as: UTF8.self))"
        } catch {
            return "\(error)"
        }
    }
}

/// `airlock-bench calls --mode bare|process|power|json|registered|journal-process|journal-power --concurrency C --calls N [--warmup W] [--home DIR] [--profile P] CMD`
func callsBench(_ args: ArraySlice<String>) async throws {
    let flags = try Flags(args, known: ["mode", "concurrency", "calls", "warmup", "home", "profile"])
    let mode = try flags.string("mode")
    let concurrency = max(1, try flags.int("concurrency", 1))
    let calls = max(1, try flags.int("calls", 200))
    let warmup = try flags.int("warmup", 2 * concurrency)
    let profile = try flags.string("profile", "default")
    let argv = flags.positional
    guard !argv.isEmpty else { throw BenchError("no command given") }

    let work: @Sendable (Int) async -> String?
    var commits: (@Sendable () -> Int)?
    switch mode {
    case "bare":
        work = bareCall(try bareRequest(argv, profile: profile))
    case "process", "power":
        let runtime = try Runtime(home: try flags.string("home"), durability: mode == "power" ? .power : .process)
        let spec = try benchTool(argv, profile: profile, effect: .idempotent)
        work = journaledCall(runtime, spec, prefix: "bench-\(getpid())", run: "run-bench-\(getpid())")
        if let journal = runtime.journal as? SQLiteJournal { commits = { journal.commitsSoFar } }
    case "json":
        // The registered line's baseline: the same tool and input through `Runtime.call` alone.
        let home = try flags.string("home")
        let runtime = try Runtime(home: home, durability: .process)
        let (_, _, sample) = try benchManifest(argv, home: home, profile: profile)
        let spec = try benchTool(argv, profile: profile, effect: .idempotent)
        work = journaledCall(runtime, spec, prefix: "bench-\(getpid())", run: "run-bench-\(getpid())", input: sample)
        if let journal = runtime.journal as? SQLiteJournal { commits = { journal.commitsSoFar } }
    case "registered":
        // The same call through the registry: a json-stdio manifest with a 10-property input
        // schema; each call is `Runtime.callTool` (registry read, pin check, validation, then
        // the journaled call).
        let home = try flags.string("home")
        let runtime = try Runtime(home: home, durability: .process)
        let (manifestPath, _, sample) = try benchManifest(argv, home: home, profile: profile)
        _ = try await runtime.addTools(manifestPath: manifestPath, overrides: ToolOverrides(), by: "bench")
        let prefix = "bench-\(getpid())"
        let run = "run-bench-\(getpid())"
        work = { i in
            do {
                let answer = try await runtime.callTool("bench", input: sample, key: "\(prefix)-\(i)", run: run)
                return answer.status == .succeeded ? nil : "\(answer.status.rawValue): \(answer.message)"
            } catch {
                return "\(error)"
            }
        }
        if let journal = runtime.journal as? SQLiteJournal { commits = { journal.commitsSoFar } }
    case "journal-process", "journal-power":
        // A real call in a side journal gives the receipt to store.
        let home = try flags.string("home")
        let spec = try benchTool(argv, profile: profile, effect: .idempotent)
        let template = try Runtime(home: home + "/template", durability: .process)
        let answer = try await template.call(CallRequest(tool: spec, input: ["n": 0]))
        guard answer.status == .succeeded, let receipt = answer.receipt else {
            throw BenchError("the template call failed: \(answer.message)")
        }
        let journal = try SQLiteJournal(
            path: home + "/journal.db", durability: mode == "journal-power" ? .power : .process)
        work = journalOnlyCall(
            journal, spec, receipt: receipt, prefix: "bench-\(getpid())", run: "run-bench-\(getpid())")
        commits = { journal.commitsSoFar }
    default:
        throw BenchError("--mode must be bare, process, power, json, registered, journal-process or journal-power")
    }

    let warm = await drive(count: warmup, concurrency: concurrency, offset: 0, work)
    if warm.failures > 0 { throw BenchError("warm-up call failed: \(warm.firstFailure)") }
    let commitsBefore = commits?() ?? 0
    let cpuBefore = cpuUs()
    let measured = await drive(count: calls, concurrency: concurrency, offset: warmup, work)
    let cpuAfter = cpuUs()
    let commitCount = (commits?() ?? 0) - commitsBefore
    let summary = Summary(measured.latenciesUs)

    var line = JSONLine()
    line.add("mode", mode)
    line.add("concurrency", concurrency)
    line.add("calls", calls)
    line.add("wallSeconds", measured.wallUs / 1e6)
    line.add("callsPerSecond", Double(calls) / (measured.wallUs / 1e6))
    line.add("medianUs", summary.medianUs)
    line.add("p90Us", summary.p90Us)
    line.add("meanUs", summary.meanUs)
    // CPU per call: the host (everything in this process) and the tools (reaped children).
    line.add("hostCpuUsPerCall", (cpuAfter.own - cpuBefore.own) / Double(calls))
    line.add("toolCpuUsPerCall", (cpuAfter.children - cpuBefore.children) / Double(calls))
    if commits != nil {
        line.add("commits", commitCount)
        line.add("commitsPerCall", Double(commitCount) / Double(calls))
    }
    line.add("failures", measured.failures)
    print(line.text)
    if measured.failures > 0 { throw BenchError("first failure: \(measured.firstFailure)") }
}

/// A json-stdio manifest for `argv` in `home` with a 10-property input schema; returns its
/// path, the schema, and an input that satisfies it.
func benchManifest(_ argv: [String], home: String, profile: String) throws -> (String, JSONValue, JSONValue) {
    var properties = JSONObject()
    var sample = JSONObject()
    for i in 0..<10 {
        properties["field\(i)"] = i % 2 == 0 ? ["type": "string", "maxLength": 64, "pattern": "^[a-z0-9-]+$"] : ["type": "integer", "minimum": 0]
        sample["field\(i)"] = i % 2 == 0 ? .string("value-\(i)") : .number(JSONNumber(i * 1000))
    }
    let schema: JSONValue = [
        "type": "object", "properties": .object(properties), "required": .array(properties.keys.map { .string($0) }),
        "additionalProperties": false,
    ]
    if mkdir(home, 0o700) != 0 && errno != EEXIST { throw BenchError("cannot create \(home)") }
    let path = home + "/bench-tool.json"
    let manifest: JSONObject = [
        "name": "bench", "version": "1", "description": "the benchmark's tool", "protocol": "json-stdio",
        "command": .array(argv.map { .string($0) }), "effect": "idempotent", "inputSchema": schema,
        "profile": .string(profile),
    ]
    let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw BenchError("cannot write \(path)") }
    defer { close(fd) }
    let text = Array(JSONValue.object(manifest).serialized().utf8)
    guard text.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == text.count else { throw BenchError("cannot write \(path)") }
    return (path, schema, .object(sample))
}
