/// A value that RFC 8785 cannot represent (a number outside IEEE-754 double range).
public struct CanonicalJSONError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension JSONValue {
    // MARK: - RFC 8785 (JSON Canonicalization Scheme)

    /// The RFC 8785 canonical form: no whitespace, object keys sorted by UTF-16 code units,
    /// strings escaped minimally, numbers as ECMAScript prints IEEE-754 doubles.
    public func canonicalized() throws -> String {
        var output = ""
        try writeCanonical(to: &output)
        return output
    }

    /// `canonicalized()` as UTF-8 bytes.
    public func canonicalBytes() throws -> [UInt8] { Array(try canonicalized().utf8) }

    private func writeCanonical(to output: inout String) throws {
        switch self {
        case .null: output.append("null")
        case .bool(let value): output.append(value ? "true" : "false")
        case .number(let number): output.append(try JSONNumber.canonicalText(number.text))
        case .string(let string): JSONValue.writeString(string, to: &output)
        case .array(let elements):
            output.append("[")
            for (i, element) in elements.enumerated() {
                if i > 0 { output.append(",") }
                try element.writeCanonical(to: &output)
            }
            output.append("]")
        case .object(let object):
            let members = object.members.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }
            output.append("{")
            for (i, member) in members.enumerated() {
                if i > 0 { output.append(",") }
                JSONValue.writeString(member.key, to: &output)
                output.append(":")
                try member.value.writeCanonical(to: &output)
            }
            output.append("}")
        }
    }
}

extension JSONNumber {
    /// The number as ECMAScript's `Number.prototype.toString` writes the nearest double
    /// (RFC 8785 section 3.2.2.3).
    static func canonicalText(_ text: String) throws -> String {
        guard let value = Double(text), value.isFinite else {
            throw CanonicalJSONError("the number \(text) is outside the range of an IEEE-754 double (RFC 8785 cannot represent it)")
        }
        return ecmaScriptText(value)
    }

    /// ECMAScript's shortest round-trip form of a finite double.
    public static func ecmaScriptText(_ value: Double) -> String {
        if value == 0 { return "0" }
        if value < 0 { return "-" + ecmaScriptText(-value) }
        // Swift prints the shortest digits that round-trip; take them and their exponent apart.
        let printed = "\(value)"
        var mantissa = Substring(printed)
        var exponent = 0
        if let e = printed.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = printed[..<e]
            exponent = Int(printed[printed.index(after: e)...].replacingPlus()) ?? 0
        }
        var digits = ""
        var pointAt = mantissa.count
        for (i, c) in mantissa.enumerated() {
            if c == "." { pointAt = i } else { digits.append(c) }
        }
        // value = 0.DIGITS x 10^n
        var n = pointAt + exponent
        while digits.first == "0" {
            digits.removeFirst()
            n -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        let k = digits.count
        if k <= n && n <= 21 {
            return digits + String(repeating: "0", count: n - k)
        }
        if 0 < n && n <= 21 {
            let split = digits.index(digits.startIndex, offsetBy: n)
            return String(digits[..<split]) + "." + String(digits[split...])
        }
        if -6 < n && n <= 0 {
            return "0." + String(repeating: "0", count: -n) + digits
        }
        let e = n - 1
        let sign = e < 0 ? "-" : "+"
        let head = String(digits.first!)
        let rest = digits.dropFirst()
        return head + (rest.isEmpty ? "" : "." + rest) + "e" + sign + String(abs(e))
    }
}

extension Substring {
    fileprivate func replacingPlus() -> Substring { first == "+" ? dropFirst() : self }
}
