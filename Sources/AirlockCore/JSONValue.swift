/// A JSON document: what `JSONValue.parse` reads and `serialized` writes.
///
/// Objects keep their keys in document order and numbers keep their source text, so a value
/// round-trips unchanged and big integers stay exact.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// Structural equality, strings and keys compared by their code units (not Swift's
    /// canonical equivalence: two spellings of "é" are different JSON).
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a == b
        default: return false
        }
    }
}

// MARK: - Numbers

/// A JSON number, kept as its source text (always valid JSON number syntax).
public struct JSONNumber: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The number exactly as written.
    public let text: String

    /// Wraps `text`, which must already be a valid JSON number.
    init(validatedText text: String) {
        self.text = text
    }

    public init(_ value: Int) { text = String(value) }
    public init(_ value: Int64) { text = String(value) }
    public init(_ value: UInt64) { text = String(value) }

    /// A finite double; `nil` for NaN and infinities, which JSON cannot represent.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        if value == value.rounded(.towardZero), abs(value) < 1e15 {
            text = String(Int64(value))
        } else {
            text = String(describing: value)
        }
    }

    /// True when the text is an integer literal (no fraction, no exponent).
    public var isInteger: Bool {
        !text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
    }

    /// The nearest double (infinite when out of range).
    public var double: Double { Double(text) ?? .nan }

    /// The exact value when the text is an integer literal that fits.
    public var int64: Int64? { isInteger ? Int64(text) : nil }

    /// The exact value when the text is a non-negative integer literal that fits.
    public var uint64: UInt64? { isInteger ? UInt64(text) : nil }

    public var description: String { text }
}

// MARK: - Objects

/// A JSON object whose keys keep their document order. Keys are unique.
public struct JSONObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue
    }

    public private(set) var members: [Member] = []
    /// By exact code units: Swift's `String ==` treats canonically equivalent spellings ("é" and
    /// "e" + U+0301) as equal, and JSON keys are not compared that way.
    private var index: [ExactKey: Int] = [:]

    /// A key compared and hashed by its UTF-8 bytes.
    private struct ExactKey: Hashable, Sendable {
        let text: String
        init(_ text: String) { self.text = text }
        static func == (lhs: ExactKey, rhs: ExactKey) -> Bool { lhs.text.utf8.elementsEqual(rhs.text.utf8) }
        func hash(into hasher: inout Hasher) {
            for byte in text.utf8 { hasher.combine(byte) }
        }
    }

    public init() {}

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (key, value) in elements { self[key] = value }
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    /// Reads a member; setting `nil` removes it, setting a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get { index[ExactKey(key)].map { members[$0].value } }
        set {
            if let position = index[ExactKey(key)] {
                if let newValue {
                    members[position].value = newValue
                } else {
                    members.remove(at: position)
                    index[ExactKey(key)] = nil
                    for i in position..<members.count { index[ExactKey(members[i].key)] = i }
                }
            } else if let newValue {
                index[ExactKey(key)] = members.count
                members.append(Member(key: key, value: newValue))
            }
        }
    }

    public func contains(key: String) -> Bool { index[ExactKey(key)] != nil }

    public func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }

    /// Same members in the same order, keys and strings compared by their code units.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key.utf8.elementsEqual($1.key.utf8) && $0.value == $1.value }
    }

    /// Appends without checking for duplicates; the parser checks first.
    fileprivate mutating func appendNew(_ key: String, _ value: JSONValue) {
        index[ExactKey(key)] = members.count
        members.append(Member(key: key, value: value))
    }
}

// MARK: - Accessors and literals

extension JSONValue {
    public var isNull: Bool { if case .null = self { return true } else { return false } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var numberValue: JSONNumber? { if case .number(let n) = self { return n } else { return nil } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }

    /// The member `key` of an object; `nil` for other values.
    public subscript(key: String) -> JSONValue? { objectValue?[key] }

    /// `null`, `boolean`, `number`, `string`, `array` or `object`.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) {
        guard let number = JSONNumber(value) else { preconditionFailure("JSON has no NaN or infinity") }
        self = .number(number)
    }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var object = JSONObject()
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
}

// MARK: - Parsing

/// Why a document is not JSON, and where (1-based line and column, counted in characters).
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    /// Byte offset of the problem in the input.
    public var offset: Int
    public var message: String

    public init(line: Int, column: Int, offset: Int, message: String) {
        self.line = line
        self.column = column
        self.offset = offset
        self.message = message
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}

extension JSONValue {
    /// Default limit on nesting of arrays and objects.
    public static let defaultMaxDepth = 256

