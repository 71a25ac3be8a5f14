import AirlockJournal
import AirlockSandbox

/// What the operator decides at `tools add`, over the plugin's own declarations.
public struct ToolOverrides: Sendable, Equatable {
    public var effect: EffectClass?
    public var approval: ApprovalPolicy?
    public var approvalTTLSeconds: UInt64?
    public var wallTimeMs: UInt64?
    public var memoryBytes: UInt64?
    public var cpuTimeMs: UInt64?
    public var processes: UInt64?
    public var outputBytes: UInt64?
    public var maxAttempts: Int?
    public var profile: String?
    public var network: NetworkMode?

    public init() {}

    /// `other`'s values where it has them, else these.
    public func merged(with other: ToolOverrides) -> ToolOverrides {
        var result = self
        if let v = other.effect { result.effect = v }
        if let v = other.approval { result.approval = v }
        if let v = other.approvalTTLSeconds { result.approvalTTLSeconds = v }
        if let v = other.wallTimeMs { result.wallTimeMs = v }
        if let v = other.memoryBytes { result.memoryBytes = v }
        if let v = other.cpuTimeMs { result.cpuTimeMs = v }
        if let v = other.processes { result.processes = v }
        if let v = other.outputBytes { result.outputBytes = v }
        if let v = other.maxAttempts { result.maxAttempts = v }
        if let v = other.profile { result.profile = v }
        if let v = other.network { result.network = v }
        return result
    }

    public var json: JSONValue {
        var object = JSONObject()
        if let effect { object["effect"] = .string(effect.rawValue) }
        if let approval { object["approval"] = .string(approval.rawValue) }
        if let approvalTTLSeconds { object["approvalTTLSeconds"] = .number(JSONNumber(UInt64(approvalTTLSeconds))) }
        if let wallTimeMs { object["wallTimeMs"] = .number(JSONNumber(UInt64(wallTimeMs))) }
        if let memoryBytes { object["memoryBytes"] = .number(JSONNumber(UInt64(memoryBytes))) }
        if let cpuTimeMs { object["cpuTimeMs"] = .number(JSONNumber(UInt64(cpuTimeMs))) }
        if let processes { object["processes"] = .number(JSONNumber(UInt64(processes))) }
        if let outputBytes { object["outputBytes"] = .number(JSONNumber(UInt64(outputBytes))) }
        if let maxAttempts { object["maxAttempts"] = .number(JSONNumber(maxAttempts)) }
        if let profile { object["profile"] = .string(profile) }
        if let network { object["network"] = .string(network.rawValue) }
        return .object(object)
    }

    init(json: JSONValue?) {
        guard let object = json?.objectValue else { return }
        effect = object["effect"]?.stringValue.flatMap(EffectClass.init(rawValue:))
        approval = object["approval"]?.stringValue.flatMap(ApprovalPolicy.init(rawValue:))
        approvalTTLSeconds = object["approvalTTLSeconds"]?.numberValue?.uint64
        wallTimeMs = object["wallTimeMs"]?.numberValue?.uint64
        memoryBytes = object["memoryBytes"]?.numberValue?.uint64
        cpuTimeMs = object["cpuTimeMs"]?.numberValue?.uint64
        processes = object["processes"]?.numberValue?.uint64
        outputBytes = object["outputBytes"]?.numberValue?.uint64
        maxAttempts = object["maxAttempts"]?.numberValue?.int64.map { Int(min(max($0, 1), 1000)) }
        profile = object["profile"]?.stringValue
        network = object["network"]?.stringValue.flatMap(NetworkMode.init(rawValue:))
    }
}

/// A tool in the registry: where it came from, what is pinned, what it accepts, and the
/// spec every call runs with (the plugin's declarations with the operator's overrides).
public struct ToolRegistration: Sendable, Equatable {
    public var name: String
    public var description: String
    public var manifestPath: String
    public var manifestSha256: String
    public var inputSchema: JSONValue
    public var outputSchema: JSONValue?
    /// The effect class, approval and so on the plugin declared (its manifest, or for an MCP
    /// server its annotations): defaults only.
    public var declared: JSONObject
    public var overrides: ToolOverrides
    /// MCP tool annotations as the server sent them (mcp-stdio), else empty.
    public var serverAnnotations: JSONObject
    public var title: String?
    public var spec: ToolSpec
    public var addedBy: String

    /// Every pinned file with its SHA-256: the executable, then the plugin's scripts.
    public var pins: [(path: String, sha256: String)] {
        [(spec.command[0], spec.digest)] + spec.pins.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    public var json: JSONValue {
        var object: JSONObject = [
            "name": .string(name), "description": .string(description), "manifestPath": .string(manifestPath),
            "manifestSha256": .string(manifestSha256), "inputSchema": inputSchema, "declared": .object(declared),
            "overrides": overrides.json, "serverAnnotations": .object(serverAnnotations), "spec": spec.json,
            "addedBy": .string(addedBy),
        ]
        if let outputSchema { object["outputSchema"] = outputSchema }
        if let title { object["title"] = .string(title) }
        return .object(object)
    }

    public init(
        name: String, description: String, manifestPath: String, manifestSha256: String, inputSchema: JSONValue,
        outputSchema: JSONValue?, declared: JSONObject, overrides: ToolOverrides, serverAnnotations: JSONObject,
        title: String?, spec: ToolSpec, addedBy: String
    ) {
        self.name = name
        self.description = description
        self.manifestPath = manifestPath
        self.manifestSha256 = manifestSha256
        self.inputSchema = inputSchema
        self.outputSchema = outputSchema
        self.declared = declared
        self.overrides = overrides
        self.serverAnnotations = serverAnnotations
        self.title = title
        self.spec = spec
        self.addedBy = addedBy
    }

    public init(json: JSONValue) throws {
        guard let object = json.objectValue, let name = object["name"]?.stringValue,
            let manifestPath = object["manifestPath"]?.stringValue, let manifestSha256 = object["manifestSha256"]?.stringValue,
            let inputSchema = object["inputSchema"], let spec = object["spec"]
        else { throw RuntimeError(.badRecord, "a stored tool registration lacks its name, manifest or spec") }
        self.init(
            name: name, description: object["description"]?.stringValue ?? "", manifestPath: manifestPath,
            manifestSha256: manifestSha256, inputSchema: inputSchema, outputSchema: object["outputSchema"],
            declared: object["declared"]?.objectValue ?? [:], overrides: ToolOverrides(json: object["overrides"]),
            serverAnnotations: object["serverAnnotations"]?.objectValue ?? [:], title: object["title"]?.stringValue,
            spec: try ToolSpec(json: spec), addedBy: object["addedBy"]?.stringValue ?? "")
    }

    /// MCP tool annotations: from the effective effect class and network, the server's own
    /// hints kept where the effect class does not decide them.
    public var annotations: JSONObject {
        var hints = JSONObject()
        if let title { hints["title"] = .string(title) }
        let effect = spec.effect
        hints["readOnlyHint"] = .bool(effect == .readOnly)
        hints["idempotentHint"] = .bool(effect != .nonIdempotent)
        // Only a read-only tool is known not to destroy; a server's "false" is kept for others.
        let serverSaysHarmless = serverAnnotations["destructiveHint"]?.boolValue == false
        hints["destructiveHint"] = .bool(effect != .readOnly && !serverSaysHarmless)
        let network = (try? spec.resolvedProfile().network) ?? spec.network ?? .none
        hints["openWorldHint"] = .bool(network != .none)
        return hints
    }
}
