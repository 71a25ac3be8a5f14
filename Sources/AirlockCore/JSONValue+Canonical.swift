// MARK: - Errors

/// A value that RFC 8785 cannot represent: a number outside the range of an IEEE-754 double.
public struct CanonicalJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What cannot be canonicalized, and why.
    public var message: String

    /// An error that says `message`.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

// MARK: - RFC 8785 (JSON Canonicalization Scheme)

extension JSONValue {
    /// The RFC 8785 canonical form: no whitespace, object keys sorted by UTF-16 code units,
    /// strings escaped minimally, numbers as ECMAScript prints IEEE-754 doubles.
    public func canonicalized() throws -> String {
        var output = ""
        try writeCanonical(to: &output)
        return output
    }

    /// `canonicalized()` as UTF-8 bytes.
    public func canonicalBytes() throws -> [UInt8] { Array(try canonicalized().utf8) }

    /// Appends the canonical form of this value to `output`.
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

// MARK: - Numbers (RFC 8785 section 3.2.2.3)

extension JSONNumber {
    /// The canonical text of a JSON number: the nearest double as ECMAScript prints it.
    static func canonicalText(_ text: String) throws -> String {
        guard let value = Double(text), value.isFinite else {
            throw CanonicalJSONError(
                "the number \(text) is outside the range of an IEEE-754 double, so RFC 8785 cannot represent it")
        }
        return ecmaScriptText(value)
    }

    /// ECMAScript's `Number.prototype.toString` of a finite double (`-0` gives `"0"`).
    public static func ecmaScriptText(_ value: Double) -> String {
        precondition(value.isFinite, "ECMAScript number text needs a finite double, not \(value)")
        if value == 0 { return "0" }
        let (digits, n) = shortestDigits(of: value.magnitude)
        let k = digits.count
        let zero = UInt8(ascii: "0")
        var out: [UInt8] = value < 0 ? [UInt8(ascii: "-")] : []
        if k <= n && n <= 21 {
            // An integer below 1e21: all its digits, padded with zeros.
            out += digits
            out += repeatElement(zero, count: n - k)
        } else if 0 < n && n <= 21 {
            // A fraction at least 1: the point inside the digits.
            out += digits[..<n]
            out.append(UInt8(ascii: "."))
            out += digits[n...]
        } else if -6 < n && n <= 0 {
            // A fraction at least 1e-6: "0." and leading zeros.
            out += [zero, UInt8(ascii: ".")]
            out += repeatElement(zero, count: -n)
            out += digits
        } else {
            // Exponent form: d[.ddd]e±x.
            out.append(digits[0])
            if k > 1 {
                out.append(UInt8(ascii: "."))
                out += digits[1...]
            }
            out.append(UInt8(ascii: "e"))
            out.append(n - 1 < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            out += Array(String((n - 1).magnitude).utf8)
        }
        let text = String(decoding: out, as: UTF8.self)
        assert(Double(text) == value, "ECMAScript text \(text) does not round-trip to \(value)")
        return text
    }

    /// The shortest round-trip digits of a positive finite double, without leading or trailing
    /// zeros, and the exponent `n` with value = 0.DIGITS × 10^n.
    private static func shortestDigits(of value: Double) -> (digits: [UInt8], exponent: Int) {
        // Swift prints the shortest digits that round-trip (the closest when several are as short),
        // as "123.45", "100000.0", "1e-07", "5e+22" or "1.7976931348623157e+308".
        let text = Array(value.description.utf8)
        var digits: [UInt8] = []
        var pointAt: Int?
        var exponent = 0
        var i = 0
        while i < text.count {
            let byte = text[i]
            i += 1
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(byte)
            case UInt8(ascii: "."): pointAt = digits.count
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                var negative = false
                if i < text.count, text[i] == UInt8(ascii: "+") || text[i] == UInt8(ascii: "-") {
                    negative = text[i] == UInt8(ascii: "-")
                    i += 1
                }
                while i < text.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[i]) {
                    exponent = exponent * 10 + Int(text[i] - UInt8(ascii: "0"))
                    i += 1
                }
                if negative { exponent = -exponent }
                precondition(i == text.count, "unexpected Double description \(value.description)")
            default:
                preconditionFailure("unexpected Double description \(value.description)")
            }
        }
        // value = 0.DIGITS × 10^n before the zeros at either end are dropped.
        var n = (pointAt ?? digits.count) + exponent
        let leadingZeros = digits.prefix { $0 == UInt8(ascii: "0") }.count
        digits.removeFirst(leadingZeros)
        n -= leadingZeros
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        precondition(!digits.isEmpty, "unexpected Double description \(value.description)")
        return (digits, n)
    }
}
