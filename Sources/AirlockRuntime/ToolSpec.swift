import AirlockJournal
import AirlockSandbox

/// When a failed attempt is tried again, and how long to wait first.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included (1: never retried).
    public var maxAttempts: Int = 1
    public var initialIntervalMs: UInt64 = 200
    public var backoff: Double = 2.0
    public var maxIntervalMs: UInt64 = 30_000
    /// Each wait is multiplied by a random factor in [1 - jitter, 1 + jitter].
    public var jitter: Double = 0.2
    /// Exit codes that mean "do not try again" (bad input, say).
    public var nonRetryableExitCodes: [Int32] = []

    public init() {}

    /// The wait before attempt `next` (2 or more), with jitter drawn from `random` in [0, 1).
    public func delayMs(beforeAttempt next: Int, random: Double) -> UInt64 {
        var delay = Double(initialIntervalMs)
        if next > 2 { for _ in 2..<next { delay *= backoff; if delay >= Double(maxIntervalMs) { break } } }
        delay = min(delay, Double(maxIntervalMs))
        let factor = 1 + jitter * (2 * random - 1)
        return UInt64(max(0, (delay * factor).rounded()))
    }
}

/// Whether a step waits for an operator before it runs.
public enum ApprovalPolicy: String, Sendable, CaseIterable {
    case never, always
}

/// How the host talks to a tool.
public enum ToolProtocol: String, Sendable, CaseIterable {
    /// An ad-hoc command (`call --exec`): the input on stdin, stdout is the result (JSON when
    /// it parses, else text).
    case exec
    /// The input object on stdin; exactly one JSON value on stdout is the result.
    case jsonStdio = "json-stdio"
    /// An MCP server started for the call: initialize, one `tools/call`, stop.
    case mcpStdio = "mcp-stdio"
}

/// Everything needed to run a tool's step, now or on resume: stored in the step's intent.
public struct ToolSpec: Sendable, Equatable {
    public var name: String
    public var version: String
    /// SHA-256 of the executable (hex), taken when the step is created.
    public var digest: String
    public var command: [String]
    public var effect: EffectClass
    /// A profile name or the path of a profile JSON file.
    public var profile: String = "default"
    public var timeoutMs: UInt64?
    public var memoryBytes: UInt64?
    public var allowRead: [String] = []
    public var allowWrite: [String] = []
    public var network: NetworkMode?
    /// Host variables passed through by name.
    public var env: [String] = []
    public var approval: ApprovalPolicy = .never
    /// How long an approval stays good, in seconds (nil: until used).
    public var approvalTTLSeconds: UInt64?
    public var retry = RetryPolicy()
    /// Exit codes the tool declares as "failed before any effect": the only ones after which a
    /// non-idempotent step is retried.
    public var noEffectExitCodes: [Int32] = []
    /// A read-only probe: "did the effect of this key happen?" (argv; the input on stdin).
    public var reconcile: [String]?
    public var protocolKind: ToolProtocol = .exec
    /// For `mcp-stdio`: the server's name for the tool.
    public var mcpTool: String?
    /// The result must match this JSON Schema (2020-12), else the attempt fails as `bad_output`.
    public var outputSchema: JSONValue?
    /// Host variables handed to the tool as secrets: never journaled, scrubbed from its output.
    public var secrets: [String] = []
    public var cpuTimeMs: UInt64?
    public var processes: UInt64?
    public var outputBytes: UInt64?
    /// Other files the command runs (scripts, by absolute path) and their SHA-256, checked
    /// before every attempt like `digest`.
    public var pins: [String: String] = [:]

    public init(name: String, version: String, digest: String, command: [String], effect: EffectClass) {
        self.name = name
        self.version = version
        self.digest = digest
        self.command = command
        self.effect = effect
    }
}

// MARK: - JSON

extension ToolSpec {
    /// The spec as stored in the journal.
    public var json: JSONValue {
        var object: JSONObject = [
            "name": .string(name), "version": .string(version), "digest": .string(digest),
            "command": .array(command.map { .string($0) }), "effect": .string(effect.rawValue),
            "profile": .string(profile), "approval": .string(approval.rawValue),
        ]
        if let timeoutMs { object["timeoutMs"] = .number(JSONNumber(UInt64(timeoutMs))) }
        if let memoryBytes { object["memoryBytes"] = .number(JSONNumber(UInt64(memoryBytes))) }
        if !allowRead.isEmpty { object["allowRead"] = .array(allowRead.map { .string($0) }) }
        if !allowWrite.isEmpty { object["allowWrite"] = .array(allowWrite.map { .string($0) }) }
        if let network { object["network"] = .string(network.rawValue) }
        if !env.isEmpty { object["env"] = .array(env.map { .string($0) }) }
        if let approvalTTLSeconds { object["approvalTTLSeconds"] = .number(JSONNumber(UInt64(approvalTTLSeconds))) }
        object["retry"] = [
            "maxAttempts": .number(JSONNumber(retry.maxAttempts)),
            "initialIntervalMs": .number(JSONNumber(UInt64(retry.initialIntervalMs))),
            "backoff": .number(JSONNumber(retry.backoff) ?? JSONNumber(2)),
            "maxIntervalMs": .number(JSONNumber(UInt64(retry.maxIntervalMs))),
            "jitter": .number(JSONNumber(retry.jitter) ?? JSONNumber(0)),
            "nonRetryableExitCodes": .array(retry.nonRetryableExitCodes.map { .number(JSONNumber(Int($0))) }),
        ]
        object["noEffectExitCodes"] = .array(noEffectExitCodes.map { .number(JSONNumber(Int($0))) })
        if let reconcile { object["reconcile"] = .array(reconcile.map { .string($0) }) }
        if protocolKind != .exec { object["protocol"] = .string(protocolKind.rawValue) }
        if let mcpTool { object["mcpTool"] = .string(mcpTool) }
        if let outputSchema { object["outputSchema"] = outputSchema }
        if !secrets.isEmpty { object["secrets"] = .array(secrets.map { .string($0) }) }
        if let cpuTimeMs { object["cpuTimeMs"] = .number(JSONNumber(UInt64(cpuTimeMs))) }
        if let processes { object["processes"] = .number(JSONNumber(UInt64(processes))) }
        if let outputBytes { object["outputBytes"] = .number(JSONNumber(UInt64(outputBytes))) }
        if !pins.isEmpty {
            var pinned = JSONObject()
            for (path, digest) in pins.sorted(by: { $0.key < $1.key }) { pinned[path] = .string(digest) }
            object["pins"] = .object(pinned)
        }
        return .object(object)
    }

