import AirlockJournal
import AirlockSandbox

/// What recovery did with one step.
public struct RecoveryItem: Sendable {
    public var stepId: String
    /// `ran` (a new attempt, or an approved step), `in_doubt`, `reconciled`, `skipped` (a live
    /// host holds it, or it still waits for approval).
    public var action: String
    public var answer: CallAnswer

    public init(stepId: String, action: String, answer: CallAnswer) {
        self.stepId = stepId
        self.action = action
        self.answer = answer
    }
}

extension Runtime {
    // MARK: - Recovery

    /// Recovery of the steps other hosts left unfinished (all runs, or one): steps of dead hosts
    /// are re-run when their tool is safe to re-run and put in doubt otherwise (with the tool's
    /// reconcile probe, when it has one); pending retries (at once, without their remaining wait)
    /// and approved steps run. Up to `concurrency` steps are recovered at a time.
    public func resume(run: String? = nil, concurrency: Int = 4) async throws -> [RecoveryItem] {
        let candidates = try journal.unfinishedSteps().filter { run == nil || $0.runId == run }.map(\.id)
        // A few at a time: their transactions share commits, their tools use both cores.
        var items: [RecoveryItem] = []
        try await withThrowingTaskGroup(of: (Int, RecoveryItem?).self) { group in
            var next = 0
            func launch() {
                let index = next
                let id = candidates[index]
                next += 1
                group.addTask {
                    // One bad step (a damaged record) must not cancel the others' running tools.
                    do {
                        return (index, try await self.recover(id))
                    } catch {
                        return (index, await self.failedRecovery(id, error))
                    }
                }
            }
            while next < candidates.count && next < max(1, concurrency) { launch() }
            var done: [(Int, RecoveryItem)] = []
            while let (index, item) = try await group.next() {
                if let item { done.append((index, item)) }
                if next < candidates.count { launch() }
            }
            items = done.sorted { $0.0 < $1.0 }.map(\.1)
        }
        // In-doubt steps whose tool has a probe get asked again.
        let seen = Set(items.map(\.stepId))
        for candidate in try journal.steps(StepFilter(states: [.inDoubt], runId: run))
        where !seen.contains(candidate.id) && (try? ToolSpec(json: candidate.spec))?.reconcile != nil {
            let answer = try await reconcile(candidate)
            items.append(RecoveryItem(stepId: candidate.id, action: answer.status == .inDoubt ? "in_doubt" : "reconciled", answer: answer))
        }
        return items
    }

    /// The item for a step whose recovery threw: reported as `error`, left as it was.
    func failedRecovery(_ id: String, _ error: any Error) async -> RecoveryItem {
        let step = (try? journal.step(idOrKey: id)) ?? nil
        let placeholder = StepRecord(
            id: id, runId: step?.runId ?? "?", key: step?.key ?? "?", tool: step?.tool ?? "?", toolVersion: "", toolDigest: "",
            effect: step?.effect ?? .nonIdempotent, input: "{}", fingerprint: "", spec: .null, state: step?.state ?? .started,
            createdAt: 0, updatedAt: 0)
        return RecoveryItem(
            stepId: id, action: "error",
            answer: CallAnswer(status: .inProgress, step: step ?? placeholder, replayed: true, receipt: nil, message: "could not recover step \(id): \(error)"))
    }

    /// Recovers one step: claims it in a transaction (as a call with its key would), then does
    /// what the claim says.
    func recover(_ id: String) async throws -> RecoveryItem? {
        let claim = try await journal.write { tx -> Claim? in
            guard let step = try tx.step(id: id) else { return nil }
            switch step.state {
            case .started, .pending, .awaitingApproval:
                return try self.claim(tx, step, now: nowMs())
            case .inDoubt:
                return (try? ToolSpec(json: step.spec))?.reconcile != nil ? .probe(step) : nil
            case .succeeded, .failed:
                return nil
            }
        }
        guard let claim else { return nil }
        let answer = try await carryOut(claim)
        let action: String
        switch (claim, answer.status) {
        case (.run, _): action = "ran"
        case (.probe, .inDoubt): action = "in_doubt"
        case (.probe, _): action = "reconciled"
        case (.answer, .inDoubt): action = "in_doubt"
        default: action = "skipped"
        }
        return RecoveryItem(stepId: id, action: action, answer: answer)
    }

    /// Runs an in-doubt step's reconcile probe and records its answer. `{"happened": true,
    /// "result": ...}` finishes the step as succeeded; `{"happened": false}` starts a new attempt;
    /// anything else leaves it in doubt.
    func reconcile(_ inDoubt: StepRecord) async throws -> CallAnswer {
        let spec = try ToolSpec(json: inDoubt.spec)
        guard let probe = spec.reconcile, !probe.isEmpty else {
            return CallAnswer(status: .inDoubt, step: inDoubt, replayed: false, receipt: nil, message: inDoubtMessage(inDoubt))
        }
        let execution = await execute(spec, step: inDoubt, argv: probe)
        var finding: JSONObject = ["probe": .array(probe.map { .string($0) })]
        var happened: Bool?
        var result: JSONValue = .null
        if let report = execution.report {
            finding["outcome"] = .string(report.outcome.rawValue)
            if let code = report.exitCode { finding["exitCode"] = .number(JSONNumber(Int(code))) }
            // The probe's stdout as parsed (and scrubbed of secrets) by `execute`.
            if report.outcome == .exited, report.exitCode == 0, case .object(let answer)? = execution.result {
                happened = answer["happened"]?.boolValue
                result = answer["result"] ?? .null
                finding["answer"] = .object(answer)
            }
        } else {
            finding["hostFailure"] = .string(execution.hostFailure ?? "unknown")
        }
        let verdict = happened
        let recorded = result
        let record = finding
        let id = inDoubt.id
        let claim = try await journal.write { tx -> Claim in
            let now = nowMs()
            guard var step = try tx.step(id: id), step.state == .inDoubt else {
                let current = try tx.step(id: id) ?? inDoubt
                return .answer(self.answer(tx, current, status: .inDoubt, replayed: true, message: "step \(id) is no longer in doubt"))
            }
            try tx.insertDecision(DecisionRecord(
                stepId: id, kind: .reconcile, fingerprint: step.fingerprint, by: "reconcile-probe", reason: nil, at: now,
                detail: .object(record)))
            var event: JSONObject = ["run": .string(step.runId), "step": .string(id), "fingerprint": .string(step.fingerprint)]
            event["happened"] = verdict.map { .bool($0) } ?? .null
            try tx.appendAudit(kind: "reconcile", at: now, event: event)
            switch verdict {
            case true?:
                step.state = .succeeded
                step.result = recorded
                step.error = nil
                step.updatedAt = now
                try tx.updateStep(step)
                return .answer(self.answer(tx, step, status: .succeeded, replayed: false, message: "step \(id): the reconcile probe found that the effect happened; recorded as succeeded"))
            case false?:
                try self.startAttempt(tx, &step, now: now)
                return .run(step)
            case nil:
                return .answer(self.answer(tx, step, status: .inDoubt, replayed: false, message: self.inDoubtMessage(step) + " (its reconcile probe gave no answer)"))
            }
        }
        return try await carryOut(claim)
    }
}
