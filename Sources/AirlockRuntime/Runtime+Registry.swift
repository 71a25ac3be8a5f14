import AirlockJournal
import AirlockSandbox

/// One registered tool's check by `tools verify`.
public struct ToolVerification: Sendable {
    public enum Status: String, Sendable { case ok, changed, missing }
    public var name: String
    public var status: Status
    /// One line per pinned file (or the manifest) that is not as registered.
    public var problems: [String]

    public var json: JSONValue {
        ["name": .string(name), "status": .string(status.rawValue), "problems": .array(problems.map { .string($0) })]
    }
}

extension Runtime {
    // MARK: - Registry

    /// Registers the plugin of a manifest (an MCP server: each of its tools), pinning the
    /// executable, the plugin's scripts and the manifest. A tool of the same name is replaced:
    /// this is also how an operator approves a changed binary. The operator's earlier
    /// overrides are kept unless `replaceOverrides`; `overrides` are applied on top.
    public func addTools(manifestPath: String, overrides: ToolOverrides, replaceOverrides: Bool = false, by: String) async throws -> [ToolRegistration] {
        let manifest = try ToolManifest.load(path: manifestPath, home: home)
        var pins: [String: String] = [:]
        let digest = try Executable.digest(path: manifest.command[0])
        for script in manifest.scripts { pins[script] = try Executable.digest(path: script) }

        var base = ToolSpec(name: manifest.name, version: manifest.version, digest: digest, command: manifest.command, effect: .nonIdempotent)
        base.profile = manifest.profile
        base.timeoutMs = manifest.wallTimeMs
        base.cpuTimeMs = manifest.cpuTimeMs
        base.memoryBytes = manifest.memoryBytes
        base.processes = manifest.processes
        base.outputBytes = manifest.outputBytes
        base.allowRead = manifest.read
        base.allowWrite = manifest.write
        base.network = manifest.network
        base.env = manifest.env
        base.secrets = manifest.secrets
        base.approval = manifest.approval ?? .never
        base.approvalTTLSeconds = manifest.approvalTTLSeconds
        base.retry = manifest.retry ?? RetryPolicy()
        base.noEffectExitCodes = manifest.noEffectExitCodes
        base.reconcile = manifest.reconcile
        base.protocolKind = manifest.protocolKind
        base.outputSchema = manifest.outputSchema
        base.pins = pins

        var declaredBase: JSONObject = ["approval": .string(base.approval.rawValue)]
        if let effect = manifest.effect { declaredBase["effect"] = .string(effect.rawValue) }

        struct Candidate {
            var name: String
            var description: String
            var title: String?
            var inputSchema: JSONValue
            var outputSchema: JSONValue?
            var effect: EffectClass
            var annotations: JSONObject
            var mcpTool: String?
        }
        var candidates: [Candidate] = []
        switch manifest.protocolKind {
        case .jsonStdio, .exec:
            candidates.append(Candidate(
                name: manifest.name, description: manifest.description, inputSchema: manifest.inputSchema ?? .object([:]),
                outputSchema: manifest.outputSchema, effect: manifest.effect ?? .nonIdempotent, annotations: [:]))
        case .mcpStdio:
            // Listed under the profile the calls will have (the operator's choice included).
            var listing = base
            if let profile = overrides.profile { listing.profile = profile }
            if let network = overrides.network { listing.network = network }
            if let wall = overrides.wallTimeMs { listing.timeoutMs = wall }
            // Starting and listing is an operator's one-off action: the server gets at least
            // 30 s for it whatever its per-call limit (a slow start must not fail `add`).
            var listingProfile = try listing.resolvedProfile()
            listingProfile.limits.wallTimeMs = max(listingProfile.limits.wallTimeMs ?? 0, Self.listingWallTimeMs)
            let listed = try await Self.listServerTools(manifest, profile: listingProfile)
            var problems: [String] = []
            for (index, tool) in listed.tools.enumerated() {
                guard let toolName = tool["name"]?.stringValue, !toolName.isEmpty else {
                    problems.append("tools/list item \(index) has no name")
                    continue
                }
                let name = manifest.name + "__" + String(toolName.map { ToolManifest.isValidName(String($0)) ? $0 : "_" })
                guard ToolManifest.isValidName(name) else {
                    problems.append("\(toolName): the name \(name) is longer than 64 characters")
                    continue
                }
                if let other = candidates.first(where: { $0.name == name }) {
                    problems.append("\(toolName) and \(other.mcpTool ?? "?") would both be registered as \(name)")
                    continue
                }
                let schema: JSONValue
                do {
                    schema = try Self.as2020(tool["inputSchema"] ?? .object(["type": "object"]))
                    _ = try JSONSchema(schema)
                } catch {
                    problems.append("\(toolName): its inputSchema is not a valid JSON Schema 2020-12: \(error)")
                    continue
                }
                // An output schema only checks results: one Airlock cannot read is left out.
                var outputSchema = try? tool["outputSchema"].map(Self.as2020)
                if let given = outputSchema, (try? JSONSchema(given)) == nil { outputSchema = nil }
                let annotations = tool["annotations"]?.objectValue ?? [:]
                // The plugin's word: its manifest, else the server's hints; never guessed safer.
                let effect = manifest.effect
                    ?? (annotations["readOnlyHint"]?.boolValue == true ? .readOnly
                        : annotations["idempotentHint"]?.boolValue == true ? .idempotent : .nonIdempotent)
                candidates.append(Candidate(
                    name: name, description: tool["description"]?.stringValue ?? manifest.description,
                    title: tool["title"]?.stringValue ?? annotations["title"]?.stringValue, inputSchema: schema,
                    outputSchema: outputSchema, effect: effect, annotations: annotations, mcpTool: toolName))
            }
            if !problems.isEmpty {
                throw RuntimeError(.usage, "\(manifest.path): the MCP server's tools cannot be registered:\n  " + problems.joined(separator: "\n  "))
            }
            if candidates.isEmpty { throw RuntimeError(.usage, "\(manifest.path): the MCP server lists no tools") }
        }

        let manifestPath = manifest.path
        let manifestSha = manifest.sha256
        let bases = base
        let declaredShared = declaredBase
        let found = candidates
        return try await journal.write { tx -> [ToolRegistration] in
            let now = nowMs()
            var added: [ToolRegistration] = []
            // A tool this manifest registered before and that its server no longer lists goes.
            let listedNames = Set(found.map(\.name))
            for record in try tx.tools() where !listedNames.contains(record.name) {
                guard let old = try? ToolRegistration(json: record.registration()), old.manifestPath == manifestPath,
                    old.spec.protocolKind == .mcpStdio
                else { continue }
                _ = try tx.deleteTool(name: record.name)
                try tx.appendAudit(kind: "tool_removed", at: now, event: [
                    "tool": .string(record.name), "by": .string(by), "reason": "no longer listed by the MCP server",
                ])
            }
            for candidate in found {
                let previous = try tx.tool(name: candidate.name).flatMap { try? ToolRegistration(json: $0.registration()) }
                let kept = replaceOverrides ? ToolOverrides() : (previous?.overrides ?? ToolOverrides())
                let effective = kept.merged(with: overrides)
                var spec = bases
                spec.name = candidate.name
                spec.mcpTool = candidate.mcpTool
                spec.outputSchema = candidate.outputSchema
                spec.effect = effective.effect ?? candidate.effect
                if let v = effective.approval { spec.approval = v }
                if let v = effective.approvalTTLSeconds { spec.approvalTTLSeconds = v }
                if let v = effective.maxAttempts { spec.retry.maxAttempts = v }
                if let v = effective.profile { spec.profile = v }
                if let v = effective.network { spec.network = v }
                // The plugin may only ask for less than its profile allows; the operator may
                // give it more.
                try Self.clampLimits(&spec)
                if spec.profile.contains("/") { spec.pins[spec.profile] = try Executable.digest(path: spec.profile) }
                if let v = effective.wallTimeMs { spec.timeoutMs = v }
                if let v = effective.memoryBytes { spec.memoryBytes = v }
                if let v = effective.cpuTimeMs { spec.cpuTimeMs = v }
                if let v = effective.processes { spec.processes = v }
                if let v = effective.outputBytes { spec.outputBytes = v }
                var declared = declaredShared
                declared["effect"] = .string(candidate.effect.rawValue)
                let registration = ToolRegistration(
                    name: candidate.name, description: candidate.description, manifestPath: manifestPath,
                    manifestSha256: manifestSha, inputSchema: candidate.inputSchema, outputSchema: candidate.outputSchema,
                    declared: declared, overrides: effective, serverAnnotations: candidate.annotations, title: candidate.title,
                    spec: spec, addedBy: by)
                try tx.putTool(ToolRecord(name: candidate.name, registration: registration.json, addedAt: now, updatedAt: now))
                var event: JSONObject = [
                    "tool": .string(candidate.name), "by": .string(by), "manifest": .string(manifestPath),
                    "manifestSha256": .string(manifestSha), "digest": .string(spec.digest), "effect": .string(spec.effect.rawValue),
                    "approval": .string(spec.approval.rawValue), "overrides": effective.json,
                ]
                if let previous { event["replacedDigest"] = .string(previous.spec.digest) }
                try tx.appendAudit(kind: previous == nil ? "tool_added" : "tool_replaced", at: now, event: event)
                added.append(registration)
            }
            return added
        }
    }

