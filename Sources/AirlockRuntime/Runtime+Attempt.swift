import AirlockJournal
import AirlockSandbox
import CAirlockSandbox

#if canImport(Glibc)
import Glibc
#endif

/// What one attempt's child did, before it is judged.
struct Execution: Sendable {
    var report: SandboxReport?
    /// Why the child never ran (host-side failure: profile, changed executable, ...).
    var hostFailure: String?
    var effects: [JSONValue] = []
    /// The result: the tool's stdout as JSON (or text, for `exec`), or an MCP CallToolResult.
    var result: JSONValue?
    /// Why a tool that finished cleanly still failed: its output is not JSON or not what its
    /// output schema says.
    var outputProblem: String?
    /// How an MCP conversation broke off, when it did.
    var mcpError: MCPSessionError?
    /// For an MCP server: what it wrote on stdout (the report counts nothing for that stream).
    var mcpBytes: Int?
    var startedAt: Int64
    var endedAt: Int64
}

/// Whether an attempt ends the step or another follows.
enum RetryDecision: Sendable {
    case succeeded
    case final(String)
    case retry(delayMs: UInt64, reason: String)
    /// A non-idempotent tool was stopped mid-run (timeout, signal, limit): whether its effect
    /// happened is unknown, so the step goes in doubt instead of failing.
    case inDoubt(String)
}

extension Runtime {
    // MARK: - Attempts

    /// Runs attempts of a step whose intent is committed, until one ends the step.
    func runAttempts(_ claimed: StepRecord) async throws -> CallAnswer {
        var step = claimed
        let spec = try ToolSpec(json: step.spec)
        while true {
            CrashPoint.afterIntent.hit()
            let execution = await execute(spec, step: step, argv: spec.command)
            CrashPoint.afterChild.hit()
            let decision = Self.decide(spec, attempt: step.attempt, execution)
            let receipt = Self.receipt(step: step, execution: execution, decision: decision)
            let owned = step
            // Serialized here, not on the journal's writer thread.
            let receiptText = receipt.serialized()
            let outcome = receipt["outcome"] ?? .null
            let failure: JSONValue? =
                switch decision {
                case .succeeded: nil
                case .final(let reason): Self.failure(execution, reason: reason)
                case .retry: Self.failure(execution, reason: "attempt \(owned.attempt) failed; retrying")
                case .inDoubt(let reason): ["code": "in_doubt", "message": .string(reason)]
                }
            step = try await journal.write { tx -> StepRecord in
                let now = nowMs()
                var current = owned
                switch decision {
                case .succeeded:
                    current.state = .succeeded
                    current.owner = nil
                    current.result = receipt["result"] ?? .null
                    current.error = nil
                case .final:
                    current.state = .failed
                    current.owner = nil
                    current.error = failure
                case .inDoubt:
                    current.state = .inDoubt
                    current.owner = nil
                    current.error = failure
                case .retry(let delay, _):
                    current.state = .pending
                    current.nextAttemptAt = now + Int64(delay)
                    current.error = failure
                }
                current.updatedAt = now
                guard try tx.updateStep(current, ifState: .started, owner: self.host.id, attempt: owned.attempt) else {
                    throw RuntimeError(.io, "step \(owned.id) changed hands while attempt \(owned.attempt) ran (another host took it for dead); its receipt could not be recorded")
                }
                try self.closeAttempt(tx, owned, now: now, outcome: outcome, receiptText: receiptText)
                if case .inDoubt = decision {
                    try tx.appendAudit(kind: "in_doubt", at: now, event: [
                        "run": .string(owned.runId), "step": .string(owned.id), "attempt": .number(JSONNumber(owned.attempt)),
                        "owner": .string(self.host.id), "fingerprint": .string(owned.fingerprint),
                    ])
                }
                return current
            }
            CrashPoint.afterReceipt.hit()
            switch decision {
            case .succeeded:
                return CallAnswer(status: .succeeded, step: step, replayed: false, receipt: receipt, message: "step \(step.id) succeeded")
            case .final(let reason):
                return CallAnswer(status: .failed, step: step, replayed: false, receipt: receipt, message: "step \(step.id) failed: \(reason)")
            case .inDoubt(let reason):
                if spec.reconcile != nil { return try await reconcile(step) }
                return CallAnswer(
                    status: .inDoubt, step: step, replayed: false, receipt: receipt,
                    message: "step \(step.id) is in doubt: \(reason). Check the effect, then `airlock resolve \(step.id) --as succeeded|failed|retry --reason TEXT`.")
            case .retry(let delay, _):
                try? await Task.sleep(nanoseconds: delay * 1_000_000)
                let waiting = step
                let next = try await journal.write { tx -> StepRecord? in
                    guard var current = try tx.step(id: waiting.id), current.state == .pending, current.owner == self.host.id else {
                        return nil
                    }
                    try self.startAttempt(tx, &current, now: nowMs())
                    return current
                }
                guard let next else {
                    let current = try journal.step(idOrKey: waiting.id) ?? waiting
                    return CallAnswer(status: .inProgress, step: current, replayed: false, receipt: receipt, message: "step \(current.id) was taken over before its next attempt")
                }
                step = next
            }
        }
    }

