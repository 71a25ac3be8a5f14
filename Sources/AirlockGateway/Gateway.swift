import AirlockCore
import AirlockJournal
import AirlockRuntime
import Logging
import MCP
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Who is calling: a token's holder over HTTP, or the local operator over stdio.
public struct Principal: Sendable, Equatable {
    public var name: String
    public var role: TokenRole
    /// The tools this principal may call; nil for all.
    public var tools: [String]?
    /// The token's id (nil for the local operator).
    public var tokenId: String?

    public static let localOperator = Principal(name: "local-operator", role: .operator, tools: nil, tokenId: nil)

    public init(token: TokenRecord) {
        self.init(name: token.name, role: token.role, tools: token.tools, tokenId: token.id)
    }

    public init(name: String, role: TokenRole, tools: [String]?, tokenId: String?) {
        self.name = name
        self.role = role
        self.tools = tools
        self.tokenId = tokenId
    }

    public func allows(tool: String) -> Bool { tools.map { $0.contains(tool) } ?? true }

    /// How the journal names this principal (decisions' `by`, audit events).
    public var actor: String { tokenId == nil ? name : "token:\(name)" }
}

/// The gateway's limits.
public struct GatewayLimits: Sendable {
    /// Calls running at once, over all tools.
    public var concurrency: Int = 8
    /// Calls of one tool running at once.
    public var perToolConcurrency: Int = 4
    /// Calls waiting for a slot; one more is answered `busy` at once.
    public var queueDepth: Int = 64
    /// The largest HTTP request body; larger ones are refused (413) before they are parsed.
    public var maxBodyBytes: Int = 4 << 20
    /// How long SIGTERM waits for in-flight calls before their children are killed.
    public var graceSeconds: Double = 30

