import AirlockJournal
import AirlockSandbox

// The JSON shapes the CLI (and later the gateway) print. Field names are a contract.

extension StepRecord {
    public var json: JSONValue {
        var object: JSONObject = [
            "id": .string(id), "run": .string(runId), "key": .string(key), "tool": .string(tool),
            "toolVersion": .string(toolVersion), "toolDigest": .string(toolDigest), "effect": .string(effect.rawValue),
            "state": .string(state.rawValue), "attempt": .number(JSONNumber(attempt)), "fingerprint": .string(fingerprint),
            "input": (try? JSONValue.parse(input)) ?? .string(input),
            "createdAt": .number(JSONNumber(createdAt)), "updatedAt": .number(JSONNumber(updatedAt)),
        ]
        if let owner { object["owner"] = .string(owner) }
        if let result { object["result"] = result }
        if let error { object["error"] = error }
        if let nextAttemptAt { object["nextAttemptAt"] = .number(JSONNumber(nextAttemptAt)) }
        return .object(object)
    }
}

extension AttemptRecord {
    public var json: JSONValue {
        var object: JSONObject = [
            "attempt": .number(JSONNumber(attempt)), "owner": .string(owner), "startedAt": .number(JSONNumber(startedAt)),
        ]
        if let endedAt { object["endedAt"] = .number(JSONNumber(endedAt)) }
        object["receipt"] = receipt ?? .null
        return .object(object)
    }
}

extension DecisionRecord {
    public var json: JSONValue {
        var object: JSONObject = [
            "kind": .string(kind.rawValue), "by": .string(by), "at": .number(JSONNumber(at)), "fingerprint": .string(fingerprint),
        ]
        if let reason { object["reason"] = .string(reason) }
        if let expiresAt { object["expiresAt"] = .number(JSONNumber(expiresAt)) }
        if let detail { object["detail"] = detail }
        return .object(object)
    }
}

extension RunSummary {
    public var json: JSONValue {
        var states: JSONObject = [:]
        for state in StepState.allCases { if let n = counts[state] { states[state.rawValue] = .number(JSONNumber(n)) } }
        return [
            "id": .string(id), "createdAt": .number(JSONNumber(createdAt)), "updatedAt": .number(JSONNumber(updatedAt)),
            "steps": .number(JSONNumber(counts.values.reduce(0, +))), "states": .object(states),
        ]
    }
}

extension CallAnswer {
    public var json: JSONValue {
        var object: JSONObject = [
            "status": .string(status.rawValue), "step": .string(step.id), "run": .string(step.runId), "key": .string(step.key),
            "state": .string(step.state.rawValue), "attempt": .number(JSONNumber(step.attempt)), "replayed": .bool(replayed),
            "message": .string(message),
        ]
        if let result = step.result { object["result"] = result }
        if let error = step.error { object["error"] = error }
        if let receipt { object["receipt"] = receipt }
        return .object(object)
    }
}
