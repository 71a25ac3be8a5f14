import AirlockCore
import Foundation
import MCP

/// Airlock keeps JSON as `JSONValue` (numbers exactly as written); the MCP SDK as `Value`.
/// These convert at the gateway's edge.
extension JSONValue {
    init(mcp value: MCP.Value) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .int(let number): self = .number(JSONNumber(number))
        case .double(let number): self = JSONNumber(number).map { .number($0) } ?? .null
        case .string(let text): self = .string(text)
        case .data(let mimeType, let data): self = .string(data.dataURLEncoded(mimeType: mimeType))
        case .array(let items): self = .array(items.map(JSONValue.init(mcp:)))
        case .object(let members):
            var object = JSONObject()
            for key in members.keys.sorted() { object[key] = JSONValue(mcp: members[key]!) }
            self = .object(object)
        }
    }

    /// A Decodable read from this JSON (through its text).
    func decoded<T: Decodable>(as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(serialized().utf8))
    }
}

extension Value {
    /// Integers that fit an `Int` stay integers; other numbers become doubles (what the SDK has).
    init(json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .number(let number):
            if let exact = number.int64, let int = Int(exactly: exact) { self = .int(int) } else { self = .double(number.double) }
        case .string(let text): self = .string(text)
        case .array(let items): self = .array(items.map(Value.init(json:)))
        case .object(let object):
            var members: [String: Value] = [:]
            for member in object { members[member.key] = Value(json: member.value) }
            self = .object(members)
        }
    }
}

extension Metadata {
    init(fields: [String: Value]) {
        self.init(additionalFields: fields)
    }
}
