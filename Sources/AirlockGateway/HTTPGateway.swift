import AirlockCore
import AirlockJournal
import AirlockRuntime
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MCP
import NIOCore
import Synchronization

/// `airlock serve --http`: MCP's streamable HTTP transport at `/mcp` (one HTTPSessionTransport
/// per session, with the SDK's Origin, Accept, Content-Type, protocol-version and session
/// checks), the operator API under `/api/v1`, `/healthz` and `/metrics`.
public struct HTTPGateway: Sendable {
    public let gateway: Gateway
    public let host: String
    public let port: Int
    /// Hosts (`name:port`) and origins accepted besides the bound address; see `validation`.
    public var allowedHosts: [String] = []
    public var allowedOrigins: [String] = []
    let sessions: MCPSessions
    let refusals: RefusalAuditor

    public init(gateway: Gateway, host: String, port: Int, allowedHosts: [String] = [], allowedOrigins: [String] = []) {
        self.gateway = gateway
        self.host = host
        self.port = port
        self.allowedHosts = allowedHosts
        self.allowedOrigins = allowedOrigins
        self.sessions = MCPSessions(gateway: gateway)
        self.refusals = RefusalAuditor(runtime: gateway.runtime, logger: gateway.logger)
    }

    /// The checks each MCP session's transport runs. On a loopback address the SDK's
    /// localhost rule (DNS-rebinding protection); elsewhere the bound host plus what the
    /// operator allowed.
    func validation(boundPort: Int) -> any HTTPRequestValidationPipeline {
        let loopback = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)
        let origin: OriginValidator
        if loopback && allowedHosts.isEmpty && allowedOrigins.isEmpty {
            origin = OriginValidator.localhost()
        } else {
            let base = loopback
                ? ["127.0.0.1:\(boundPort)", "localhost:\(boundPort)", "[::1]:\(boundPort)"]
                : ["\(host.contains(":") ? "[\(host)]" : host):\(boundPort)"]
            origin = OriginValidator(allowedHosts: base + allowedHosts, allowedOrigins: base.map { "http://\($0)" } + allowedOrigins)
        }
        return StandardValidationPipeline(validators: [
            origin, AcceptHeaderValidator(mode: .sseRequired), ContentTypeValidator(), ProtocolVersionValidator(), SessionValidator(),
        ])
    }

    // MARK: - Router

    public func router(boundPort: @escaping @Sendable () -> Int) -> Router<BasicRequestContext> {
        let router = Router()
        let gateway = self.gateway
        router.get("/healthz") { _, _ in
            let draining = gateway.isDraining
            return Self.json(draining ? .serviceUnavailable : .ok, ["status": .string(draining ? "draining" : "ok")])
        }
        router.get("/metrics") { request, _ in
            switch await self.authorize(request, operatorOnly: true, what: "GET /metrics") {
            case .refused(let response): return response
            case .allowed: break
            }
            var response = Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: gateway.metrics.exposition())))
            response.headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return response
        }
        for method: HTTPRequest.Method in [.post, .get, .delete] {
            router.on("/mcp", method: method) { request, _ in
                await self.mcp(request, boundPort: boundPort())
            }
        }
        for method: HTTPRequest.Method in [.put, .patch] {
            router.on("/mcp", method: method) { _, _ in
                var response = Self.jsonRPCError(.methodNotAllowed, id: .null, code: -32600, message: "Method Not Allowed")
                response.headers[.allow] = "POST, GET, DELETE"
                return response
            }
        }
        OperatorAPI(gateway: gateway, http: self).register(on: router)
        return router
    }

    // MARK: - /mcp

    func mcp(_ request: Request, boundPort: Int) async -> Response {
        let what = "\(request.method.rawValue) /mcp"
        let principal: Principal
        switch await authorize(request, operatorOnly: false, what: what) {
        case .refused(let response): return response
        case .allowed(let who): principal = who
        }
        var request = request
        let body: [UInt8]
        switch await Self.collect(&request, limit: gateway.limits.maxBodyBytes) {
        case .failure(let box): return box.response
        case .success(let bytes): body = bytes
        }
        // A tools/call of a tool this token was not given is refused here, before the session
        // sees it: 403, audited, nothing journaled.
        let parsed = request.method == .post ? HTTPSessionTransport.Body(body) : .empty
        if let message = parsed.message, let (tool, id) = Self.forbiddenCall(message, principal: principal) {
            let shown = Self.bounded(tool)
            await refusals.record(kind: "forbidden", event: [
                "request": .string(what), "token": .string(principal.name), "tool": .string(shown),
                "reason": .string("tool not granted to this token"),
            ])
            return Self.jsonRPCError(.forbidden, id: id, code: -32600, message: "token \(principal.name) may not call tool \(shown)")
        }
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
        }
        // HTTP/1's Host header arrives as the request's authority: the Host check needs it back.
        if let authority = request.head.authority { headers["Host"] = authority }
        let mcpRequest = MCP.HTTPRequest(
            method: request.method.rawValue, headers: headers, body: body.isEmpty ? nil : Data(body), path: request.uri.path)
        let answer = await sessions.handle(
            mcpRequest, body: body, parsed: parsed, principal: principal, validation: validation(boundPort: boundPort))
        return Self.response(answer)
    }

    /// The name of a tool the body calls that `principal` may not, and the request's id, if any
    /// (batches included).
    static func forbiddenCall(_ message: JSONValue, principal: Principal) -> (String, JSONValue)? {
        guard principal.tools != nil else { return nil }
        let messages: [JSONValue]
        if case .array(let batch) = message { messages = batch } else { messages = [message] }
        for message in messages where message["method"]?.stringValue == "tools/call" {
            if let name = message["params"]?["name"]?.stringValue, !principal.allows(tool: name) {
                return (name, messages.count == 1 ? message["id"] ?? .null : .null)
            }
        }
        return nil
    }

    /// Text from a request, as the audit log and error messages show it: at most 200 bytes (an
    /// audit entry is forever, and a client must not choose its size).
    static func bounded(_ text: String) -> String {
        guard text.utf8.count > 200 else { return text }
        return String(decoding: text.utf8.prefix(120), as: UTF8.self) + "... (\(text.utf8.count) bytes)"
    }

    /// The SDK's framework-neutral response as Hummingbird's (the session transport answers
    /// with whole bodies, never a stream).
    static func response(_ answer: MCP.HTTPResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        let body = answer.bodyData.map { ResponseBody(byteBuffer: ByteBuffer(bytes: $0)) } ?? ResponseBody()
        return Response(status: HTTPResponse.Status(code: answer.statusCode), headers: fields, body: body)
    }

    // MARK: - Authentication

    enum Authorization: Sendable {
        case allowed(Principal)
        case refused(Response)
    }

    /// Checks the bearer token: 401 without a valid one, 403 when an agent token asks for an
    /// operator's endpoint. Both refusals are audited.
    func authorize(_ request: Request, operatorOnly: Bool, what: String) async -> Authorization {
        let header = request.headers[.authorization] ?? ""
        var secret: Substring?
        if header.count > 7, header.prefix(7).lowercased() == "bearer " { secret = header.dropFirst(7) }
        let token: TokenRecord?
        do {
            token = try secret.flatMap { try gateway.runtime.authenticate(secret: String($0).trimmingCharacters(in: .whitespaces)) }
        } catch {
            gateway.logger.error("cannot read tokens from the journal: \(error)")
            return .refused(Self.problem(.internalServerError, "internal", "cannot read tokens from the journal"))
        }
        guard let token else {
            await refusals.record(kind: "unauthenticated", event: [
                "request": .string(Self.bounded(what)), "reason": .string(secret == nil ? "no bearer token" : "unknown or revoked token"),
            ])
            var response = Self.problem(.unauthorized, "unauthenticated", "a valid bearer token is required (airlock tokens create)")
            response.headers[.wwwAuthenticate] = #"Bearer realm="airlock""#
            return .refused(response)
        }
        if operatorOnly && token.role != .operator {
            await refusals.record(kind: "forbidden", event: [
                "request": .string(Self.bounded(what)), "token": .string(token.name), "reason": .string("operator role required"),
            ])
            return .refused(Self.problem(.forbidden, "forbidden", "token \(token.name) has the agent role; this needs an operator token"))
        }
        return .allowed(Principal(token: token))
    }

    // MARK: - Bodies and errors

    /// The request body, or a 413 when it is over `limit` (refused before it is parsed, and
    /// before more than `limit` bytes are read when the client declares its length).
    static func collect(_ request: inout Request, limit: Int) async -> Result<[UInt8], ResponseBox> {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            return .failure(ResponseBox(tooLarge(limit)))
        }
        do {
            let buffer = try await request.collectBody(upTo: limit)
            return .success(Array(buffer.readableBytesView))
        } catch is NIOTooManyBytesError {
            return .failure(ResponseBox(tooLarge(limit)))
        } catch {
            return .failure(ResponseBox(problem(.badRequest, "bad_request", "cannot read the request body: \(error)")))
        }
    }

    static func tooLarge(_ limit: Int) -> Response {
        problem(.contentTooLarge, "too_large", "the request body is over the gateway's limit of \(limit) bytes")
    }

    /// `{"error": {"code": ..., "message": ...}}` with this status.
    static func problem(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        json(status, ["error": ["code": .string(code), "message": .string(message)]])
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        var response = Response(status: status, body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized(pretty: true) + "\n")))
        response.headers[.contentType] = "application/json"
        return response
    }

    static func jsonRPCError(_ status: HTTPResponse.Status, id: JSONValue, code: Int, message: String) -> Response {
        json(status, ["jsonrpc": "2.0", "id": id, "error": ["code": .number(JSONNumber(code)), "message": .string(message)]])
    }
}