    /// The least wall time an MCP server gets to start and list its tools at `tools add`.
    static let listingWallTimeMs: UInt64 = 30_000

    /// Lowers the spec's limits to its profile's where the profile has a lower one.
    static func clampLimits(_ spec: inout ToolSpec) throws {
        let limits = try Profile.named(spec.profile).limits
        func lower(_ value: inout UInt64?, _ ceiling: UInt64?) {
            if let ceiling, let asked = value, asked > ceiling { value = ceiling }
        }
        lower(&spec.timeoutMs, limits.wallTimeMs)
        lower(&spec.memoryBytes, limits.memoryBytes)
        lower(&spec.cpuTimeMs, limits.cpuTimeMs)
        lower(&spec.processes, limits.processes)
        lower(&spec.outputBytes, limits.outputBytes)
    }

    /// Draft 4, 6 and 7 URIs, which many MCP servers still put in `$schema`.
    static let olderDialects: Set<String> = [
        "http://json-schema.org/draft-07/schema#", "http://json-schema.org/draft-07/schema",
        "http://json-schema.org/draft-06/schema#", "http://json-schema.org/draft-06/schema",
        "http://json-schema.org/draft-04/schema#", "http://json-schema.org/draft-04/schema",
    ]

    /// A server's schema as 2020-12. One that declares draft 4, 6 or 7 is read as 2020-12 when
    /// none of the keywords whose meaning changed since appears in it (array `items`,
    /// `additionalItems`, `dependencies`, boolean `exclusiveMinimum`/`exclusiveMaximum`,
    /// `$recursiveRef`); otherwise it is refused rather than read wrongly.
    static func as2020(_ schema: JSONValue) throws -> JSONValue {
        guard case .object(var top) = schema, let dialect = top["$schema"]?.stringValue, olderDialects.contains(dialect) else {
            return schema
        }
        var problems: [String] = []
        func check(_ value: JSONValue, _ path: String) {
            switch value {
            case .object(let object):
                if case .array? = object["items"] { problems.append("\(path)/items is an array (a tuple in \(dialect))") }
                for keyword in ["additionalItems", "dependencies", "$recursiveRef"] where object.contains(key: keyword) {
                    problems.append("\(path)/\(keyword) means something else in 2020-12")
                }
                for keyword in ["exclusiveMinimum", "exclusiveMaximum"] where object[keyword]?.boolValue != nil {
                    problems.append("\(path)/\(keyword) is a boolean (draft 4)")
                }
                for member in object { check(member.value, path + "/" + member.key) }
            case .array(let items):
                for (index, item) in items.enumerated() { check(item, path + "/\(index)") }
            default:
                break
            }
        }
        check(schema, "")
        if !problems.isEmpty {
            throw RuntimeError(.usage, "it declares \(dialect) and uses keywords 2020-12 reads differently: " + problems.prefix(5).joined(separator: "; "))
        }
        top["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        return .object(top)
    }

    /// Removes a tool from the registry (its steps stay in the journal).
    public func removeTool(name: String, by: String) async throws {
        let removed = try await journal.write { tx -> Bool in
            guard try tx.deleteTool(name: name) else { return false }
            try tx.appendAudit(kind: "tool_removed", at: nowMs(), event: ["tool": .string(name), "by": .string(by)])
            return true
        }
        if !removed { throw RuntimeError(.notFound, "no tool named \(name) (see `airlock tools list`)") }
    }

    public func registeredTools() throws -> [ToolRegistration] {
        try journal.tools().map { try ToolRegistration(json: $0.registration()) }
    }

    public func registeredTool(_ name: String) throws -> ToolRegistration? {
        try journal.tool(name: name).map { try ToolRegistration(json: $0.registration()) }
    }

    /// Re-hashes every pinned file and manifest.
    public func verifyTools() throws -> [ToolVerification] {
        try registeredTools().map(Self.verify)
    }

    static func verify(_ tool: ToolRegistration) -> ToolVerification {
        var problems: [String] = []
        var missing = false
        for pin in tool.pins {
            do {
                let now = try Executable.digest(path: pin.path)
                if now != pin.sha256 { problems.append("\(pin.path) changed (sha256 \(now), registered \(pin.sha256))") }
            } catch {
                missing = true
                problems.append("\(pin.path) is gone or unreadable: \(error)")
            }
        }
        if let bytes = readWholeFile(tool.manifestPath, limit: ManifestDocument.maxBytes) {
            let now = SHA256Digest.hex(of: SHA256Digest.hash(bytes))
            if now != tool.manifestSha256 { problems.append("the manifest \(tool.manifestPath) changed since it was added (run `airlock tools add` again to apply it)") }
        } else {
            problems.append("the manifest \(tool.manifestPath) is gone or unreadable")
        }
        let status: ToolVerification.Status = missing ? .missing : problems.isEmpty ? .ok : .changed
        return ToolVerification(name: tool.name, status: status, problems: problems)
    }

    // MARK: - Calls to registered tools

    /// The registered tool's spec for a call, after the checks that come before anything is
    /// journaled: the pinned files are unchanged and the input matches the input schema.
    public func prepareCall(tool name: String, input: JSONValue) throws -> ToolSpec {
        // The registry row is read for every call (another process may have changed it); what
        // was parsed and compiled from the same text is reused.
        guard let record = try journal.tool(name: name) else {
            throw RuntimeError(.notFound, "no tool named \(name) (see `airlock tools list`)")
        }
        let tool: ToolRegistration
        let schema: JSONSchema
        if let known = preparedTools.withLock({ $0[name] }), known.text == record.text {
            (tool, schema) = (known.tool, known.schema)
        } else {
            tool = try ToolRegistration(json: record.registration())
            do {
                schema = try JSONSchema(tool.inputSchema)
            } catch {
                throw RuntimeError(.badRecord, "tool \(name): its stored input schema is invalid: \(error)")
            }
            preparedTools.withLock {
                if $0.count > 1000 { $0.removeAll() }
                $0[name] = PreparedTool(text: record.text, tool: tool, schema: schema)
            }
        }
        let executable = tool.spec.command[0]
        let changed: String?
        do {
            changed = try Self.changedPin(tool.spec, executable: executable, since: "it was registered")
        } catch {
            throw RuntimeError(.untrusted, "tool \(name): \(error); refused until `airlock tools add \(tool.manifestPath)` registers it again")
        }
        if let changed {
            throw RuntimeError(.untrusted, "tool \(name): \(changed); refused until an operator approves it with `airlock tools add \(tool.manifestPath)`")
        }
        // What would otherwise fail inside the attempt, after the key is spent.
        let host = Sandbox.processEnvironment()
        for secret in tool.spec.secrets where host[secret] == nil {
            throw RuntimeError(.usage, "tool \(name) needs the secret \(secret), which is not set in the host's environment")
        }
        do {
            _ = try tool.spec.resolvedProfile()
        } catch {
            throw RuntimeError(.usage, "tool \(name): its profile cannot be loaded: \(error)")
        }
        let violations = schema.validate(input)
        if !violations.isEmpty {
            throw RuntimeError(.invalidInput, "the input does not match tool \(name)'s input schema:\n  " + violations.map(\.description).joined(separator: "\n  "))
        }
        return tool.spec
    }

    /// A call to a registered tool: checked and validated, then journaled and run like any call.
    public func callTool(_ name: String, input: JSONValue, key: String? = nil, run: String? = nil) async throws -> CallAnswer {
        let spec = try prepareCall(tool: name, input: input)
        return try await call(CallRequest(tool: spec, input: input, key: key, run: run))
    }

    // MARK: - Export

    /// The registry as tool definitions for other ecosystems: `mcp` (a tools/list result) or
    /// `openai` (Chat Completions function tools).
    public static func export(_ tools: [ToolRegistration], format: String) throws -> JSONValue {
        switch format {
        case "mcp":
            return ["tools": .array(tools.map { tool in
                var object: JSONObject = [
                    "name": .string(tool.name), "description": .string(tool.description), "inputSchema": tool.inputSchema,
                    "annotations": .object(tool.annotations),
                ]
                if let title = tool.title { object["title"] = .string(title) }
                if let output = tool.outputSchema { object["outputSchema"] = output }
                return .object(object)
            })]
        case "openai":
            return .array(tools.map { tool in
                [
                    "type": "function",
                    "function": ["name": .string(tool.name), "description": .string(tool.description), "parameters": tool.inputSchema],
                ]
            })
        default:
            throw RuntimeError(.usage, "--format must be mcp or openai, not '\(format)'")
        }
    }
}