    public init() {}
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// A JSON-RPC error for a `tools/call` (protocol misuse or Airlock's own failure).
public struct CallFailure: Error, Sendable {
    public static let invalidParams = -32602
    public static let internalError = -32603
    public var code: Int
    public var message: String
    public init(_ code: Int, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// The MCP metadata keys Airlock reads from a call and writes into its result.
public enum MetaKey {
    public static let idempotencyKey = "dev.airlock/idempotency-key"
    public static let run = "dev.airlock/run"
    public static let step = "dev.airlock/step"
    public static let status = "dev.airlock/status"
    public static let replayed = "dev.airlock/replayed"
    public static let keyDerived = "dev.airlock/key-derived"
}

/// The transport-independent gateway: lists the registry and runs `tools/call` through the
/// Runtime (validation, policy, journal, sandbox) under the concurrency limits.
public final class Gateway: Sendable {
    public let runtime: Runtime
    public let limits: GatewayLimits
    public let metrics: GatewayMetrics
    public let logger: Logger
    let limiter: Limiter
    /// Calls between their admission and their answer, by a serial number: what SIGTERM waits for.
    let inFlight = Mutex<(next: Int, calls: [Int: String], draining: Bool)>((0, [:], false))
    /// MCP requests being handled (any method): stdio waits for them before it exits.
    let handlers = Mutex(0)

    public init(runtime: Runtime, limits: GatewayLimits = GatewayLimits(), logger: Logger) {
        self.runtime = runtime
        self.limits = limits
        self.logger = logger
        self.limiter = Limiter(global: max(1, limits.concurrency), perTool: max(1, limits.perToolConcurrency), queueDepth: max(0, limits.queueDepth))
        self.metrics = GatewayMetrics(runtime: runtime)
    }

    // MARK: - tools/list

    /// The registry as MCP tools, only those the principal may call.
    public func listTools(for principal: Principal) throws -> [Tool] {
        let tools = try runtime.registeredTools().filter { principal.allows(tool: $0.name) }
        guard case .object(let top) = try Runtime.export(tools, format: "mcp"), case .array(let list)? = top["tools"] else { return [] }
        return try list.map { try $0.decoded(as: Tool.self) }
    }

    // MARK: - tools/call

    /// One `tools/call` from the MCP SDK's server (batches, and tests): the same path as
    /// `call`, through the SDK's types.
    public func callTool(_ params: CallTool.Parameters, principal: Principal, defaultRun: String? = nil) async throws -> CallTool.Result {
        let arguments = JSONValue(mcp: .object(params.arguments ?? [:]))
        let meta = params._meta.map { JSONValue(mcp: .object($0.fields)).objectValue ?? [:] } ?? [:]
        do {
            let result = try await call(name: params.name, arguments: arguments, meta: meta, principal: principal, defaultRun: defaultRun)
            return try JSONValue.object(result).decoded(as: CallTool.Result.self)
        } catch let failure as CallFailure {
            throw failure.code == CallFailure.invalidParams ? MCPError.invalidParams(failure.message) : MCPError.internalError(failure.message)
        }
    }

    /// The JSON-RPC response to a `tools/call` request read by one of Airlock's transports, which
    /// answer it without the SDK's server (its `Value` coding costs about 1 ms a call); nil when
    /// the request was cancelled (no response is sent).
    public func answer(callRequest message: JSONObject, principal: Principal, defaultRun: String? = nil) async -> JSONValue? {
        let id = message["id"] ?? .null
        func failure(_ code: Int, _ text: String) -> JSONValue {
            ["jsonrpc": "2.0", "id": id, "error": ["code": .number(JSONNumber(code)), "message": .string(text)]]
        }
        guard case .object(let params)? = message["params"], case .string(let name)? = params["name"] else {
            return failure(CallFailure.invalidParams, "tools/call needs params with a tool name")
        }
        let arguments = params["arguments"] ?? .object([:])
        var meta: JSONObject = [:]
        switch params["_meta"] {
        case nil, .null?: break
        case .object(let object)?: meta = object
        default: return failure(CallFailure.invalidParams, "_meta must be an object")
        }
        do {
            let result = try await call(name: name, arguments: arguments, meta: meta, principal: principal, defaultRun: defaultRun)
            return ["jsonrpc": "2.0", "id": id, "result": .object(result)]
        } catch let error as CallFailure {
            if error.code == CallFailure.internalError { logger.error("tools/call \(name): \(error.message)") }
            return failure(error.code, error.message)
        } catch is CancellationError {
            return nil  // cancelled while it waited for a slot
        } catch {
            logger.error("tools/call \(name): \(error)")
            return failure(CallFailure.internalError, "\(error)")
        }
    }

    /// One `tools/call`: a CallToolResult. Refusals a model or operator can act on (invalid
    /// input, approval, in doubt, conflict, busy) are results with `isError`; protocol misuse
    /// throws a CallFailure (a JSON-RPC error); a call cancelled while queued, CancellationError.
    /// A call without `dev.airlock/run` joins `defaultRun` (its connection's run), else a new one.
    public func call(name: String, arguments: JSONValue, meta: JSONObject, principal: Principal, defaultRun: String? = nil) async throws -> JSONObject {
        guard case .object = arguments else { throw CallFailure(CallFailure.invalidParams, "arguments must be an object") }
        guard principal.allows(tool: name) else {
            // HTTP refuses this before it reaches here (403); stdio has no such principal.
            throw CallFailure(CallFailure.invalidParams, "token \(principal.name) may not call tool \(name)")
        }
        let key = try Self.metaString(meta, MetaKey.idempotencyKey)
        let run = try Self.metaString(meta, MetaKey.run)
        let input = arguments

        guard let ticket = startCall(name) else {
            return Self.refusal(status: "unavailable", text: "the gateway is shutting down; call again once it is back", extra: [:])
        }
        defer { endCall(ticket) }

        // Checks before anything is journaled: the tool exists, its pins hold, the input is valid.
        let spec: ToolSpec
        do {
            spec = try runtime.prepareCall(tool: name, input: input)
        } catch let error as RuntimeError {
            switch error.code {
            case .notFound: throw CallFailure(CallFailure.invalidParams, "unknown tool: \(name)")
            case .invalidInput:
                metrics.recordCall(tool: name, status: "invalid_input", seconds: nil)
                return Self.refusal(status: "invalid_input", text: error.message, extra: [:])
            case .untrusted, .usage:
                metrics.recordCall(tool: name, status: "refused", seconds: nil)
                return Self.refusal(status: "refused", text: error.message, extra: [:])
            default: throw CallFailure(CallFailure.internalError, error.message)
            }
        } catch {
            logger.error("tools/call \(name): \(error)")
            throw CallFailure(CallFailure.internalError, "cannot prepare the call of \(name): \(error)")
        }

        let derivedKey = key == nil ? try Self.derivedKey(principal: principal, run: run, tool: name, effect: spec.effect, input: input) : nil
        // A token's keys are its own: journaled as "TOKEN-NAME:KEY" (names are never reused), so
        // one token cannot replay, or learn of, another's steps by guessing keys. nil for a
        // read-only tool called without a key: the Runtime makes a fresh one.
        let effectiveKey: String? = key.map { Self.journalKey($0, principal: principal) } ?? derivedKey

        // Admission: a slot now, a place in the queue, or `busy`.
        let started = Self.monotonicSeconds()
        switch await limiter.acquire(tool: name, onQueue: { self.metrics.queueDepth($0) }) {
        case .busy:
            metrics.recordCall(tool: name, status: "busy", seconds: nil)
            return Self.refusal(
                status: "busy", text: "Airlock is at its concurrency limit and its queue is full; nothing ran. Call again shortly with the same arguments.",
                extra: key.map { [MetaKey.idempotencyKey: .string($0)] } ?? [:])
        case .cancelled:
            throw CancellationError()
        case .admitted:
            break
        }
        // SIGTERM came while this call waited for its slot: it has not started; refuse it.
        if isDraining {
            limiter.release(tool: name, onQueue: { self.metrics.queueDepth($0) })
            return Self.refusal(status: "unavailable", text: "the gateway is shutting down; nothing ran. Call again once it is back", extra: [:])
        }
        metrics.inFlight(+1)
        if let effectiveKey { setKey(ticket, effectiveKey) }
        defer {
            limiter.release(tool: name, onQueue: { self.metrics.queueDepth($0) })
            metrics.inFlight(-1)
        }
        // The step runs to its receipt even if the client goes away or cancels: its answer is
        // then in the journal for a retry with the same key.
        let runtime = self.runtime
        let answer: CallAnswer
        do {
            answer = try await Task.detached {
                try await runtime.call(CallRequest(tool: spec, input: input, key: effectiveKey, run: run ?? defaultRun))
            }.value
        } catch let error as RuntimeError {
            metrics.recordCall(tool: name, status: "error", seconds: nil)
            switch error.code {
            case .usage, .invalidInput, .untrusted:
                return Self.refusal(status: "refused", text: error.message, extra: [:])
            default: throw CallFailure(CallFailure.internalError, error.message)
            }
        } catch {
            metrics.recordCall(tool: name, status: "error", seconds: nil)
            throw CallFailure(CallFailure.internalError, "\(error)")
        }
        metrics.recordCall(tool: name, status: answer.status.rawValue, seconds: answer.replayed ? nil : Self.monotonicSeconds() - started)
        return Self.result(answer, derived: derivedKey != nil, clientKey: key)
    }

    // MARK: - Keys

    /// A `_meta` member that must be a non-empty string of at most 200 bytes, when present.
    static func metaString(_ meta: JSONObject, _ name: String) throws -> String? {
        guard let value = meta[name] else { return nil }
        guard case .string(let text) = value, !text.isEmpty, text.utf8.count <= 200 else {
            throw CallFailure(CallFailure.invalidParams, "_meta[\"\(name)\"] must be a non-empty string of at most 200 bytes")
        }
        return text
    }

    /// The journal's key for a key a client sent: as is for the local operator, prefixed with
    /// the token's name otherwise.
    /// A fresh run id for a connection: the steps of one MCP session (or stdio client) form a run.
    public static func newRunID() -> String {
        var bytes = [UInt8](repeating: 0, count: 6)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        return "mcp-" + bytes.map { String($0, radix: 16).leftPadded(2) }.joined()
    }

    public static func journalKey(_ key: String, principal: Principal) -> String {
        principal.tokenId == nil ? key : "\(principal.name):\(key)"
    }

    /// The key of a call that brought none. A read-only tool gets a fresh one (running it again
    /// is harmless); any other tool gets one derived from who calls, the run, the tool and the
    /// canonical input, so a client that retries after a lost answer gets the recorded result
    /// (the run counts only when the client names it: a retry comes on a new connection).
    static func derivedKey(principal: Principal, run: String?, tool: String, effect: EffectClass, input: JSONValue) throws -> String? {
        if effect == .readOnly { return nil }
        let document: JSONValue = [
            "principal": .string(principal.actor), "run": run.map { .string($0) } ?? .null, "tool": .string(tool), "input": input,
        ]
        let canonical: String
        do {
            canonical = try document.canonicalized()
        } catch {
            throw CallFailure(CallFailure.invalidParams, "the arguments cannot be canonicalized: \(error)")
        }
        return "mcp-" + String(AuditChain.sha256(canonical).prefix(40))
    }

    // MARK: - Results

    /// The CallToolResult for a Runtime answer.
    static func result(_ answer: CallAnswer, derived: Bool, clientKey: String? = nil) -> JSONObject {
        let step = answer.step
        var meta: JSONObject = [
            MetaKey.idempotencyKey: .string(clientKey ?? step.key), MetaKey.run: .string(step.runId), MetaKey.step: .string(step.id),
            MetaKey.status: .string(answer.status.rawValue), MetaKey.replayed: .bool(answer.replayed),
        ]
        if derived { meta[MetaKey.keyDerived] = .bool(true) }

        if answer.status == .succeeded, let result = step.result {
            // An MCP server's own CallToolResult passes through; any other result is its JSON.
            if step.spec["protocol"]?.stringValue == "mcp-stdio", case .object(var passed) = result, passed["content"] != nil {
                var merged = passed["_meta"]?.objectValue ?? [:]
                for member in meta { merged[member.key] = member.value }
                passed["_meta"] = .object(merged)
                return passed
            }
            let text: String
            if case .string(let plain) = result { text = plain } else { text = result.serialized() }
            var object: JSONObject = ["content": [["type": "text", "text": .string(text)]]]
            if result.objectValue != nil { object["structuredContent"] = result }
            object["isError"] = false
            object["_meta"] = .object(meta)
            return object
        }

        // Not a success: what happened, the receipt's essentials, and what to do.
        var essentials: JSONObject = [
            "status": .string(answer.status.rawValue), "step": .string(step.id), "key": .string(step.key), "run": .string(step.runId),
            "tool": .string(step.tool), "state": .string(step.state.rawValue), "attempt": .number(JSONNumber(step.attempt)),
            "message": .string(answer.message),
        ]
        if let error = step.error { essentials["error"] = error }
        if let receipt = answer.receipt?.objectValue {
            var kept = JSONObject()
            for name in ["outcome", "exitCode", "signal", "killReason", "wallMs", "cpuMs", "outputProblem", "mcpError", "retry", "stderrTail", "effects", "toolResult"] {
                if let value = receipt[name] { kept[name] = value }
            }
            essentials["receipt"] = .object(kept)
        }
        var text = answer.message
        if let error = step.error?["message"]?.stringValue, !answer.message.contains(error) { text += "\n" + error }
        return [
            "content": [["type": "text", "text": .string(text)]], "structuredContent": .object(essentials), "isError": true,
            "_meta": .object(meta),
        ]
    }

    /// A refusal before any step exists.
    static func refusal(status: String, text: String, extra: JSONObject) -> JSONObject {
        var meta = extra
        meta[MetaKey.status] = .string(status)
        return [
            "content": [["type": "text", "text": .string(text)]],
            "structuredContent": ["status": .string(status), "message": .string(text)], "isError": true, "_meta": .object(meta),
        ]
    }

    // MARK: - In-flight calls and draining

    func startCall(_ tool: String) -> Int? {
        inFlight.withLock { state -> Int? in
            if state.draining { return nil }
            state.next += 1
            state.calls[state.next] = tool
            return state.next
        }
    }

    func setKey(_ ticket: Int, _ key: String) {
        inFlight.withLock { state in
            if let tool = state.calls[ticket] { state.calls[ticket] = "\(tool) (key \(key))" }
        }
    }

    func endCall(_ ticket: Int) {
        _ = inFlight.withLock { $0.calls.removeValue(forKey: ticket) }
    }

    /// Refuses new calls from now on (when `draining`); whether it was already draining.
    public func inFlight(draining: Bool) -> Bool {
        inFlight.withLock { state in
            let was = state.draining
            state.draining = draining
            return was
        }
    }

    public var isDraining: Bool { inFlight.withLock { $0.draining } }

    public var callsInFlight: [String] { inFlight.withLock { state in state.calls.keys.sorted().compactMap { state.calls[$0] } } }

    /// Waits until no call is in flight or `seconds` have passed; the calls still running.
    public func waitForCalls(upTo seconds: Double) async -> [String] {
        let deadline = Self.monotonicSeconds() + seconds
        while true {
            let running = callsInFlight
            if running.isEmpty || Self.monotonicSeconds() >= deadline { return running }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// Counts a request as being handled before its task exists (see `CallInterceptor.start`).
    func handlerStarted() { handlers.withLock { $0 += 1 } }
    func handlerEnded() { handlers.withLock { $0 -= 1 } }

    /// Runs an MCP request handler, counted in `handlers`.
    func handling<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        handlers.withLock { $0 += 1 }
        defer { handlers.withLock { $0 -= 1 } }
        return try await body()
    }

    /// Waits until no MCP request is being handled, up to `seconds`.
    func waitForHandlers(upTo seconds: Double) async {
        let deadline = Self.monotonicSeconds() + seconds
        while handlers.withLock({ $0 }) > 0 && Self.monotonicSeconds() < deadline {
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