/// A Response carried through `Result` (which wants an Error).
struct ResponseBox: Error, @unchecked Sendable {
    let response: Response
    init(_ response: Response) { self.response = response }
}

// MARK: - Sessions

/// The MCP sessions of the HTTP transport: one SDK Server and one HTTPSessionTransport each,
/// bound to the token that opened it. Idle sessions are dropped after an hour; at most 1,000 live,
/// 100 per token.
actor MCPSessions {
    struct Session {
        var server: Server
        var transport: HTTPSessionTransport
        var principal: Principal
        var lastUsed: Double
    }

    let gateway: Gateway
    var sessions: [String: Session] = [:]
    let maxSessions = 1000
    /// One token cannot take every session from the others.
    let maxSessionsPerToken = 100
    let idleSeconds = 3600.0

    init(gateway: Gateway) { self.gateway = gateway }

    func handle(
        _ request: MCP.HTTPRequest, body: [UInt8], parsed: HTTPSessionTransport.Body, principal: Principal,
        validation: any HTTPRequestValidationPipeline
    ) async -> MCP.HTTPResponse {
        let now = Gateway.monotonicSeconds()
        if let id = request.header(HTTPHeaderName.sessionID), var session = sessions[id] {
            // A session answers only the token that opened it.
            guard session.principal.tokenId == principal.tokenId else {
                return .error(statusCode: 404, .invalidRequest("Not Found: no such session for this token"))
            }
            session.lastUsed = now
            sessions[id] = session
            let answer = await session.transport.handle(request, body: body, parsed: parsed)
            if await session.transport.terminated, let ended = sessions.removeValue(forKey: id) {
                await ended.server.stop()
            }
            return answer
        }
        if request.header(HTTPHeaderName.sessionID) != nil {
            return .error(statusCode: 404, .invalidRequest("Not Found: session not found or expired"))
        }
        guard request.method.uppercased() == "POST", parsed.message?["method"]?.stringValue == "initialize" else {
            return .error(statusCode: 400, .invalidRequest("Bad Request: Missing \(HTTPHeaderName.sessionID) header"))
        }
        await expire(now: now)
        if sessions.count >= maxSessions {
            return .error(statusCode: 503, .internalError("Service Unavailable: too many open sessions; close one (DELETE /mcp)"))
        }
        if sessions.values.filter({ $0.principal.tokenId == principal.tokenId }).count >= maxSessionsPerToken {
            return .error(statusCode: 429, .internalError("Too Many Requests: this token has \(maxSessionsPerToken) open sessions; close one (DELETE /mcp)"))
        }
        let id = UUID().uuidString
        let run = Gateway.newRunID()
        let transport = HTTPSessionTransport(
            sessionID: id, validation: validation, interceptor: CallInterceptor(gateway: gateway, principal: principal, run: run),
            logger: gateway.logger)
        let server = await gateway.makeServer(principal: principal, run: run)
        do {
            try await server.start(transport: transport)
        } catch {
            return .error(statusCode: 500, .internalError("cannot start the session: \(error)"))
        }
        let answer = await transport.handle(request, body: body, parsed: parsed)
        // A refused initialize (an HTTP error, or a JSON-RPC error in a 200) opens no session.
        let refused = answer.bodyData.flatMap { try? JSONValue.parse([UInt8]($0)) }?["error"] != nil
        if answer.statusCode == 200 && !refused {
            sessions[id] = Session(server: server, transport: transport, principal: principal, lastUsed: now)
        } else {
            await server.stop()
        }
        return answer
    }

    func expire(now: Double) async {
        for (id, session) in sessions where now - session.lastUsed > idleSeconds {
            sessions[id] = nil
            await session.server.stop()
        }
    }

    var count: Int { sessions.count }
}

// MARK: - Refusal audit

/// Writes 401s and 403s to the audit chain, at most 20 a second: past that, refusals are
/// counted and the count is written with the next entry, so a flood of bad requests cannot
/// grow the journal without bound.
actor RefusalAuditor {
    let runtime: Runtime
    let logger: Logger
    var windowStart = 0.0
    var inWindow = 0
    var suppressed = 0

    init(runtime: Runtime, logger: Logger) {
        self.runtime = runtime
        self.logger = logger
    }

    func record(kind: String, event: JSONObject) async {
        let now = Gateway.monotonicSeconds()
        if now - windowStart >= 1 {
            windowStart = now
            inWindow = 0
        }
        inWindow += 1
        if inWindow > 20 {
            suppressed += 1
            return
        }
        var event = event
        if suppressed > 0 {
            event["suppressedBefore"] = .number(JSONNumber(suppressed))
            suppressed = 0
        }
        do {
            try await runtime.auditRefusal(kind: kind, event: event)
        } catch {
            logger.error("cannot audit a refused request: \(error)")
        }
    }
}