    /// Parses one strict RFC 8259 document: no comments, trailing commas, NaN, leading zeros,
    /// unescaped control characters, lone surrogates, invalid UTF-8 or duplicate keys.
    /// A leading UTF-8 byte order mark is skipped.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        return try parser.parseDocument()
    }

    /// Parses the UTF-8 text of `text`.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    let maxDepth: Int
    var position = 0
    var depth = 0

    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { position = 3 }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if position < bytes.count { throw error("unexpected \(describeByte(at: position)) after the document") }
        return value
    }

    // MARK: Values

    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard position < bytes.count else { throw error("unexpected end of input, expected a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected \(describeByte(at: position)), expected a value")
        }
    }

    mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enter()
        position += 1  // {
        var object = JSONObject()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else {
                if peek() == UInt8(ascii: "}") { throw error("trailing comma before '}'") }
                throw error(
                    position < bytes.count
                        ? "expected a string key, found \(describeByte(at: position))"
                        : "unexpected end of input, expected a string key")
            }
            let keyStart = position
            let key = try parseString()
            if object.contains(key: key) { throw error("duplicate key \"\(key)\"", at: keyStart) }
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
            position += 1
            skipWhitespace()
            let value = try parseValue()
            object.appendNew(key, value)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                depth -= 1
                return .object(object)
            case nil: throw error("unexpected end of input, expected ',' or '}'")
            default: throw error("expected ',' or '}', found \(describeByte(at: position))")
            }
        }
    }

    mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enter()
        position += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { throw error("trailing comma before ']'") }
            elements.append(try parseValue())
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                depth -= 1
                return .array(elements)
            case nil: throw error("unexpected end of input, expected ',' or ']'")
            default: throw error("expected ',' or ']', found \(describeByte(at: position))")
            }
        }
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > maxDepth { throw error("nesting deeper than \(maxDepth) levels") }
    }

    mutating func expectWord(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        let matches = word.withUTF8Buffer { buffer in
            position + count <= bytes.count && bytes[position..<position + count].elementsEqual(buffer)
        }
        guard matches else { throw error("invalid literal, expected '\(word)'") }
        position += count
        if let next = peek(), isIdentifierByte(next) { throw error("invalid literal, expected '\(word)'") }
    }

    // MARK: Numbers

    mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = position
        if peek() == UInt8(ascii: "-") { position += 1 }
        guard let first = peek(), isDigit(first) else { throw error("expected a digit") }
        if first == UInt8(ascii: "0") {
            position += 1
            if let next = peek(), isDigit(next) { throw error("leading zeros are not allowed", at: start) }
        } else {
            skipDigits()
        }
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard let next = peek(), isDigit(next) else { throw error("expected a digit after '.'") }
            skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard let next = peek(), isDigit(next) else { throw error("expected a digit in the exponent") }
            skipDigits()
        }
        if let next = peek(), isIdentifierByte(next) || next == UInt8(ascii: ".") {
            throw error("invalid number")
        }
        return JSONNumber(validatedText: String(decoding: bytes[start..<position], as: UTF8.self))
    }

    mutating func skipDigits() {
        while let byte = peek(), isDigit(byte) { position += 1 }
    }

    // MARK: Strings

    mutating func parseString() throws(JSONParseError) -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let slice = bytes[start..<position]
                guard let text = String(validating: slice, as: UTF8.self) else {
                    throw error("invalid UTF-8 in string", at: firstInvalidUTF8(from: start, to: position))
                }
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("unescaped control character U+\(hex4(UInt32(byte))) in string") }
            position += 1
        }
        // Slow path: decode escapes into a buffer.
        var buffer = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                guard let text = String(validating: buffer, as: UTF8.self) else {
                    throw error("invalid UTF-8 in string", at: firstInvalidUTF8(from: start, to: position))
                }
                position += 1
                return text
            }
            if byte < 0x20 { throw error("unescaped control character U+\(hex4(UInt32(byte))) in string") }
            if byte != UInt8(ascii: "\\") {
                buffer.append(byte)
                position += 1
                continue
            }
            let escapeStart = position
            position += 1
            guard let escaped = peek() else { break }
            position += 1
            switch escaped {
            case UInt8(ascii: "\""): buffer.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): buffer.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): buffer.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard peek() == UInt8(ascii: "\\"), position + 1 < bytes.count,
                        bytes[position + 1] == UInt8(ascii: "u")
                    else { throw error("lone high surrogate \\u\(hex4(scalar))", at: escapeStart) }
                    position += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else {
                        throw error(
                            "high surrogate \\u\(hex4(scalar)) not followed by a low surrogate", at: escapeStart)
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("lone low surrogate \\u\(hex4(scalar))", at: escapeStart)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid escape", at: escapeStart) }
                buffer.append(contentsOf: Array(String(Character(unicode)).utf8))
            default:
                throw error("invalid escape '\\\(String(decoding: [escaped], as: UTF8.self))'", at: escapeStart)
            }
        }
        throw error("unterminated string", at: start - 1)
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("expected four hex digits after \\u") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("expected four hex digits after \\u")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// The offset of the first byte of `bytes[from..<to]` that breaks UTF-8 (for error positions).
    func firstInvalidUTF8(from: Int, to: Int) -> Int {
        var i = from
        while i < to {
            let byte = bytes[i]
            let length: Int
            switch byte {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return i
            }
            guard i + length <= to, String(validating: bytes[i..<i + length], as: UTF8.self) != nil else { return i }
            i += length
        }
        return from
    }

    // MARK: Helpers

    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    func isIdentifierByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
            || byte == UInt8(ascii: "_")
    }

    func describeByte(at offset: Int) -> String {
        let byte = bytes[offset]
        if byte >= 0x21 && byte < 0x7F { return "'\(String(decoding: [byte], as: UTF8.self))'" }
        if byte == 0x2F || byte == 0x23 { return "comment" }
        return "byte 0x\(String(byte, radix: 16))"
    }

    func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    func error(_ message: String, at offset: Int? = nil) -> JSONParseError {
        let offset = min(offset ?? position, bytes.count)
        var line = 1
        var column = 1
        for byte in bytes[0..<offset] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return JSONParseError(line: line, column: column, offset: offset, message: message)
    }
}

