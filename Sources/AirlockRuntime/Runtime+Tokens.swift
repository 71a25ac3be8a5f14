import AirlockCore
import AirlockJournal

/// A token as `tokens create` hands it out: the record, and the secret shown this once.
public struct IssuedToken: Sendable {
    public var record: TokenRecord
    public var secret: String
}

extension TokenRecord {
    /// What `tokens list` and the API show: never the secret, nor its digest.
    public var json: JSONValue {
        var object: JSONObject = [
            "id": .string(id), "name": .string(name), "role": .string(role.rawValue),
            "createdAt": .number(JSONNumber(createdAt)), "revoked": .bool(revokedAt != nil),
        ]
        object["tools"] = tools.map { .array($0.map { .string($0) }) } ?? .null
        if let revokedAt { object["revokedAt"] = .number(JSONNumber(revokedAt)) }
        return .object(object)
    }
}

extension Runtime {
    /// Every secret starts with this, so a leaked one is recognisable (and greppable).
    public static let tokenPrefix = "airlock_"

    /// The SHA-256 (hex) the journal keeps of a secret.
    public static func tokenDigest(_ secret: String) -> String { AuditChain.sha256(secret) }

    /// Creates a bearer token for the gateway. Tool names must be registered now: a typo
    /// would otherwise give a token that can call nothing, silently.
    public func createToken(name: String, role: TokenRole, tools: [String]?, by: String) async throws -> IssuedToken {
        guard ToolManifest.isValidName(name) else {
            throw RuntimeError(.usage, "a token name is 1-64 letters, digits, '_' or '-', not '\(name)'")
        }
        if let tools {
            if tools.isEmpty { throw RuntimeError(.usage, "--tools names no tool; leave it out to allow every tool") }
            let registered = Set(try journal.tools().map(\.name))
            let unknown = tools.filter { !registered.contains($0) }
            if !unknown.isEmpty {
                throw RuntimeError(.usage, "no registered tool named \(unknown.joined(separator: ", ")) (see `airlock tools list`)")
            }
        }
        let secret = Self.tokenPrefix + RandomID.hex(bytes: 32)
        let record = TokenRecord(
            id: "tok_" + RandomID.hex(bytes: 8), name: name, role: role, tools: tools.map { Array(Set($0)).sorted() },
            secretSHA256: Self.tokenDigest(secret), createdAt: nowMs(), revokedAt: nil)
        let created = try await journal.write { tx -> Bool in
            if try tx.token(name: name) != nil { return false }
            try tx.insertToken(record)
            var event: JSONObject = [
                "token": .string(record.id), "name": .string(name), "role": .string(role.rawValue), "by": .string(by),
            ]
            event["tools"] = record.tools.map { .array($0.map { .string($0) }) } ?? .null
            try tx.appendAudit(kind: "token_created", at: record.createdAt, event: event)
            return true
        }
        if !created { throw RuntimeError(.usage, "a token named \(name) exists already (names stay taken after revoke)") }
        return IssuedToken(record: record, secret: secret)
    }

    public func tokens() throws -> [TokenRecord] { try journal.tokens() }

    public func revokeToken(name: String, by: String) async throws -> TokenRecord {
        let revoked = try await journal.write { tx -> TokenRecord? in
            let now = nowMs()
            guard try tx.revokeToken(name: name, at: now), var record = try tx.token(name: name) else { return nil }
            record.revokedAt = now
            try tx.appendAudit(kind: "token_revoked", at: now, event: [
                "token": .string(record.id), "name": .string(name), "by": .string(by),
            ])
            return record
        }
        guard let revoked else { throw RuntimeError(.notFound, "no live token named \(name) (see `airlock tokens list`)") }
        return revoked
    }

    /// The live token with this secret, or nil.
    public func authenticate(secret: String) throws -> TokenRecord? {
        guard secret.hasPrefix(Self.tokenPrefix), secret.utf8.count <= 128 else { return nil }
        guard let record = try journal.token(secretSHA256: Self.tokenDigest(secret)), record.revokedAt == nil else { return nil }
        return record
    }

    /// Records a refused request in the audit chain (`kind` is `unauthenticated` or `forbidden`).
    public func auditRefusal(kind: String, event: JSONObject) async throws {
        try await journal.write { tx in try tx.appendAudit(kind: kind, at: nowMs(), event: event) }
    }
}
