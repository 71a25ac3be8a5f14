// MARK: - Exact decimal numbers

extension JSONSchema {
    /// A JSON number as an exact decimal, `digits × 10^exponent`, normalized so that equal values
    /// (`1`, `1.0`, `10e-1`) have equal fields: no leading or trailing zero digits, zero has none.
    struct ExactNumber: Sendable, Hashable {
        var negative = false
        /// ExactNumber digits, each 0...9, most significant first.
        var digits: [UInt8] = []
        var exponent = 0

        /// Exponents beyond this are clamped (a JSON text may say `1e999999999999999999`).
        private static let exponentLimit = 1_000_000_000_000

        init(_ number: JSONNumber) { self.init(text: number.text) }

        /// Reads JSON number syntax; `text` is trusted to be valid JSON number text.
        init(text: String) {
            var inFraction = false
            var inExponent = false
            var exponentNegative = false
            var exponentValue = 0
            var fractionDigits = 0
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "-"):
                    if inExponent { exponentNegative = true } else { negative = true }
                case UInt8(ascii: "."): inFraction = true
                case UInt8(ascii: "e"), UInt8(ascii: "E"): inExponent = true
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    let digit = byte - UInt8(ascii: "0")
                    if inExponent {
                        if exponentValue < Self.exponentLimit { exponentValue = exponentValue * 10 + Int(digit) }
                    } else {
                        if !(digits.isEmpty && digit == 0) { digits.append(digit) }
                        if inFraction { fractionDigits += 1 }
                    }
                default: break
                }
            }
            exponent = (exponentNegative ? -exponentValue : exponentValue) - fractionDigits
            while digits.last == 0 {
                digits.removeLast()
                exponent += 1
            }
            if digits.isEmpty {
                negative = false
                exponent = 0
            }
        }

        var isZero: Bool { digits.isEmpty }
        var isInteger: Bool { digits.isEmpty || exponent >= 0 }

        /// The value as an `Int` when it is a non-negative integer, saturating at `Int.max`.
        var nonNegativeInt: Int? {
            guard !negative, isInteger else { return nil }
            if digits.count + exponent > 18 { return Int.max }
            var value = 0
            for digit in digits { value = value * 10 + Int(digit) }
            for _ in 0..<exponent { value *= 10 }
            return value
        }

        /// -1, 0 or 1 as `lhs` is less than, equal to or greater than `rhs`.
        static func compare(_ lhs: ExactNumber, _ rhs: ExactNumber) -> Int {
            if lhs.negative != rhs.negative { return lhs.negative ? -1 : 1 }
            let magnitude = compareMagnitude(lhs, rhs)
            return lhs.negative ? -magnitude : magnitude
        }

        private static func compareMagnitude(_ lhs: ExactNumber, _ rhs: ExactNumber) -> Int {
            if lhs.isZero || rhs.isZero { return lhs.isZero ? (rhs.isZero ? 0 : -1) : 1 }
            // Position of the leading digit decides first.
            let lhsOrder = lhs.digits.count + lhs.exponent
            let rhsOrder = rhs.digits.count + rhs.exponent
            if lhsOrder != rhsOrder { return lhsOrder < rhsOrder ? -1 : 1 }
            for i in 0..<max(lhs.digits.count, rhs.digits.count) {
                let a = i < lhs.digits.count ? lhs.digits[i] : 0
                let b = i < rhs.digits.count ? rhs.digits[i] : 0
                if a != b { return a < b ? -1 : 1 }
            }
            return 0
        }

        /// Whether `self / divisor` is an integer, computed exactly for divisors of up to 37
        /// significant digits (modular arithmetic on 128-bit integers, any exponent).
        func isMultiple(of divisor: ExactNumber) -> Bool {
            if isZero { return true }
            if divisor.isZero { return false }
            // self = A·10^a, divisor = B·10^b with A, B free of trailing zeros. If a < b the
            // quotient needs A divisible by 10, which it is not.
            if exponent < divisor.exponent { return false }
            guard divisor.digits.count <= 37 else { return approximateIsMultiple(of: divisor) }
            var modulus: UInt128 = 0
            for digit in divisor.digits { modulus = modulus * 10 + UInt128(digit) }
            if modulus == 1 { return true }
            // (A mod B) · (10^(a-b) mod B) mod B, by square-and-multiply.
            var remainder: UInt128 = 0
            for digit in digits { remainder = (remainder * 10 + UInt128(digit)) % modulus }
            var power = 10 % modulus
            var count = exponent - divisor.exponent
            while count > 0 && remainder != 0 {
                if count & 1 == 1 { remainder = Self.multiplyModulo(remainder, power, modulus) }
                power = Self.multiplyModulo(power, power, modulus)
                count >>= 1
            }
            return remainder == 0
        }

        private static func multiplyModulo(_ a: UInt128, _ b: UInt128, _ modulus: UInt128) -> UInt128 {
            // a, b < modulus, so the quotient fits and dividingFullWidth cannot trap.
            modulus.dividingFullWidth(a.multipliedFullWidth(by: b)).remainder
        }

        /// Double-precision fallback for divisors longer than 37 significant digits.
        private func approximateIsMultiple(of divisor: ExactNumber) -> Bool {
            let quotient = double / divisor.double
            return quotient.isFinite && quotient == quotient.rounded()
        }

        var double: Double {
            var text = negative ? "-" : ""
            text += digits.isEmpty ? "0" : digits.map { String($0) }.joined()
            text += "e\(exponent)"
            return Double(text) ?? .nan
        }
    }
}