// MARK: - Serializing

extension JSONValue {
    /// The document as JSON text: compact, or pretty with two-space indents. Keys keep their
    /// order unless `sortedKeys` (then by UTF-16 code units, as RFC 8785 orders them).
    public func serialized(pretty: Bool = false, sortedKeys: Bool = false) -> String {
        var output = ""
        write(to: &output, pretty: pretty, sortedKeys: sortedKeys, indent: 0)
        if pretty { output.append("\n") }
        return output
    }

    /// `serialized` as UTF-8 bytes.
    public func serializedBytes(pretty: Bool = false, sortedKeys: Bool = false) -> [UInt8] {
        Array(serialized(pretty: pretty, sortedKeys: sortedKeys).utf8)
    }

    private func write(to output: inout String, pretty: Bool, sortedKeys: Bool, indent: Int) {
        switch self {
        case .null: output.append("null")
        case .bool(let value): output.append(value ? "true" : "false")
        case .number(let number): output.append(number.text)
        case .string(let string): JSONValue.writeString(string, to: &output)
        case .array(let elements):
            if elements.isEmpty {
                output.append("[]")
                return
            }
            output.append("[")
            for (i, element) in elements.enumerated() {
                if i > 0 { output.append(",") }
                if pretty { JSONValue.newline(&output, indent + 1) }
                element.write(to: &output, pretty: pretty, sortedKeys: sortedKeys, indent: indent + 1)
            }
            if pretty { JSONValue.newline(&output, indent) }
            output.append("]")
        case .object(let object):
            if object.isEmpty {
                output.append("{}")
                return
            }
            var members = object.members
            if sortedKeys { members.sort { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) } }
            output.append("{")
            for (i, member) in members.enumerated() {
                if i > 0 { output.append(",") }
                if pretty { JSONValue.newline(&output, indent + 1) }
                JSONValue.writeString(member.key, to: &output)
                output.append(pretty ? ": " : ":")
                member.value.write(to: &output, pretty: pretty, sortedKeys: sortedKeys, indent: indent + 1)
            }
            if pretty { JSONValue.newline(&output, indent) }
            output.append("}")
        }
    }

    private static func newline(_ output: inout String, _ indent: Int) {
        output.append("\n")
        output.append(String(repeating: "  ", count: indent))
    }

    /// Writes `string` quoted, escaping `"`, `\` and control characters only.
    public static func writeString(_ string: String, to output: inout String) {
        output.append("\"")
        var pendingStart = string.unicodeScalars.startIndex
        let scalars = string.unicodeScalars
        var i = scalars.startIndex
        while i < scalars.endIndex {
            let scalar = scalars[i]
            let escape: String?
            switch scalar {
            case "\"": escape = "\\\""
            case "\\": escape = "\\\\"
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            case "\u{08}": escape = "\\b"
            case "\u{0C}": escape = "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    escape = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    escape = nil
                }
            }
            if let escape {
                output.unicodeScalars.append(contentsOf: scalars[pendingStart..<i])
                output.append(escape)
                pendingStart = scalars.index(after: i)
            }
            i = scalars.index(after: i)
        }
        output.unicodeScalars.append(contentsOf: scalars[pendingStart..<scalars.endIndex])
        output.append("\"")
    }
}
