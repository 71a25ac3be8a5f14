import AirlockCore
import Foundation
import Logging
import MCP

/// One MCP session of the streamable HTTP transport, answering each POSTed request with a
/// single JSON response (the spec lets a server choose JSON over an SSE stream).
///
/// Written for Airlock instead of the SDK's StatefulHTTPServerTransport, whose event store keeps
/// every message it sends until the session ends (about 240 bytes a request, without bound, in a
/// session that lives for hours), and which parses each body twice with JSONSerialization. The
/// SDK's request checks are kept: this transport runs the same validators (Origin and Host,
/// Accept, Content-Type, MCP-Protocol-Version, session id). The server sends nothing unasked,
/// so GET (a server-to-client stream) is answered 405, as the spec allows.
actor HTTPSessionTransport: Transport {
    nonisolated let logger: Logger
    let sessionID: String
    let validation: any HTTPRequestValidationPipeline
    let interceptor: CallInterceptor
    private let stream: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    /// Requests handed to the SDK's server, waiting for its response, by JSON-RPC id. The SDK
    /// answers every request whose id is a string or an integer (others are refused before they
    /// get here), at once: there is no per-request timer (a cancelled `Task.sleep` still holds
    /// its timer until the deadline, which cost ~750 bytes a request for a minute). A session's
    /// end answers whatever still waits.
    private var waiting: [String: CheckedContinuation<Data?, Never>] = [:]
    private var initialized = false
    private(set) var terminated = false

    init(sessionID: String, validation: any HTTPRequestValidationPipeline, interceptor: CallInterceptor, logger: Logger) {
        self.sessionID = sessionID
        self.validation = validation
        self.interceptor = interceptor
        self.logger = logger
        (stream, continuation) = AsyncThrowingStream<Data, any Error>.makeStream()
    }

    func connect() async throws {}

    func disconnect() async { terminate() }

    func receive() -> AsyncThrowingStream<Data, any Error> { stream }

    /// The SDK server's output: responses go to the request waiting for them; anything else
    /// (a notification or request of the server's own) has no stream to go to and is dropped.
    func send(_ data: Data) async throws {
        guard case .object(let message)? = try? JSONValue.parse([UInt8](data)),
            message["result"] != nil || message["error"] != nil, let id = message["id"]
        else {
            logger.debug("dropping a server message no request waits for")
            return
        }
        waiting.removeValue(forKey: id.serialized())?.resume(returning: data)
    }

    private var headers: [String: String] { [HTTPHeaderName.sessionID: sessionID] }

    private func jsonHeaders() -> [String: String] {
        [HTTPHeaderName.sessionID: sessionID, HTTPHeaderName.contentType: "application/json"]
    }

    /// A POST body as the gateway parsed it (once, for every check that reads it).
    enum Body: Sendable {
        case parsed(JSONValue)
        case invalid(String)
        case empty

        init(_ bytes: [UInt8]) {
            if bytes.isEmpty {
                self = .empty
            } else {
                do { self = .parsed(try JSONValue.parse(bytes)) } catch { self = .invalid("\(error)") }
            }
        }

        var message: JSONValue? { if case .parsed(let value) = self { value } else { nil } }
    }

    /// Handles one HTTP request of this session; `body` is already bounded by the gateway and
    /// `parsed` is its JSON.
    func handle(_ request: MCP.HTTPRequest, body: [UInt8], parsed: Body) async -> MCP.HTTPResponse {
        if terminated { return .error(statusCode: 404, .invalidRequest("Not Found: the session has ended")) }
        switch request.method.uppercased() {
        case "POST":
            return await post(request, body: body, parsed: parsed)
        case "DELETE":
            if let refusal = validate(request, method: "DELETE", initializing: false) { return refusal }
            terminate()
            return .ok(headers: headers)
        case "GET":
            if let refusal = validate(request, method: "GET", initializing: false) { return refusal }
            return .error(
                statusCode: 405, .invalidRequest("Method Not Allowed: this server sends no messages unasked"),
                sessionID: sessionID, extraHeaders: [HTTPHeaderName.allow: "POST, DELETE"])
        default:
            return .error(
                statusCode: 405, .invalidRequest("Method Not Allowed"), sessionID: sessionID,
                extraHeaders: [HTTPHeaderName.allow: "POST, DELETE"])
        }
    }

    private func validate(_ request: MCP.HTTPRequest, method: String, initializing: Bool) -> MCP.HTTPResponse? {
        let context = HTTPValidationContext(
            httpMethod: method, sessionID: sessionID, isInitializationRequest: initializing,
            supportedProtocolVersions: Version.supported)
        return validation.validate(request, context: context)
    }

    private func post(_ request: MCP.HTTPRequest, body: [UInt8], parsed: Body) async -> MCP.HTTPResponse {
        let value: JSONValue
        switch parsed {
        case .parsed(let json): value = json
        case .invalid(let problem): return .error(statusCode: 400, .parseError("the body is not JSON: \(problem)"), sessionID: sessionID)
        case .empty: return .error(statusCode: 400, .parseError("the body is empty"), sessionID: sessionID)
        }
        guard case .object(let message) = value else {
            return .error(
                statusCode: 400, .invalidRequest("a body is one JSON-RPC message (batches are not part of MCP since 2025-06-18)"),
                sessionID: sessionID)
        }
        if let methodValue = message["method"], methodValue.stringValue == nil {
            return .error(statusCode: 400, .invalidRequest("method must be a string"), sessionID: sessionID)
        }
        let method = message["method"]?.stringValue
        if method != nil, message["id"] != nil, let refusal = CallInterceptor.invalidID(message["id"]) {
            return .data(Data(refusal.serialized().utf8), headers: jsonHeaders())
        }
        let initializing = method == "initialize"
        if let refusal = validate(request, method: "POST", initializing: initializing) { return refusal }
        if initializing {
            if initialized { return .error(statusCode: 400, .invalidRequest("Bad Request: the session is already initialized"), sessionID: sessionID) }
            initialized = true
        }
        guard let id = message["id"], method != nil else {
            // A notification, or a response to a request of the server's: nothing to answer.
            _ = interceptor.inspect(value)  // a notifications/cancelled reaches the calls answered here
            continuation.yield(Data(body))
            return .accepted(headers: headers)
        }
        let decision = interceptor.inspect(value)
        if case .refuse(let refusal) = decision {
            return .data(Data(refusal.serialized().utf8), headers: jsonHeaders())
        }
        if case .call(let call, let key) = decision {
            let answer: JSONValue? = await withCheckedContinuation { (done: CheckedContinuation<JSONValue?, Never>) in
                let accepted = interceptor.start(call, id: key) { response in done.resume(returning: response) }
                if !accepted { done.resume(returning: CallInterceptor.duplicate(id: id)) }
            }
            guard let answer else {
                return .data(Data(#"{"jsonrpc":"2.0","id":\#(key),"error":{"code":-32800,"message":"request cancelled"}}"#.utf8), headers: jsonHeaders())
            }
            return .data(Data(answer.serialized().utf8), headers: jsonHeaders())
        }
        let key = id.serialized()
        if waiting[key] != nil {
            return .data(Data(CallInterceptor.duplicate(id: id).serialized().utf8), headers: jsonHeaders())
        }
        let response: Data? = await withCheckedContinuation { (done: CheckedContinuation<Data?, Never>) in
            waiting[key] = done
            continuation.yield(Data(body))
        }
        guard let response else { return .error(statusCode: 404, .invalidRequest("Not Found: the session has ended"), sessionID: sessionID) }
        return .data(response, headers: jsonHeaders())
    }

    /// Ends the session: requests still waiting are answered 404.
    func terminate() {
        guard !terminated else { return }
        terminated = true
        for (_, request) in waiting { request.resume(returning: nil) }
        waiting.removeAll()
        continuation.finish()
    }
}
