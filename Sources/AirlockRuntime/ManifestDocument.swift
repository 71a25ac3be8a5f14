import AirlockCore
import Yams

/// A manifest's text as a JSON value: JSON, or YAML read as plain data. No tags; plain
/// scalars resolve the way JSON spells them (`true`/`false`, `null`/`~`, numbers) so that `no`
/// or `on` stay strings; aliases are expanded by Yams, and the expansion is bounded by a node
/// count (a "billion laughs" document is refused, not expanded).
enum ManifestDocument {
    /// Manifests are small; a larger file is refused before it is parsed.
    static let maxBytes = 1 << 20
    /// Nodes in one document (a YAML bomb cannot expand past it).
    static let maxNodes = 100_000

    static func parse(_ bytes: [UInt8], fileName: String) throws -> JSONValue {
        if bytes.count > maxBytes {
            throw RuntimeError(.usage, "\(fileName): the manifest is \(bytes.count) bytes; the limit is \(maxBytes >> 10) KiB")
        }
        let lower = fileName.lowercased()
        let first = bytes.first { $0 != 0x20 && $0 != 0x0a && $0 != 0x0d && $0 != 0x09 }
        let isJSON = lower.hasSuffix(".json") || (!lower.hasSuffix(".yaml") && !lower.hasSuffix(".yml") && first == UInt8(ascii: "{"))
        if isJSON {
            do {
                return try JSONValue.parse(bytes)
            } catch {
                throw RuntimeError(.usage, "\(fileName): not valid JSON: \(error)")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw RuntimeError(.usage, "\(fileName): not UTF-8 text")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw RuntimeError(.usage, "\(fileName): not valid YAML: \(error)")
        }
        guard let node else { throw RuntimeError(.usage, "\(fileName): the manifest is empty") }
        var budget = maxNodes
        return try convert(node, path: "", fileName: fileName, budget: &budget, depth: 0)
    }

    private static func convert(_ node: Node, path: String, fileName: String, budget: inout Int, depth: Int) throws -> JSONValue {
        func bad(_ message: String) -> RuntimeError {
            RuntimeError(.usage, "\(fileName): \(path.isEmpty ? "/" : path): \(message)")
        }
        budget -= 1
        guard budget >= 0 else { throw bad("more than \(maxNodes) YAML nodes") }
        guard depth < JSONValue.defaultMaxDepth else { throw bad("nested deeper than \(JSONValue.defaultMaxDepth) levels") }
        switch node {
        case .alias(let alias):
            throw bad("an unresolved YAML alias (\(alias.anchor)) is not accepted in manifests")
        case .scalar(let scalar):
            let tag = scalar.tag.description
            if !(tag.isEmpty || tag == "!" || tag == Tag.Name.str.rawValue) {
                throw bad("YAML tags (\(tag)) are not accepted in manifests")
            }
            guard scalar.style == .plain else { return .string(scalar.string) }
            return plainScalar(scalar.string)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for (index, item) in sequence.enumerated() {
                items.append(try convert(item, path: path + "/\(index)", fileName: fileName, budget: &budget, depth: depth + 1))
            }
            return .array(items)
        case .mapping(let mapping):
            var object = JSONObject()
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else { throw bad("a mapping key that is not a plain string") }
                let name = keyScalar.string
                if object.contains(key: name) { throw bad("the key '\(name)' appears twice") }
                let escaped = name.replacing("~", with: "~0").replacing("/", with: "~1")
                object[name] = try convert(value, path: path + "/" + escaped, fileName: fileName, budget: &budget, depth: depth + 1)
            }
            return .object(object)
        }
    }

    /// A plain scalar the way JSON would read it; anything else is a string.
    private static func plainScalar(_ text: String) -> JSONValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if let first = text.utf8.first, first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39),
            case .number(let number)? = try? JSONValue.parse(text)
        {
            return .number(number)
        }
        return .string(text)
    }
}