    /// Reads a stored spec back.
    public init(json: JSONValue) throws {
        func bad(_ what: String) -> RuntimeError { RuntimeError(.badRecord, "stored tool spec: \(what)") }
        guard let object = json.objectValue,
            let name = object["name"]?.stringValue, let version = object["version"]?.stringValue,
            let digest = object["digest"]?.stringValue,
            let command = object["command"]?.arrayValue?.compactMap(\.stringValue), !command.isEmpty,
            let effect = object["effect"]?.stringValue.flatMap(EffectClass.init(rawValue:))
        else { throw bad("missing name, version, digest, command or effect") }
        self.init(name: name, version: version, digest: digest, command: command, effect: effect)
        profile = object["profile"]?.stringValue ?? "default"
        timeoutMs = object["timeoutMs"]?.numberValue?.uint64
        memoryBytes = object["memoryBytes"]?.numberValue?.uint64
        allowRead = object["allowRead"]?.arrayValue?.compactMap(\.stringValue) ?? []
        allowWrite = object["allowWrite"]?.arrayValue?.compactMap(\.stringValue) ?? []
        network = object["network"]?.stringValue.flatMap(NetworkMode.init(rawValue:))
        env = object["env"]?.arrayValue?.compactMap(\.stringValue) ?? []
        approval = object["approval"]?.stringValue.flatMap(ApprovalPolicy.init(rawValue:)) ?? .never
        approvalTTLSeconds = object["approvalTTLSeconds"]?.numberValue?.uint64
        if let r = object["retry"]?.objectValue {
            retry.maxAttempts = r["maxAttempts"]?.numberValue?.int64.map { Int($0) } ?? 1
            retry.initialIntervalMs = r["initialIntervalMs"]?.numberValue?.uint64 ?? retry.initialIntervalMs
            retry.backoff = r["backoff"]?.numberValue?.double ?? retry.backoff
            retry.maxIntervalMs = r["maxIntervalMs"]?.numberValue?.uint64 ?? retry.maxIntervalMs
            retry.jitter = r["jitter"]?.numberValue?.double ?? retry.jitter
            retry.nonRetryableExitCodes = r["nonRetryableExitCodes"]?.arrayValue?.compactMap { $0.numberValue?.int64.map { Int32(truncatingIfNeeded: $0) } } ?? []
        }
        // A hand-edited journal must not make arithmetic trap: clamp to what the CLI accepts.
        retry.maxAttempts = min(max(retry.maxAttempts, 1), 1000)
        retry.initialIntervalMs = min(retry.initialIntervalMs, 86_400_000)
        retry.maxIntervalMs = min(retry.maxIntervalMs, 86_400_000)
        if !(retry.backoff >= 1 && retry.backoff <= 100) { retry.backoff = 2 }
        if !(retry.jitter >= 0 && retry.jitter <= 1) { retry.jitter = 0.2 }
        noEffectExitCodes = object["noEffectExitCodes"]?.arrayValue?.compactMap { $0.numberValue?.int64.map { Int32(truncatingIfNeeded: $0) } } ?? []
        reconcile = object["reconcile"]?.arrayValue?.compactMap(\.stringValue)
        if let text = object["protocol"]?.stringValue {
            guard let kind = ToolProtocol(rawValue: text) else { throw bad("unknown protocol '\(text)'") }
            protocolKind = kind
        }
        mcpTool = object["mcpTool"]?.stringValue
        if protocolKind == .mcpStdio && mcpTool == nil { throw bad("an mcp-stdio tool without mcpTool") }
        outputSchema = object["outputSchema"]
        secrets = object["secrets"]?.arrayValue?.compactMap(\.stringValue) ?? []
        cpuTimeMs = object["cpuTimeMs"]?.numberValue?.uint64
        processes = object["processes"]?.numberValue?.uint64
        outputBytes = object["outputBytes"]?.numberValue?.uint64
        for member in object["pins"]?.objectValue ?? [:] {
            if let digest = member.value.stringValue { pins[member.key] = digest }
        }
    }

    /// The profile this spec runs under, with its overrides applied.
    public func resolvedProfile() throws -> Profile {
        var profile = try Profile.named(self.profile)
        if let timeoutMs { profile.limits.wallTimeMs = timeoutMs }
        if let memoryBytes { profile.limits.memoryBytes = memoryBytes }
        if let cpuTimeMs { profile.limits.cpuTimeMs = cpuTimeMs }
        if let processes { profile.limits.processes = processes }
        if let outputBytes { profile.limits.outputBytes = outputBytes }
        profile.filesystem.read.append(contentsOf: allowRead)
        // The plugin's own pinned files (a script run by an interpreter) are readable, as the
        // executable itself is.
        profile.filesystem.read.append(contentsOf: pins.keys.sorted())
        profile.filesystem.write.append(contentsOf: allowWrite)
        if let network { profile.network = network }
        return profile
    }
}