    /// Runs `argv` for the step in the sandbox. Never throws: every failure becomes part of the receipt.
    func execute(_ spec: ToolSpec, step: StepRecord, argv: [String]) async -> Execution {
        let started = nowMs()
        var execution = Execution(startedAt: started, endedAt: started)
        let profile: Profile
        let host = Sandbox.processEnvironment()
        do {
            profile = try spec.resolvedProfile()
            // The tool's own executable and pinned scripts are checked before any of its
            // commands runs (its reconcile probe too).
            let current = try Executable.resolve(argv[0], environment: host)
            let main = argv == spec.command ? current : try Executable.resolve(spec.command[0], environment: host)
            if let changed = try Self.changedPin(spec, executable: main) {
                execution.hostFailure = changed + "; not run"
                execution.endedAt = nowMs()
                return execution
            }
        } catch {
            execution.hostFailure = "\(error)"
            execution.endedAt = nowMs()
            return execution
        }
        if spec.protocolKind != .exec, let problem = grantProblem(spec, profile) {
            execution.hostFailure = problem + "; not run"
            execution.endedAt = nowMs()
            return execution
        }
        var extra: [String: String] = [
            "AIRLOCK_IDEMPOTENCY_KEY": step.key, "AIRLOCK_RUN_ID": step.runId, "AIRLOCK_STEP_ID": step.id,
            "AIRLOCK_ATTEMPT": String(step.attempt),
        ]
        for name in spec.env { if let value = host[name] { extra[name] = value } }
        var secrets = Secrets()
        for name in spec.secrets {
            guard let value = host[name] else {
                execution.hostFailure = "the secret \(name) is not set in the host's environment; not run"
                execution.endedAt = nowMs()
                return execution
            }
            extra[name] = value
            secrets.add(name: name, value: value)
        }
        var effects: Int32 = -1
        if airlock_memfd("airlock-effects", &effects) != 0 { effects = -1 }
        defer { if effects >= 0 { close(effects) } }
        let descriptors: [Int32: Int32] = effects >= 0 ? [3: effects] : [:]
        let protocolKind = argv == spec.command ? spec.protocolKind : .exec
        if protocolKind == .mcpStdio, let tool = spec.mcpTool {
            let input = (try? JSONValue.parse(step.input)) ?? .object([:])
            let conversation = await Self.converse(
                argv: argv, profile: profile, host: host, extra: extra, descriptors: descriptors
            ) { session, deadlines throws(MCPSessionError) in
                _ = try session.initialize(deadline: deadlines.initialize)
                return try session.callTool(name: tool, arguments: input, deadline: deadlines.end)
            }
            execution.report = conversation.report
            execution.hostFailure = conversation.hostFailure
            execution.mcpError = conversation.error
            execution.mcpError?.message = secrets.scrub(conversation.error?.message ?? "")
            execution.mcpBytes = conversation.bytesReceived
            if let value = conversation.value { execution.result = secrets.scrub(value) }
        } else {
            let request = SandboxRequest(
                argv: argv, profile: profile, hostEnvironment: host, extraEnvironment: extra,
                stdin: .bytes(Array(step.input.utf8)), stdout: .capture, stderr: .capture, extraDescriptors: descriptors)
            do {
                execution.report = try await Sandbox.run(request)
            } catch {
                execution.hostFailure = "\(error)"
            }
        }
        if var report = execution.report, !secrets.isEmpty {
            report.stdout = secrets.scrub(report.stdout)
            report.stderr = secrets.scrub(report.stderr)
            execution.report = report
        }
        if effects >= 0 { execution.effects = Self.readEffects(effects).map { secrets.scrub($0) } }
        if let failure = execution.hostFailure { execution.hostFailure = secrets.scrub(failure) }
        if let report = execution.report, protocolKind != .mcpStdio, report.outcome == .exited, report.exitCode == 0 {
            switch protocolKind {
            case _ where report.stdout.count > Self.maxResultBytes:
                execution.outputProblem = "the result is \(report.stdout.count) bytes; the most a step records is \(Self.maxResultBytes >> 20) MiB"
            case .exec:
                // Parsed, then scrubbed again: a secret may be written escaped in JSON.
                execution.result = secrets.scrub(Self.result(of: report.stdout))
            case .jsonStdio, .mcpStdio:
                do {
                    execution.result = secrets.scrub(try JSONValue.parse(report.stdout))
                } catch {
                    let excerpt = String(decoding: report.stdout.prefix(120), as: UTF8.self)
                    execution.outputProblem = report.stdout.isEmpty
                        ? "the tool wrote nothing on stdout; a json-stdio tool answers with one JSON value"
                        : "stdout is not one JSON value (\(error)): \(excerpt.debugDescription)"
                }
            }
        }
        if argv == spec.command, execution.outputProblem == nil, let schema = spec.outputSchema, let result = execution.result {
            let checked = protocolKind == .mcpStdio ? result["structuredContent"] : result
            if protocolKind != .mcpStdio || result["isError"]?.boolValue != true {
                if let checked {
                    execution.outputProblem = Self.outputViolations(schema: schema, checked)
                } else if protocolKind == .mcpStdio {
                    execution.outputProblem = "the tool declares an output schema but its result has no structuredContent"
                }
            }
        }
        execution.endedAt = nowMs()
        return execution
    }

