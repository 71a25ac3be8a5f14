import AirlockJournal
import AirlockSandbox

/// An operator's verdict on an in-doubt step.
public enum Resolution: String, Sendable, CaseIterable {
    /// The effect happened: finish the step with the given result.
    case succeeded
    /// The effect did not happen and must not be tried again: finish the step as failed.
    case failed
    /// The effect did not happen: run the step again (a new attempt, on `resume` or the next call).
    case retry
}

extension Runtime {
    // MARK: - Operator decisions

    /// Approves a step that waits for approval, for its current fingerprint only, until
    /// `expiresInSeconds` (default: the tool's approval TTL) from now.
    public func approve(_ idOrKey: String, by: String, reason: String?, expiresInSeconds: UInt64? = nil) async throws -> StepRecord {
        let id = try stepId(idOrKey)
        return try await journal.write { tx -> StepRecord in
            let now = nowMs()
            let step = try self.lockedStep(tx, id, expecting: [.awaitingApproval], verb: "approve")
            // The operator's expiry, else the tool's policy (`approvalTTLSeconds`), else none.
            let ttl = expiresInSeconds ?? (try? ToolSpec(json: step.spec))?.approvalTTLSeconds
            let expires = ttl.map { now + Int64(min($0, 1 << 40)) * 1000 }
            try tx.insertDecision(DecisionRecord(
                stepId: step.id, kind: .approve, fingerprint: step.fingerprint, by: by, reason: reason, at: now, expiresAt: expires))
            var event = self.decisionEvent(step, by: by, reason: reason)
            if let expires { event["expiresAt"] = .number(JSONNumber(expires)) }
            try tx.appendAudit(kind: "approve", at: now, event: event)
            return step
        }
    }

    /// Denies a step that waits for approval: it fails, and nothing runs.
    public func deny(_ idOrKey: String, by: String, reason: String?) async throws -> StepRecord {
        let id = try stepId(idOrKey)
        return try await journal.write { tx -> StepRecord in
            let now = nowMs()
            var step = try self.lockedStep(tx, id, expecting: [.awaitingApproval], verb: "deny")
            try tx.insertDecision(DecisionRecord(stepId: step.id, kind: .deny, fingerprint: step.fingerprint, by: by, reason: reason, at: now))
            try tx.appendAudit(kind: "deny", at: now, event: self.decisionEvent(step, by: by, reason: reason))
            step.state = .failed
            step.error = ["code": "denied", "message": .string("denied by \(by)" + (reason.map { ": \($0)" } ?? ""))]
            step.updatedAt = now
            try tx.updateStep(step)
            return step
        }
    }

    /// The only way out of `in_doubt` besides a reconcile probe: an operator's recorded verdict.
    public func resolve(_ idOrKey: String, as resolution: Resolution, reason: String, result: JSONValue?, by: String) async throws -> StepRecord {
        let id = try stepId(idOrKey)
        if reason.isEmpty { throw RuntimeError(.usage, "a resolution needs a reason") }
        if resolution != .succeeded, result != nil { throw RuntimeError(.usage, "--result goes with --as succeeded only") }
        return try await journal.write { tx -> StepRecord in
            let now = nowMs()
            var step = try self.lockedStep(tx, id, expecting: [.inDoubt], verb: "resolve")
            var detail: JSONObject = ["as": .string(resolution.rawValue)]
            if let result { detail["result"] = result }
            try tx.insertDecision(DecisionRecord(
                stepId: step.id, kind: .resolve, fingerprint: step.fingerprint, by: by, reason: reason, at: now, detail: .object(detail)))
            var event = self.decisionEvent(step, by: by, reason: reason)
            event["as"] = .string(resolution.rawValue)
            if let result { event["resultSha256"] = .string(AuditChain.sha256(result.serialized())) }
            try tx.appendAudit(kind: "resolve", at: now, event: event)
            switch resolution {
            case .succeeded:
                step.state = .succeeded
                step.result = result ?? .null
                step.error = nil
            case .failed:
                step.state = .failed
                step.error = ["code": "resolved_failed", "message": .string("resolved as failed by \(by): \(reason)")]
            case .retry:
                // No owner: the next `resume`, or a call with the key, starts a new attempt.
                step.state = .pending
                step.owner = nil
                step.error = nil
            }
            step.updatedAt = now
            try tx.updateStep(step)
            return step
        }
    }

    /// The step's id for an id or an idempotency key.
    func stepId(_ idOrKey: String) throws -> String {
        guard let step = try journal.step(idOrKey: idOrKey) else {
            throw RuntimeError(.notFound, "no step with id or key '\(idOrKey)'")
        }
        return step.id
    }

    /// The step as it is inside this transaction, refused unless it is in one of `states`.
    func lockedStep(_ tx: any JournalTransaction, _ id: String, expecting states: [StepState], verb: String) throws -> StepRecord {
        guard let step = try tx.step(id: id) else { throw RuntimeError(.notFound, "no step \(id)") }
        guard states.contains(step.state) else {
            let wanted = states.map(\.rawValue).joined(separator: " or ")
            throw RuntimeError(.invalidState, "cannot \(verb) step \(id): it is \(step.state.rawValue), not \(wanted)")
        }
        return step
    }

    func decisionEvent(_ step: StepRecord, by: String, reason: String?) -> JSONObject {
        var event: JSONObject = [
            "run": .string(step.runId), "step": .string(step.id), "fingerprint": .string(step.fingerprint), "by": .string(by),
        ]
        if let reason { event["reason"] = .string(reason) }
        return event
    }
}