/// Reads a manifest's JSON with a path for every error, refusing keys it does not know.
struct ManifestReader {
    let fileName: String
    private(set) var problems: [String] = []

    init(fileName: String) { self.fileName = fileName }

    mutating func fail(_ path: String, _ message: String) {
        problems.append("\(path.isEmpty ? "/" : path): \(message)")
    }

    /// The object at `path`, with unknown keys reported.
    mutating func object(_ value: JSONValue?, _ path: String, known: Set<String>) -> JSONObject? {
        guard let value else { return nil }
        guard case .object(let object) = value else {
            fail(path, "must be an object, not \(value.typeName)")
            return nil
        }
        for key in object.keys where !known.contains(key) {
            fail(path + "/" + key, "unknown key (expected one of: \(known.sorted().joined(separator: ", ")))")
        }
        return object
    }

    mutating func string(_ value: JSONValue?, _ path: String, required: Bool = false, pattern: ((String) -> Bool, String)? = nil) -> String? {
        guard let value else {
            if required { fail(path, "required") }
            return nil
        }
        guard case .string(let text) = value else {
            fail(path, "must be a string, not \(value.typeName)")
            return nil
        }
        if let (check, description) = pattern, !check(text) {
            fail(path, "\(description), not \(text.debugDescription)")
            return nil
        }
        return text
    }

    mutating func strings(_ value: JSONValue?, _ path: String, nonEmpty: Bool = false) -> [String]? {
        guard let value else { return nil }
        guard case .array(let items) = value else {
            fail(path, "must be an array of strings, not \(value.typeName)")
            return nil
        }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                fail(path + "/\(index)", "must be a string, not \(item.typeName)")
                continue
            }
            if text.isEmpty || text.utf8.contains(0) {
                fail(path + "/\(index)", "must be a non-empty string without NUL bytes")
                continue
            }
            result.append(text)
        }
        if nonEmpty && items.isEmpty { fail(path, "must not be empty") }
        return result
    }

    mutating func oneOf<T: RawRepresentable>(_ value: JSONValue?, _ path: String, _ type: T.Type, required: Bool = false) -> T?
    where T.RawValue == String, T: CaseIterable {
        guard let text = string(value, path, required: required) else { return nil }
        guard let parsed = T(rawValue: text) else {
            fail(path, "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), not \(text.debugDescription)")
            return nil
        }
        return parsed
    }

    mutating func unsigned(_ value: JSONValue?, _ path: String, max: UInt64) -> UInt64? {
        guard let value else { return nil }
        guard case .number(let number) = value, let n = number.uint64, n <= max else {
            fail(path, "must be an integer from 0 to \(max)")
            return nil
        }
        return n
    }

    mutating func int32s(_ value: JSONValue?, _ path: String) -> [Int32]? {
        guard let value else { return nil }
        guard case .array(let items) = value else {
            fail(path, "must be an array of exit codes")
            return nil
        }
        var codes: [Int32] = []
        for (index, item) in items.enumerated() {
            guard case .number(let number) = item, let n = number.int64, (0...255).contains(n) else {
                fail(path + "/\(index)", "must be an exit code from 0 to 255")
                continue
            }
            codes.append(Int32(n))
        }
        return codes
    }

    /// Seconds (may be fractional) as milliseconds.
    mutating func seconds(_ value: JSONValue?, _ path: String, max: Double) -> UInt64? {
        guard let value else { return nil }
        guard case .number(let number) = value, number.double > 0, number.double <= max else {
            fail(path, "must be a number of seconds above 0 and at most \(Int(max))")
            return nil
        }
        return UInt64((number.double * 1000).rounded(.up))
    }

    mutating func fraction(_ value: JSONValue?, _ path: String, range: ClosedRange<Double>) -> Double? {
        guard let value else { return nil }
        guard case .number(let number) = value, range.contains(number.double) else {
            fail(path, "must be a number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return number.double
    }
}