    /// The most a step records as its result.
    static let maxResultBytes = 16 << 20

    /// Why a registered tool's filesystem grants may not be used now: a granted path that no
    /// longer resolves to itself (swapped for a symlink), or one inside Airlock's home.
    /// Only the plugin's own grants are looked at (its manifest's, and those of a profile file
    /// of its own); a built-in or search-path profile is the operator's.
    func grantProblem(_ spec: ToolSpec, _ profile: Profile) -> String? {
        let own = spec.allowRead + spec.allowWrite
        let fromFile = spec.profile.contains("/") ? profile.filesystem.read + profile.filesystem.write : []
        if own.isEmpty && fromFile.isEmpty { return nil }
        let home = Paths.real(self.home) ?? self.home
        for path in own {
            guard let real = Paths.real(path) else { continue }
            if real != path { return "the granted path \(path) now resolves to \(real) (replaced by a symlink?)" }
            if Paths.isInside(real, home) { return "the granted path \(path) reaches Airlock's home \(home)" }
        }
        for path in fromFile {
            if let real = Paths.real(path), Paths.isInside(real, home) {
                return "the granted path \(path) reaches Airlock's home \(home)"
            }
        }
        return nil
    }

    /// Why the result does not match the output schema, or nil when it does.
    static func outputViolations(schema: JSONValue, _ value: JSONValue) -> String? {
        guard let compiled = try? SchemaCache.schema(for: schema) else { return "the output schema itself is invalid" }
        let violations = compiled.validate(value)
        guard !violations.isEmpty else { return nil }
        return "the result does not match the output schema: " + violations.prefix(10).map(\.description).joined(separator: "; ")
    }

    /// Why the executable or a pinned script is not what was pinned, or nil when all match.
    static func changedPin(_ spec: ToolSpec, executable: String, since: String = "the step was created") throws -> String? {
        let digest = try Executable.digest(path: executable)
        if digest != spec.digest {
            return "the executable \(executable) changed since \(since) (digest \(digest.prefix(12))…, expected \(spec.digest.prefix(12))…)"
        }
        for (path, pinned) in spec.pins.sorted(by: { $0.key < $1.key }) {
            let now: String
            do { now = try Executable.digest(path: path) } catch { return "the pinned file \(path) is gone or unreadable" }
            if now != pinned {
                return "the pinned file \(path) changed since \(since) (digest \(now.prefix(12))…, expected \(pinned.prefix(12))…)"
            }
        }
        return nil
    }