// MARK: - Equality and hashing by JSON value

extension JSONSchema {
    /// JSON Schema equality: numbers by mathematical value (1 == 1.0), objects regardless of
    /// member order, strings and keys by exact code units.
    static func jsonEqual(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)):
            return a.text.utf8.elementsEqual(b.text.utf8) || ExactNumber(a) == ExactNumber(b)
        case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { jsonEqual($0, $1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for member in a {
                guard let other = b[member.key], jsonEqual(member.value, other) else { return false }
            }
            return true
        default: return false
        }
    }

    /// Feeds `value` to `hasher` consistently with `jsonEqual`; below `depth` 32 it stops
    /// descending (equal values still hash equal, deep ones just collide more).
    static func hashJSON(_ value: JSONValue, into hasher: inout Hasher, depth: Int = 0) {
        switch value {
        case .null: hasher.combine(0 as UInt8)
        case .bool(let b): hasher.combine(b ? 1 as UInt8 : 2)
        case .number(let n):
            hasher.combine(3 as UInt8)
            hasher.combine(ExactNumber(n))
        case .string(let s):
            hasher.combine(4 as UInt8)
            hashUTF8(s, into: &hasher)
        case .array(let elements):
            hasher.combine(5 as UInt8)
            hasher.combine(elements.count)
            guard depth < 32 else { return }
            for element in elements { hashJSON(element, into: &hasher, depth: depth + 1) }
        case .object(let object):
            hasher.combine(6 as UInt8)
            hasher.combine(object.count)
            guard depth < 32 else { return }
            // Order-independent: a sum of per-member hashes.
            var sum = 0
            for member in object {
                var memberHasher = Hasher()
                hashUTF8(member.key, into: &memberHasher)
                hashJSON(member.value, into: &memberHasher, depth: depth + 1)
                sum &+= memberHasher.finalize()
            }
            hasher.combine(sum)
        }
    }

    static func hashUTF8(_ string: String, into hasher: inout Hasher) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable {
            hasher.combine(bytes: UnsafeRawBufferPointer($0))
        }
        if done == nil {
            for byte in string.utf8 { hasher.combine(byte) }
        }
        hasher.combine(0xFF as UInt8)  // terminator, so ["ab","c"] and ["a","bc"] differ
    }

    /// A JSON value hashed and compared the JSON Schema way (for `uniqueItems` and large `enum`s).
    struct HashedValue: Hashable, Sendable {
        let value: JSONValue
        static func == (lhs: HashedValue, rhs: HashedValue) -> Bool { jsonEqual(lhs.value, rhs.value) }
        func hash(into hasher: inout Hasher) { JSONSchema.hashJSON(value, into: &hasher) }
    }

    /// An object key compared and hashed by its UTF-8 bytes (Swift's `String ==` would treat
    /// canonically equivalent spellings as equal; JSON does not).
    struct Key: Hashable, Sendable {
        let text: String
        init(_ text: String) { self.text = text }
        static func == (lhs: Key, rhs: Key) -> Bool { lhs.text.utf8.elementsEqual(rhs.text.utf8) }
        func hash(into hasher: inout Hasher) { JSONSchema.hashUTF8(text, into: &hasher) }
    }
}

// MARK: - URI references (RFC 3986)

extension JSONSchema {
    /// A URI reference split into its five components (RFC 3986, appendix B).
    struct URIReference: Equatable {
        var scheme: String?
        var authority: String?
        var path: String
        var query: String?
        var fragment: String?

