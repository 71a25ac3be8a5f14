import AirlockCore
import AirlockJournal
import AirlockRuntime
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The operator API: JSON over HTTP under `/api/v1`, for operator tokens only. Described by
/// `docs/openapi.yaml`; every answer is JSON, errors as `{"error": {"code", "message"}}`.
struct OperatorAPI: Sendable {
    let gateway: Gateway
    let http: HTTPGateway

    var runtime: Runtime { gateway.runtime }

    /// The most steps or runs one listing returns.
    static let maxLimit = 10_000
    static let defaultLimit = 100

    func register(on router: Router<BasicRequestContext>) {
        let bodyLimit = gateway.limits.maxBodyBytes
        route(router, .get, "/api/v1/runs") { request, _ in
            let limit = try Self.limit(request)
            return .ok(.array(try runtime.journal.runs(limit: limit).map(\.json)))
        }
        route(router, .get, "/api/v1/runs/:run") { _, context in
            let id = Self.pathParameter(context.parameters, "run")
            guard let summary = try runtime.journal.run(id: id) else { throw APIError(.notFound, "not_found", "no run '\(id)'") }
            var object = summary.json.objectValue ?? [:]
            object["stepList"] = .array(try runtime.journal.steps(StepFilter(runId: id, limit: Self.maxLimit)).map(\.json))
            return .ok(.object(object))
        }
        route(router, .get, "/api/v1/steps") { request, _ in
            let parameters = request.uri.queryParameters
            var states: [StepState] = []
            if let text = parameters["state"] {
                for name in text.split(separator: ",") {
                    guard let state = StepState(rawValue: String(name)) else {
                        throw APIError(.badRequest, "bad_request", "state must be one of \(StepState.allCases.map(\.rawValue).joined(separator: ", ")), not '\(name)'")
                    }
                    states.append(state)
                }
            }
            let run = parameters["run"].map(String.init)
            let tool = parameters["tool"].map(String.init)
            let limit = try Self.limit(request)
            var steps: [JSONValue] = []
            // The tool filter is applied while streaming, so the limit counts matching steps.
            try runtime.journal.forEachStep(StepFilter(states: states, runId: run, limit: tool == nil ? limit : nil)) { step in
                guard steps.count < limit else { return }
                if let tool, step.tool != tool { return }
                steps.append(step.json)
            }
            return .ok(.array(steps))
        }
        route(router, .get, "/api/v1/steps/:step") { _, context in
            let record = try step(context)
            var object = record.json.objectValue ?? [:]
            object["attempts"] = .array(try runtime.journal.attempts(stepId: record.id).map(\.json))
            object["decisions"] = .array(try runtime.journal.decisions(stepId: record.id).map(\.json))
            return .ok(.object(object))
        }
        route(router, .post, "/api/v1/steps/:step/approve") { request, context in
            let body = try await Self.body(request, allowed: ["reason", "ttlSeconds"], limit: bodyLimit)
            let reason = try Self.string(body, "reason", required: false)
            var ttl: UInt64?
            if let value = body["ttlSeconds"] {
                guard case .number(let number) = value, let seconds = number.uint64, seconds > 0, seconds <= 366 * 86400 else {
                    throw APIError(.badRequest, "bad_request", "ttlSeconds must be a whole number of seconds from 1 to 31622400")
                }
                ttl = seconds
            }
            let id = try step(context).id
            let principal = try Self.principal(context)
            return .ok(try await runtime.approve(id, by: principal, reason: reason, expiresInSeconds: ttl).json)
        }
        route(router, .post, "/api/v1/steps/:step/deny") { request, context in
            let body = try await Self.body(request, allowed: ["reason"], limit: bodyLimit)
            let reason = try Self.string(body, "reason", required: false)
            let id = try step(context).id
            return .ok(try await runtime.deny(id, by: try Self.principal(context), reason: reason).json)
        }
        route(router, .post, "/api/v1/steps/:step/resolve") { request, context in
            let body = try await Self.body(request, allowed: ["as", "reason", "result"], limit: bodyLimit)
            let verdict = try Self.string(body, "as", required: true) ?? ""
            guard let resolution = Resolution(rawValue: verdict) else {
                throw APIError(.badRequest, "bad_request", "as must be succeeded, failed or retry, not '\(verdict)'")
            }
            let reason = try Self.string(body, "reason", required: true) ?? ""
            if reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw APIError(.badRequest, "bad_request", "reason must say why")
            }
            let id = try step(context).id
            return .ok(try await runtime.resolve(id, as: resolution, reason: reason, result: body["result"], by: try Self.principal(context)).json)
        }
        route(router, .get, "/api/v1/audit/verify") { _, _ in
            let verification = try runtime.journal.verifyAudit()
            var object: JSONObject = [
                "ok": .bool(verification.ok), "entries": .number(JSONNumber(verification.entries)), "head": .string(verification.headHash),
            ]
            if let bad = verification.firstBad {
                object["firstBad"] = .number(JSONNumber(bad.seq))
                object["problem"] = .string(bad.problem)
            }
            return .ok(.object(object))
        }
        route(router, .get, "/api/v1/audit/export") { _, _ in
            // JSON lines, each entry with its hash (as `airlock audit export`), from one snapshot.
            var text = ""
            try runtime.journal.forEachAuditEntry { entry in text += try AuditChain.exportLine(entry) + "\n" }
            return .raw(text, contentType: "application/x-ndjson")
        }
        route(router, .get, "/api/v1/tools") { _, _ in
            .ok(try Runtime.export(runtime.registeredTools(), format: "mcp"))
        }
    }

    // MARK: - Plumbing

    enum Answer: Sendable {
        case ok(JSONValue)
        case raw(String, contentType: String)
    }

    /// Operator-only route: authorization, then `body`; thrown errors become JSON problems.
    func route(
        _ router: Router<BasicRequestContext>, _ method: HTTPRequest.Method, _ path: RouterPath,
        _ body: @escaping @Sendable (Request, OperatorContext) async throws -> Answer
    ) {
        let http = self.http
        let logger = gateway.logger
        router.on(path, method: method) { request, context in
            let principal: Principal
            switch await http.authorize(request, operatorOnly: true, what: "\(method.rawValue) \(request.uri.path)") {
            case .refused(let response): return response
            case .allowed(let who): principal = who
            }
            do {
                switch try await body(request, OperatorContext(parameters: context.parameters, principal: principal)) {
                case .ok(let value): return HTTPGateway.json(.ok, value)
                case .raw(let text, let type):
                    var response = Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
                    response.headers[.contentType] = type
                    return response
                }
            } catch let error as APIError {
                return HTTPGateway.problem(error.status, error.code, error.message)
            } catch let error as RuntimeError {
                switch error.code {
                case .notFound: return HTTPGateway.problem(.notFound, "not_found", error.message)
                case .usage, .invalidInput: return HTTPGateway.problem(.badRequest, "bad_request", error.message)
                case .invalidState: return HTTPGateway.problem(.conflict, "invalid_state", error.message)
                default:
                    logger.error("\(method.rawValue) \(request.uri.path): \(error.message)")
                    return HTTPGateway.problem(.internalServerError, "internal", error.message)
                }
            } catch {
                logger.error("\(method.rawValue) \(request.uri.path): \(error)")
                return HTTPGateway.problem(.internalServerError, "internal", "\(error)")
            }
        }
    }

    struct OperatorContext: Sendable {
        var parameters: Parameters
        var principal: Principal
    }

    func step(_ context: OperatorContext) throws -> StepRecord {
        let id = Self.pathParameter(context.parameters, "step")
        guard let record = try runtime.journal.step(idOrKey: id) else {
            throw APIError(.notFound, "not_found", "no step with id or key '\(id)'")
        }
        return record
    }

    static func principal(_ context: OperatorContext) throws -> String { context.principal.actor }

    /// A path segment as the client meant it: ids and keys may hold any character, escaped.
    static func pathParameter(_ parameters: Parameters, _ name: String) -> String {
        let raw = parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    static func limit(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters["limit"] else { return defaultLimit }
        guard let value = Int(text), value >= 1, value <= maxLimit else {
            throw APIError(.badRequest, "bad_request", "limit must be a whole number from 1 to \(maxLimit), not '\(text)'")
        }
        return value
    }

    /// The JSON object body (empty when there is none), with only `allowed` members.
    static func body(_ request: Request, allowed: Set<String>, limit: Int) async throws -> JSONObject {
        var request = request
        let bytes: [UInt8]
        switch await HTTPGateway.collect(&request, limit: limit) {
        case .failure(let box):
            if box.response.status == .contentTooLarge {
                throw APIError(box.response.status, "too_large", "the request body is over the gateway's limit of \(limit) bytes")
            }
            throw APIError(.badRequest, "bad_request", "cannot read the request body")
        case .success(let read): bytes = read
        }
        if bytes.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) { return [:] }
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw APIError(.badRequest, "bad_request", "the body is not JSON: \(error)")
        }
        guard case .object(let object) = value else { throw APIError(.badRequest, "bad_request", "the body must be a JSON object") }
        for key in object.keys where !allowed.contains(key) {
            throw APIError(.badRequest, "bad_request", "unknown member '\(key)' (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
        return object
    }

    static func string(_ object: JSONObject, _ name: String, required: Bool) throws -> String? {
        guard let value = object[name] else {
            if required { throw APIError(.badRequest, "bad_request", "'\(name)' is required") }
            return nil
        }
        guard case .string(let text) = value, text.utf8.count <= 4096 else {
            throw APIError(.badRequest, "bad_request", "'\(name)' must be a string of at most 4096 bytes")
        }
        return text
    }
}

/// An API refusal with its HTTP status.
struct APIError: Error {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }
}
