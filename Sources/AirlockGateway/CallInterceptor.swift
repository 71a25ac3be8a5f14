import AirlockCore
import Synchronization

/// The `tools/call` requests a transport answers itself, through `Gateway.answer(callRequest:)`,
/// instead of handing them to the MCP SDK's server: Airlock's parser keeps the arguments exactly
/// as sent (the SDK's `Value` rounds large numbers and rewrites `data:` URLs) and skips about
/// 1 ms of JSON coding per call. Everything else (initialize, ping, tools/list, notifications,
/// batches) goes to the SDK (which also answers a tools/call sent before `initialize`).
/// `notifications/cancelled` also reaches the calls answered here.
final class CallInterceptor: Sendable {
    let gateway: Gateway
    let principal: Principal
    /// The run of calls that name none: one per connection (stdio) or session (HTTP).
    let run: String
    /// Calls in flight by their JSON-RPC id (as serialized).
    private let calls = Mutex<[String: Task<Void, Never>]>([:])
    /// Set once an `initialize` request went by: calls before it go to the SDK.
    private let initialized = Atomic<Bool>(false)

    init(gateway: Gateway, principal: Principal, run: String) {
        self.gateway = gateway
        self.principal = principal
        self.run = run
    }

    enum Decision {
        /// Not ours: hand the bytes to the SDK.
        case pass
        /// A tools/call this interceptor answers.
        case call(JSONObject, id: String)
        /// A request refused at once (this JSON-RPC error is the answer).
        case refuse(JSONValue)
    }

    /// MCP request ids are strings or integers; the SDK rewrites or drops others (`1.0`, `null`,
    /// `true`), so a request with one would go unanswered. nil when `id` is acceptable.
    static func invalidID(_ id: JSONValue?) -> JSONValue? {
        switch id {
        case .string?: return nil
        case .number(let number)? where number.int64.map { String($0) == number.text } ?? false: return nil
        default:
            return ["jsonrpc": "2.0", "id": .null, "error": ["code": -32600, "message": "a request id must be a string or an integer"]]
        }
    }

    /// Looks at one message read from the client.
    func inspect(_ bytes: [UInt8]) -> Decision {
        guard let message = try? JSONValue.parse(bytes) else { return .pass }
        return inspect(message)
    }

    /// Looks at one message the transport has parsed already.
    func inspect(_ message: JSONValue) -> Decision {
        guard case .object(let object) = message else { return .pass }
        switch object["method"]?.stringValue {
        case "initialize"?:
            initialized.store(true, ordering: .relaxed)
            return .pass
        case "tools/call"?:
            if let refusal = Self.invalidID(object["id"]) { return .refuse(refusal) }
            guard initialized.load(ordering: .relaxed), let id = object["id"] else { return .pass }
            return .call(object, id: id.serialized())
        case "notifications/cancelled"?:
            if let id = object["params"]?["requestId"] {
                calls.withLock { $0[id.serialized()] }?.cancel()
            }
            return .pass
        default:
            return .pass
        }
    }

    /// Answers `message`, handing the response (or nil when cancelled) to `respond`; false when
    /// a call with this id is already in flight (the id is answered as a duplicate at once).
    func start(_ message: JSONObject, id: String, respond: @escaping @Sendable (JSONValue?) async -> Void) -> Bool {
        let gateway = self.gateway
        let principal = self.principal
        let run = self.run
        let accepted: Bool = calls.withLock { running in
            if running[id] != nil { return false }
            // Counted now, on the reader's thread, so that a transport that sees its input end
            // next waits for this call (the task may not have started by then).
            gateway.handlerStarted()
            running[id] = Task {
                let response = await gateway.answer(callRequest: message, principal: principal, defaultRun: run)
                self.finish(id)
                await respond(response)
                gateway.handlerEnded()
            }
            return true
        }
        return accepted
    }

    private func finish(_ id: String) {
        _ = calls.withLock { $0.removeValue(forKey: id) }
    }

    static func duplicate(id: JSONValue) -> JSONValue {
        ["jsonrpc": "2.0", "id": id, "error": ["code": -32600, "message": "a request with this id is already in flight"]]
    }
}