    /// The effects the tool reported on descriptor 3: one JSON object per line. Lines that are
    /// not such objects are kept as `{"malformed": ...}`, never trusted.
    static func readEffects(_ fd: Int32) -> [JSONValue] {
        let cap = 1 << 20
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return [] }
        let wanted = Int(min(Int64(cap), Int64(st.st_size)))
        var bytes = [UInt8](repeating: 0, count: wanted)
        var count = 0
        while count < wanted {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + count, wanted - count, off_t(count)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            count += n
        }
        var effects: [JSONValue] = []
        for line in bytes[0..<count].split(separator: UInt8(ascii: "\n")) where effects.count < 1000 {
            let text = String(decoding: line, as: UTF8.self)
            if text.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
            if case .object(let object)? = try? JSONValue.parse(text), object["kind"]?.stringValue != nil {
                var effect: JSONObject = [:]
                for field in ["kind", "target", "externalId"] {
                    if let value = object[field]?.stringValue { effect[field] = .string(value) }
                }
                effects.append(.object(effect))
            } else {
                effects.append(["malformed": .string(String(decoding: line.prefix(200), as: UTF8.self))])
            }
        }
        if st.st_size > cap { effects.append(["malformed": "effects beyond 1 MiB were dropped"]) }
        return effects
    }

    // MARK: - Judging an attempt

    /// Success, a final failure, or another attempt, by the tool's retry policy.
    static func decide(_ spec: ToolSpec, attempt: Int, _ execution: Execution) -> RetryDecision {
        guard let report = execution.report else { return .final(execution.hostFailure ?? "the sandbox failed") }
        if spec.protocolKind == .mcpStdio && report.outcome != .setupFailed {
            return decideMCP(spec, attempt: attempt, execution, report)
        }
        if report.outcome == .exited && report.exitCode == 0 {
            if let problem = execution.outputProblem { return .final(problem) }
            return .succeeded
        }
        let what = report.outcome == .exited ? "exit code \(report.exitCode ?? -1)" : report.outcome.rawValue
        if spec.effect == .nonIdempotent && report.outcome != .exited && report.outcome != .setupFailed {
            return .inDoubt("\(what): the non-idempotent tool was stopped mid-run, so whether its effect happened is unknown")
        }
        switch report.outcome {
        case .setupFailed: return .final("\(what): the sandbox could not be set up; not retried")
        case .syscallBlocked: return .final("\(what): it would be blocked again; not retried")
        default: break
        }
        if report.outcome == .exited, let code = report.exitCode, spec.retry.nonRetryableExitCodes.contains(code) {
            return .final("\(what), declared not retryable")
        }
        if spec.effect == .nonIdempotent {
            guard let code = report.exitCode, spec.noEffectExitCodes.contains(code) else {
                return .final("\(what); a non-idempotent tool is retried only on an exit code it declares as failed before any effect")
            }
        }
        return retryOrFinal(spec, attempt: attempt, what)
    }

    /// Another attempt when the policy has one left, else the end.
    static func retryOrFinal(_ spec: ToolSpec, attempt: Int, _ what: String) -> RetryDecision {
        if attempt >= spec.retry.maxAttempts {
            return .final(spec.retry.maxAttempts > 1 ? "\(what) on the last of \(spec.retry.maxAttempts) attempts" : what)
        }
        let delay = spec.retry.delayMs(beforeAttempt: attempt + 1, random: RandomID.unit())
        return .retry(delayMs: delay, reason: "\(what); attempt \(attempt + 1) of \(spec.retry.maxAttempts) in \(delay) ms")
    }

    /// An MCP server's attempt: the conversation decides, not the exit status (the server is
    /// stopped once it has answered).
    static func decideMCP(_ spec: ToolSpec, attempt: Int, _ execution: Execution, _ report: SandboxReport) -> RetryDecision {
        if let result = execution.result {
            if result["isError"]?.boolValue == true {
                let what = "the tool answered with an error: " + (MCPText.firstText(result) ?? "(no text)")
                return spec.effect == .nonIdempotent ? .final(what) : retryOrFinal(spec, attempt: attempt, what)
            }
            if let problem = execution.outputProblem { return .final(problem) }
            return .succeeded
        }
        let error = execution.mcpError
        let what = error.map { "MCP \($0.phase): \($0.message)" } ?? "the MCP server stopped (\(report.outcome.rawValue)) without answering"
        if report.outcome == .syscallBlocked { return .final("\(what) (\(report.outcome.rawValue)): it would be blocked again; not retried") }
        // Before tools/call was sent nothing can have happened; a JSON-RPC error is the
        // server refusing the request. Otherwise a non-idempotent call's outcome is unknown.
        let beforeCall = error?.phase == "initialize"
        if error?.kind == .rpcError { return .final(what) }
        if spec.effect == .nonIdempotent && !beforeCall {
            return .inDoubt("\(what): whether the non-idempotent tool's effect happened is unknown")
        }
        return retryOrFinal(spec, attempt: attempt, what)
    }

    /// The step's error for a failed attempt.
    static func failure(_ execution: Execution, reason: String) -> JSONValue {
        var code = execution.report?.outcome.rawValue ?? "host_failure"
        if execution.outputProblem != nil {
            code = "bad_output"
        } else if execution.result?["isError"]?.boolValue == true {
            code = "tool_error"
        } else if let mcp = execution.mcpError, execution.report?.outcome != .setupFailed {
            code = "mcp_" + mcp.kind.rawValue
        }
        var error: JSONObject = ["code": .string(code), "message": .string(reason)]
        if let report = execution.report {
            if let code = report.exitCode { error["exitCode"] = .number(JSONNumber(Int(code))) }
            if let tail = stderrTail(report) { error["stderrTail"] = .string(tail) }
        }
        return .object(error)
    }

    static func stderrTail(_ report: SandboxReport) -> String? {
        guard !report.stderr.isEmpty else { return nil }
        return String(decoding: report.stderr.suffix(2048), as: UTF8.self)
    }

    /// The receipt of an attempt: what the sandbox saw, digests of the output, the effects,
    /// the result, and the retry decision.
    static func receipt(step: StepRecord, execution: Execution, decision: RetryDecision) -> JSONValue {
        var receipt: JSONObject = [
            "attempt": .number(JSONNumber(step.attempt)),
            "startedAt": .number(JSONNumber(execution.startedAt)), "endedAt": .number(JSONNumber(execution.endedAt)),
        ]
        if let report = execution.report {
            for member in report.json.objectValue ?? [:] { receipt[member.key] = member.value }
            if let bytes = execution.mcpBytes {
                receipt["stdoutBytes"] = .number(JSONNumber(bytes))  // the conversation, not stored
            } else {
                receipt["stdoutSha256"] = .string(SHA256Digest.hex(of: SHA256Digest.hash(report.stdout)))
            }
            receipt["stderrSha256"] = .string(SHA256Digest.hex(of: SHA256Digest.hash(report.stderr)))
            if let tail = stderrTail(report) { receipt["stderrTail"] = .string(tail) }
            if case .succeeded = decision { receipt["result"] = execution.result ?? .null }
            if let problem = execution.outputProblem { receipt["outputProblem"] = .string(problem) }
            if let mcp = execution.mcpError {
                receipt["mcpError"] = ["kind": .string(mcp.kind.rawValue), "phase": .string(mcp.phase), "message": .string(mcp.message)]
            }
            if let result = execution.result, result["isError"]?.boolValue == true { receipt["toolResult"] = result }
        } else {
            receipt["outcome"] = "host_failure"
            receipt["hostFailure"] = .string(execution.hostFailure ?? "unknown")
        }
        receipt["effects"] = .array(execution.effects)
        switch decision {
        case .succeeded: receipt["retry"] = ["decision": "none", "reason": "succeeded"]
        case .final(let reason): receipt["retry"] = ["decision": "final", "reason": .string(reason)]
        case .retry(let delay, let reason):
            receipt["retry"] = ["decision": "retry", "reason": .string(reason), "delayMs": .number(JSONNumber(UInt64(delay)))]
        case .inDoubt(let reason): receipt["retry"] = ["decision": "in_doubt", "reason": .string(reason)]
        }
        return .object(receipt)
    }

    /// A tool's result: its stdout as JSON when it is JSON, else as text.
    static func result(of stdout: [UInt8]) -> JSONValue {
        let text = String(decoding: stdout, as: UTF8.self)
        if let value = try? JSONValue.parse(text) { return value }
        return .string(text)
    }
}