        init(_ text: String) {
            var rest = Substring(text)
            if let hash = rest.firstIndex(of: "#") {
                fragment = String(rest[rest.index(after: hash)...])
                rest = rest[..<hash]
            }
            if let question = rest.firstIndex(of: "?") {
                query = String(rest[rest.index(after: question)...])
                rest = rest[..<question]
            }
            if let colon = rest.firstIndex(of: ":"), colon != rest.startIndex,
                !rest[..<colon].contains(where: { $0 == "/" })
            {
                scheme = String(rest[..<colon])
                rest = rest[rest.index(after: colon)...]
            }
            if rest.hasPrefix("//") {
                let afterSlashes = rest.index(rest.startIndex, offsetBy: 2)
                let end = rest[afterSlashes...].firstIndex(of: "/") ?? rest.endIndex
                authority = String(rest[afterSlashes..<end])
                rest = rest[end...]
            }
            path = String(rest)
        }

        /// The reference as text, without its fragment.
        var withoutFragment: String {
            var text = ""
            if let scheme { text += scheme + ":" }
            if let authority { text += "//" + authority }
            text += path
            if let query { text += "?" + query }
            return text
        }

        /// `reference` resolved against `self` as base (RFC 3986 §5.2.2).
        func resolving(_ reference: URIReference) -> URIReference {
            var target = reference
            if reference.scheme != nil {
                target.path = Self.removeDotSegments(reference.path)
                return target
            }
            target.scheme = scheme
            if reference.authority != nil {
                target.path = Self.removeDotSegments(reference.path)
                return target
            }
            target.authority = authority
            if reference.path.isEmpty {
                target.path = path
                target.query = reference.query ?? query
            } else if reference.path.hasPrefix("/") {
                target.path = Self.removeDotSegments(reference.path)
            } else if authority != nil && path.isEmpty {
                target.path = Self.removeDotSegments("/" + reference.path)
            } else {
                let directory = path.lastIndex(of: "/").map { String(path[...$0]) } ?? ""
                target.path = Self.removeDotSegments(directory + reference.path)
            }
            return target
        }

        static func removeDotSegments(_ path: String) -> String {
            guard path.contains(".") else { return path }
            var output: [Substring] = []
            let segments = path.split(separator: "/", omittingEmptySubsequences: false)
            for (i, segment) in segments.enumerated() {
                let isLast = i == segments.count - 1
                if segment == "." {
                    if isLast { output.append("") }
                } else if segment == ".." {
                    if output.count > 1 || (output.count == 1 && !output[0].isEmpty) { output.removeLast() }
                    if isLast { output.append("") }
                } else {
                    output.append(segment)
                }
            }
            var result = output.joined(separator: "/")
            if path.hasPrefix("/") && !result.hasPrefix("/") { result = "/" + result }
            return result
        }
    }

    /// `reference` resolved against `base`: the absolute URI without fragment, and the fragment.
    static func resolveURI(_ reference: String, against base: String) -> (uri: String, fragment: String?) {
        let resolved = URIReference(base).resolving(URIReference(reference))
        return (resolved.withoutFragment, resolved.fragment)
    }

    /// Decodes `%XX` escapes (as UTF-8); malformed escapes stay as written.
    static func percentDecoded(_ text: String) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "%"), i + 2 < utf8.count, let high = hexValue(utf8[i + 1]),
                let low = hexValue(utf8[i + 2])
            {
                bytes.append(high << 4 | low)
                i += 3
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

// MARK: - JSON Pointers (RFC 6901)

extension JSONSchema {
    /// One step of a JSON Pointer.
    enum PathToken: Sendable, Equatable {
        case key(String)
        case index(Int)
    }

    static func pointer(_ tokens: some Sequence<PathToken>) -> String {
        var text = ""
        for token in tokens {
            text += "/"
            switch token {
            case .key(let key): text += escapePointerToken(key)
            case .index(let index): text += String(index)
            }
        }
        return text
    }

    static func pointer(_ tokens: [String]) -> String { pointer(tokens.lazy.map { PathToken.key($0) }) }

    static func escapePointerToken(_ token: String) -> String {
        guard token.contains("~") || token.contains("/") else { return token }
        return token.replacing("~", with: "~0").replacing("/", with: "~1")
    }

    /// The tokens of a JSON Pointer such as `/a~1b/0`; nil when it does not start with `/`.
    static func pointerTokens(_ pointer: String) -> [String]? {
        if pointer.isEmpty { return [] }
        guard pointer.hasPrefix("/") else { return nil }
        return pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).replacing("~1", with: "/").replacing("~0", with: "~")
        }
    }

    /// The value at `tokens` inside `value`.
    static func value(in value: JSONValue, at tokens: some Collection<String>) -> JSONValue? {
        var current = value
        for token in tokens {
            switch current {
            case .object(let object):
                guard let next = object[token] else { return nil }
                current = next
            case .array(let elements):
                guard token.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                    token == "0" || !token.hasPrefix("0"), let index = Int(token), index < elements.count
                else { return nil }
                current = elements[index]
            default: return nil
            }
        }
        return current
    }
}
