// MARK: - Regular expressions

extension JSONSchema {
    /// A compiled `pattern` (or `patternProperties` key): ECMA-262 syntax, matched on Unicode
    /// code points, unanchored.
    ///
    /// Swift's `Regex` is close to ECMA-262; `translate` bridges the differences that change
    /// meaning: ASCII-only `\d`, `\w` and `\b`; ECMA's `\s`, `.`, `\v` and `\cX`; `\uXXXX`
    /// surrogate pairs; `[`, `&` and `~` literal inside classes; `[]` and `[^]`. Swift has no
    /// lookbehind, so patterns using it do not compile (the schema is rejected).
    ///
    /// Swift's `Regex` backtracks and cannot be cancelled, and patterns come from untrusted
    /// schemas. So a pattern in the subset `LinearRegex` supports (nearly every pattern schemas
    /// use) is run by that linear-time matcher instead, with no refusal needed. Only the others
    /// (lookaround, backreferences, unusual syntax, very large counts) use `Regex`, and for them
    /// `init` also refuses (throwing `Refusal`) the shapes that make backtracking exponential;
    /// see `refuseCatastrophicBacktracking`. Polynomial backtracking is not refused there.
    ///
    /// `@unchecked Sendable`: a `Regex` is immutable once built; only its output type,
    /// `AnyRegexOutput`, is not `Sendable`. `init` runs one match so the standard library lowers
    /// the program before the value is shared.
    struct Pattern: @unchecked Sendable {
        let source: String
        private let engine: Engine

        private enum Engine {
            case linear(LinearRegex)
            case backtracking(Regex<AnyRegexOutput>)
        }

        init(_ source: String) throws {
            self.source = source
            if let linear = LinearRegex(source) {
                engine = .linear(linear)
                return
            }
            let regex = try Self.backtrackingRegex(source)
            try Self.refuseCatastrophicBacktracking(source)
            _ = "".contains(regex)
            engine = .backtracking(regex)
        }

        func matches(_ string: String) -> Bool {
            switch engine {
            case .linear(let linear): linear.matches(string)
            case .backtracking(let regex): string.contains(regex)
            }
        }

        /// Whether the linear-time matcher runs this pattern.
        var isLinear: Bool {
            if case .linear = engine { true } else { false }
        }

        /// The pattern as Swift's backtracking `Regex`, with ECMA-262 meanings.
        static func backtrackingRegex(_ source: String) throws -> Regex<AnyRegexOutput> {
            try Regex(translate(source))
                .matchingSemantics(.unicodeScalar)
                .asciiOnlyDigits()
                .asciiOnlyWordCharacters()
                .wordBoundaryKind(.simple)
        }

        /// ECMA-262 WhiteSpace and LineTerminator, as class members (listed one by one: Swift
        /// rejects a range whose bounds, like U+2000, have canonical decompositions).
        private static let whitespace =
            "\\t\\n\\u{0B}\\f\\r \\u{A0}\\u{1680}"
            + (0x2000...0x200A).map { "\\u{\(String($0, radix: 16))}" }.joined()
            + "\\u{2028}\\u{2029}\\u{202F}\\u{205F}\\u{3000}\\u{FEFF}"

        /// Rewrites ECMA-262 syntax into Swift `Regex` syntax with the same meaning.
        static func translate(_ source: String) -> String {
            let scalars = Array(source.unicodeScalars)
            var output = ""
            var inClass = false
            var i = 0
            func append(_ text: String) { output += text }
            while i < scalars.count {
                let scalar = scalars[i]
                if scalar == "\\", i + 1 < scalars.count {
                    let escaped = scalars[i + 1]
                    switch escaped {
                    case "s":
                        append(inClass ? whitespace : "[\(whitespace)]")
                        i += 2
                        continue
                    case "S" where !inClass:
                        append("[^\(whitespace)]")
                        i += 2
                        continue
                    case "v":
                        append("\\u{0B}")
                        i += 2
                        continue
                    case "c":
                        if i + 2 < scalars.count, isASCIILetter(scalars[i + 2]) {
                            append("\\u{\(String(scalars[i + 2].value % 32, radix: 16))}")
                            i += 3
                            continue
                        }
                    case "u":
                        if let (value, length) = unicodeEscape(scalars, at: i) {
                            append("\\u{\(String(value, radix: 16))}")
                            i += length
                            continue
                        }
                    default: break
                    }
                    output.unicodeScalars.append(scalar)
                    output.unicodeScalars.append(escaped)
                    i += 2
                    continue
                }
                if inClass {
                    switch scalar {
                    case "]": inClass = false
                    case "[", "&", "~":
                        output += "\\"
                    default: break
                    }
                    output.unicodeScalars.append(scalar)
                    i += 1
                    continue
                }
                switch scalar {
                case "[":
                    let next = i + 1 < scalars.count ? scalars[i + 1] : nil
                    let afterNext = i + 2 < scalars.count ? scalars[i + 2] : nil
                    if next == "]" {
                        append("[^\\u{0}-\\u{10FFFF}]")  // ECMA `[]` matches nothing
                        i += 2
                    } else if next == "^", afterNext == "]" {
                        append("[\\u{0}-\\u{10FFFF}]")  // ECMA `[^]` matches anything
                        i += 3
                    } else {
                        inClass = true
                        append(next == "^" ? "[^" : "[")
                        i += next == "^" ? 2 : 1
                        // A `]` right after the opening is ECMA's empty class, handled above.
                    }
                case ".":
                    append("[^\\n\\r\\u{2028}\\u{2029}]")
                    i += 1
                default:
                    output.unicodeScalars.append(scalar)
                    i += 1
                }
            }
            return output
        }

        private static func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
        }

        /// `\uXXXX`, or a `\uD8xx\uDCxx` surrogate pair, at `index`: the code point and length.
        private static func unicodeEscape(_ scalars: [Unicode.Scalar], at index: Int) -> (UInt32, Int)? {
            func hex4(_ start: Int) -> UInt32? {
                guard start + 4 <= scalars.count else { return nil }
                var value: UInt32 = 0
                for scalar in scalars[start..<start + 4] {
                    guard scalar.isASCII, let digit = UInt32(String(scalar), radix: 16) else { return nil }
                    value = value << 4 | digit
                }
                return value
            }
            guard let first = hex4(index + 2) else { return nil }
            if (0xD800...0xDBFF).contains(first), index + 7 < scalars.count, scalars[index + 6] == "\\",
                scalars[index + 7] == "u", let second = hex4(index + 8), (0xDC00...0xDFFF).contains(second)
            {
                return (0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00), 12)
            }
            // A lone surrogate is not a scalar Swift can match; leave it for Regex to reject.
            if (0xD800...0xDFFF).contains(first) { return nil }
            return (first, 6)
        }
    }
}

// MARK: - Catastrophic backtracking

extension JSONSchema.Pattern {
    /// A pattern that compiles but is not run: its shape can make backtracking take exponential
    /// time, or it uses syntax outside ECMA-262 that the check cannot model.
    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    /// Throws for a pattern whose matching can take exponential time in the input length.
    ///
    /// The pattern is parsed into its structure (groups and spaces do not hide anything), and
    /// every quantifier that can repeat its operand (`*`, `+`, `{n,}`, `{n,m}` with m > 1) is
    /// checked:
    /// - the repetition must not match one text in more than one way through a loop: that is
    ///   what `(a+)+`, `(a*)*`, `(?:a|b+)*`, `((ab)*)+`, `(a|a)*`, `(a?b?)*`, `(\w+\s?)*` do, and
    ///   backtracking then tries every way. Found exactly on the pattern's position automaton
    ///   (two different paths from a state back to itself on the same text). A bounded
    ///   `{n,m}` counts as unbounded unless its operand is a plain fixed-length sequence, so
    ///   `(a{1,10}){1,10}` and `(a+){5}` are refused too; `(\d{1,3}\.){3}`, `([0-9a-f]{2})+`
    ///   and `^[a-z]+(-[a-z]+)*$` are accepted (a delimiter or a fixed width makes the split
    ///   unique);
    /// - alternatives inside it must not be literal texts where one equals, or is a prefix of,
    ///   another (`(a|a)*`, `(a|ab)*`, `(\d|[0-9a-f])+`).
    /// Without loops, a pattern (or lookaround body) with more than `maxRejoiningSplits` places
    /// where two ways of matching the same text part and meet again is refused: `a?a?…aa…`
    /// written out is exponential in the pattern's length (18 of each: a minute). Also refused:
    /// escapes and `(?` groups that ECMA-262 lacks but Swift reads differently (`\Q…\E`, `(?i)`,
    /// `\x{…}`), groups nested over `maxGroupDepth`, and patterns too large to check.
    ///
    /// Over-cautious: assertions count as matching empty, so `(\w+\b\s*)+` is refused; a
    /// backreference counts as any text; `{n}` of anything but a plain fixed-width sequence
    /// counts as unbounded, so the classic IPv4 pattern with `[01]?\d\d?` inside `(…){3}` is
    /// refused (`(…|1\d\d|[1-9]?\d)` is not). Not refused: polynomial backtracking, like
    /// `\d*\d*\d*x` or an unanchored `\s+$` (quadratic), which long inputs still make slow.
    static func refuseCatastrophicBacktracking(_ source: String) throws(Refusal) {
        let scalars = Array(source.unicodeScalars)
        var parser = ShapeParser(scalars: scalars)
        let shape: Shape
        do {
            shape = try parser.parse()
        } catch {
            throw Refusal(description: "pattern refused: \(error.description) in \(JSONSchema.quoted(source))")
        }
        var check = BacktrackingCheck(source: scalars)
        try check.walk(shape, insideRepetition: nil)
        try check.checkSplits(shape)
    }

    static let maxGroupDepth = 64

    // MARK: Structure

    /// What the check needs of a pattern's structure. Capturing and non-capturing groups are
    /// transparent.
    indirect enum Shape {
        /// Matches only the empty string: `^`, `$`, `\b`, `\B`, an empty alternative.
        case empty
        /// One code point from the set.
        case atom(ScalarSet)
        /// `\1`, `\k<name>`: modelled as any text, `[^]*`.
        case backreference
        /// A lookahead or lookbehind: matches the empty string; its body is checked on its own.
        case lookaround(Shape)
        case sequence([Shape])
        case alternation([Shape])
        /// `text` is the quantified term as written (scalar offsets), for messages.
        case repeated(Shape, min: Int, max: Int?, text: Range<Int>)
    }

    /// A set of code points: sorted, disjoint, non-adjacent ranges.
    struct ScalarSet {
        private(set) var ranges: [ClosedRange<UInt32>]

        init(_ ranges: [ClosedRange<UInt32>]) {
            var merged: [ClosedRange<UInt32>] = []
            for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
                if let last = merged.last, range.lowerBound <= last.upperBound + 1 {
                    merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
                } else {
                    merged.append(range)
                }
            }
            self.ranges = merged
        }

        init(_ scalar: UInt32) { self.init([scalar...scalar]) }

        static let all = ScalarSet([0...0x10FFFF])
        static let none = ScalarSet([])
        static let digit = ScalarSet([0x30...0x39])
        static let word = ScalarSet([0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
        static let whitespace = ScalarSet(
            [0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A, 0x2028...0x2029,
             0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF])
        static let dot = ScalarSet([0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029]).inverted

        var isEmpty: Bool { ranges.isEmpty }

        /// The code point, when the set holds exactly one.
        var single: UInt32? {
            ranges.count == 1 && ranges[0].lowerBound == ranges[0].upperBound ? ranges[0].lowerBound : nil
        }

        func union(_ other: ScalarSet) -> ScalarSet { ScalarSet(ranges + other.ranges) }

        var inverted: ScalarSet {
            var result: [ClosedRange<UInt32>] = []
            var next: UInt32 = 0
            for range in ranges {
                if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
                next = range.upperBound + 1
            }
            if next <= 0x10FFFF { result.append(next...0x10FFFF) }
            return ScalarSet(result)
        }

        func intersects(_ other: ScalarSet) -> Bool {
            var i = 0
            var j = 0
            while i < ranges.count, j < other.ranges.count {
                if ranges[i].overlaps(other.ranges[j]) { return true }
                if ranges[i].upperBound < other.ranges[j].upperBound { i += 1 } else { j += 1 }
            }
            return false
        }
    }

    /// Parses ECMA-262 pattern syntax as Swift's `Regex` reads the translated pattern. Runs after
    /// `Regex` accepted it, so it only needs to be exact about structure; where it is unsure of
    /// a character class it assumes any code point (which can only refuse more).
    struct ShapeParser {
        struct Failure: Error, CustomStringConvertible { let description: String }

        let scalars: [Unicode.Scalar]
        var index = 0
        var depth = 0

        init(scalars: [Unicode.Scalar]) { self.scalars = scalars }

        private var peek: Unicode.Scalar? { peek(0) }
        private func peek(_ offset: Int) -> Unicode.Scalar? {
            index + offset < scalars.count ? scalars[index + offset] : nil
        }

        private static func isDigit(_ scalar: Unicode.Scalar?) -> Bool {
            guard let scalar else { return false }
            return ("0"..."9").contains(scalar)
        }

        private static func notECMA(_ text: String) -> Failure {
            Failure(description: "\(JSONSchema.quoted(text)) is not ECMA-262 regular expression syntax")
        }

        mutating func parse() throws(Failure) -> Shape {
            let shape = try alternation()
            guard index == scalars.count else { throw Failure(description: "an unmatched \")\"") }
            return shape
        }

        private mutating func alternation() throws(Failure) -> Shape {
            var branches = [try sequence()]
            while peek == "|" {
                index += 1
                branches.append(try sequence())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        private mutating func sequence() throws(Failure) -> Shape {
            var items: [Shape] = []
            while let scalar = peek, scalar != "|", scalar != ")" {
                let start = index
                var item = try atom()
                // A second quantifier (Swift's possessive `a*+`) is read as nesting: it can only
                // refuse more.
                while let bounds = quantifier() {
                    item = .repeated(item, min: bounds.min, max: bounds.max, text: start..<index)
                }
                items.append(item)
            }
            return items.count == 1 ? items[0] : .sequence(items)
        }

        private mutating func quantifier() -> (min: Int, max: Int?)? {
            let bounds: (min: Int, max: Int?)
            switch peek {
            case "*":
                bounds = (0, nil)
                index += 1
            case "+":
                bounds = (1, nil)
                index += 1
            case "?":
                bounds = (0, 1)
                index += 1
            case "{":
                guard let (braced, end) = braces() else { return nil }
                bounds = braced
                index = end
            default:
                return nil
            }
            if peek == "?" { index += 1 }  // lazy: the same paths in another order
            return bounds
        }

        /// `{n}`, `{n,}`, `{n,m}` and Swift's `{,m}`, with spaces as Swift allows; anything else is
        /// a literal `{`. Returns the bounds and the index after `}`.
        private func braces() -> ((min: Int, max: Int?), Int)? {
            var lower: Int?
            var upper: Int?
            var comma = false
            var i = index + 1
            while i < scalars.count, scalars[i] != "}" {
                let scalar = scalars[i]
                if scalar == "," {
                    if comma { return nil }
                    comma = true
                } else if Self.isDigit(scalar) {
                    let digit = Int(scalar.value - 0x30)
                    if comma {
                        upper = min((upper ?? 0) * 10 + digit, 1_000_000)
                    } else {
                        lower = min((lower ?? 0) * 10 + digit, 1_000_000)
                    }
                } else if scalar != " " {
                    return nil
                }
                i += 1
            }
            guard i < scalars.count, lower != nil || upper != nil else { return nil }
            let low = lower ?? 0
            let high = comma ? upper.map { max($0, low) } : low
            return ((low, high), i + 1)
        }

        private mutating func atom() throws(Failure) -> Shape {
            switch scalars[index] {
            case "(":
                return try group()
            case "[":
                return .atom(try characterClass())
            case ".":
                index += 1
                return .atom(.dot)
            case "^", "$":
                index += 1
                return .empty
            case "\\":
                return try escape()
            default:
                index += 1
                return .atom(ScalarSet(scalars[index - 1].value))
            }
        }

        private mutating func group() throws(Failure) -> Shape {
            index += 1
            var lookaround = false
            if peek == "?" {
                switch peek(1) {
                case ":":
                    index += 2
                case "=", "!":
                    index += 2
                    lookaround = true
                case "<" where peek(2) == "=" || peek(2) == "!":
                    index += 3
                    lookaround = true
                case "<":
                    index += 2
                    while let scalar = peek, scalar != ">" {
                        guard scalar == "_" || scalar == "$" || scalar.properties.isAlphabetic || Self.isDigit(scalar)
                        else { throw Self.notECMA("(?<" + String(String.UnicodeScalarView(scalars[(index - 2)...index]))) }
                        index += 1
                    }
                    guard peek == ">" else { throw Failure(description: "an unclosed group name") }
                    index += 1
                default:
                    let end = min(index + 3, scalars.count)
                    throw Self.notECMA("(" + String(String.UnicodeScalarView(scalars[index..<end])))
                }
            }
            depth += 1
            guard depth <= JSONSchema.Pattern.maxGroupDepth else {
                throw Failure(description: "groups nested more than \(JSONSchema.Pattern.maxGroupDepth) deep")
            }
            let body = try alternation()
            guard peek == ")" else { throw Failure(description: "an unclosed \"(\"") }
            index += 1
            depth -= 1
            return lookaround ? .lookaround(body) : body
        }

        private mutating func escape() throws(Failure) -> Shape {
            switch peek(1) {
            case "b", "B":
                index += 2
                return .empty
            case let digit? where Self.isDigit(digit) && digit != "0":
                index += 1
                while Self.isDigit(peek) { index += 1 }
                return .backreference
            case "k":
                guard peek(2) == "<" else { throw Self.notECMA("\\k") }
                index += 3
                while let scalar = peek, scalar != ">" { index += 1 }
                guard peek == ">" else { throw Failure(description: "an unclosed \\k<") }
                index += 1
                return .backreference
            default:
                return .atom(try characterEscape(inClass: false))
            }
        }

        /// The escape at `index` (a backslash) that stands for one code point of a set.
        private mutating func characterEscape(inClass: Bool) throws(Failure) -> ScalarSet {
            guard let escaped = peek(1) else { throw Failure(description: "a trailing \"\\\"") }
            index += 2
            switch escaped {
            case "d": return .digit
            case "D": return ScalarSet.digit.inverted
            case "w": return .word
            case "W": return ScalarSet.word.inverted
            case "s": return .whitespace
            case "S": return ScalarSet.whitespace.inverted
            case "t": return ScalarSet(0x09)
            case "n": return ScalarSet(0x0A)
            case "v": return ScalarSet(0x0B)
            case "f": return ScalarSet(0x0C)
            case "r": return ScalarSet(0x0D)
            case "b" where inClass: return ScalarSet(0x08)
            case "0":
                guard !Self.isDigit(peek) else { throw Self.notECMA("\\0" + String(peek!)) }
                return ScalarSet(0)
            case "c":
                guard let letter = peek, letter.isASCII, letter.properties.isAlphabetic else {
                    throw Self.notECMA("\\c")
                }
                index += 1
                return ScalarSet(letter.value % 32)
            case "x":
                guard let value = hex(count: 2) else { throw Self.notECMA("\\x") }
                return ScalarSet(value)
            case "u":
                if peek == "{" {
                    var value: UInt32 = 0
                    var digits = 0
                    index += 1
                    while let scalar = peek, scalar != "}" {
                        guard scalar.isASCII, let digit = UInt32(String(scalar), radix: 16), digits < 6 else {
                            throw Self.notECMA("\\u{")
                        }
                        value = value << 4 | digit
                        digits += 1
                        index += 1
                    }
                    guard peek == "}", digits > 0, value <= 0x10FFFF else { throw Self.notECMA("\\u{") }
                    index += 1
                    return ScalarSet(value)
                }
                guard let (value, length) = JSONSchema.Pattern.unicodeEscape(scalars, at: index - 2) else {
                    throw Self.notECMA("\\u")
                }
                index += length - 2
                return ScalarSet(value)
            case "p", "P":
                guard peek == "{" else { throw Self.notECMA("\\" + String(escaped)) }
                while let scalar = peek, scalar != "}" { index += 1 }
                guard peek == "}" else { throw Failure(description: "an unclosed \\p{") }
                index += 1
                return .all  // some Unicode property: assume any code point
            default:
                // Swift gives meaning to letter and digit escapes ECMA-262 lacks (\Q, \h, \X, \1 in a class…).
                if escaped.isASCII, escaped.properties.isAlphabetic || Self.isDigit(escaped) {
                    throw Self.notECMA("\\" + String(escaped))
                }
                return ScalarSet(escaped.value)
            }
        }

        private mutating func hex(count: Int) -> UInt32? {
            guard index + count <= scalars.count else { return nil }
            var value: UInt32 = 0
            for scalar in scalars[index..<index + count] {
                guard scalar.isASCII, let digit = UInt32(String(scalar), radix: 16) else { return nil }
                value = value << 4 | digit
            }
            index += count
            return value
        }

        private mutating func characterClass() throws(Failure) -> ScalarSet {
            index += 1
            if peek == "]" {  // ECMA `[]`: nothing
                index += 1
                return .none
            }
            var negated = false
            if peek == "^" {
                index += 1
                negated = true
                if peek == "]" {  // ECMA `[^]`: anything
                    index += 1
                    return .all
                }
            }
            var members = ScalarSet.none
            var exact = true
            while let scalar = peek, scalar != "]" {
                if scalar == "-", peek(1) == "-" { exact = false }  // Swift reads `--` as set subtraction
                let low = try classMember()
                if peek == "-", let next = peek(1), next != "]" {
                    index += 1
                    let high = try classMember()
                    if let lower = low.single, let upper = high.single, lower <= upper {
                        members = members.union(ScalarSet([lower...upper]))
                    } else {
                        exact = false
                    }
                } else {
                    members = members.union(low)
                }
            }
            guard peek == "]" else { throw Failure(description: "an unclosed \"[\"") }
            index += 1
            guard exact else { return .all }
            return negated ? members.inverted : members
        }

        private mutating func classMember() throws(Failure) -> ScalarSet {
            if peek == "\\" { return try characterEscape(inClass: true) }
            index += 1
            return ScalarSet(scalars[index - 1].value)
        }
    }

    // MARK: Check

    struct BacktrackingCheck {
        let source: [Unicode.Scalar]
        /// Work left (pairs and edges examined) before the pattern counts as too large to check.
        var budget = 4_000_000

        static let nestedQuantifier =
            "a quantified group that itself contains a quantifier (like (a+)+) can take exponential time"
        static let overlappingAlternatives =
            "a quantified group whose alternatives can match the same text (like (a|a)* or (a|ab)*) can take "
            + "exponential time"
        static let ambiguousRepetition =
            "a quantified group that can match the same text in more than one way can take exponential time"

        init(source: [Unicode.Scalar]) { self.source = source }

        private func refusal(_ reason: String, at text: Range<Int>) -> Refusal {
            let whole = String(String.UnicodeScalarView(source))
            let part = String(String.UnicodeScalarView(source[text]))
            let place = text.count == source.count ? "" : "\(JSONSchema.quoted(part)) in "
            return Refusal(description: "pattern refused: \(reason): \(place)\(JSONSchema.quoted(whole))")
        }

        private var tooComplex: Refusal {
            Refusal(
                description: "pattern refused: too large to check for exponential backtracking: "
                    + JSONSchema.quoted(String(String.UnicodeScalarView(source))))
        }

        /// At most this many `Automaton.rejoiningSplits` in a pattern or lookaround.
        static let maxRejoiningSplits = 16

        /// Refuses a pattern (or lookaround body) that, even without loops, can match one text in
        /// very many ways. Run after `walk`, which refuses the loops that would repeat them.
        mutating func checkSplits(_ shape: Shape) throws(Refusal) {
            var automaton = Automaton()
            // A code point before and after, so paths that start or end apart count too.
            do {
                _ = try automaton.build(.sequence([.atom(.all), shape, .atom(.all)]))
            } catch {
                throw tooComplex
            }
            guard let splits = automaton.rejoiningSplits(budget: &budget, limit: Self.maxRejoiningSplits) else {
                throw tooComplex
            }
            if splits > Self.maxRejoiningSplits {
                throw Refusal(
                    description: "pattern refused: it can match the same text in too many ways (like a?a?a?…aaa… "
                        + "written out), which can take exponential time: "
                        + JSONSchema.quoted(String(String.UnicodeScalarView(source))))
            }
        }

        /// Checks inner repetitions before outer ones, so the message names the smallest culprit.
        mutating func walk(_ shape: Shape, insideRepetition: Range<Int>?) throws(Refusal) {
            switch shape {
            case .empty, .atom, .backreference:
                return
            case .lookaround(let body):
                try walk(body, insideRepetition: nil)  // run once per attempt, never backtracked into
                try checkSplits(body)
            case .sequence(let items):
                for item in items { try walk(item, insideRepetition: insideRepetition) }
            case .alternation(let branches):
                if let text = insideRepetition, try alternativesOverlap(branches) {
                    throw refusal(Self.overlappingAlternatives, at: text)
                }
                for branch in branches { try walk(branch, insideRepetition: insideRepetition) }
            case .repeated(let body, _, let max, let text):
                let repeats = max.map { $0 > 1 } ?? true
                try walk(body, insideRepetition: repeats ? text : insideRepetition)
                guard repeats else { return }
                var automaton = Automaton()
                do {
                    _ = try automaton.build(shape)
                } catch {
                    throw tooComplex
                }
                guard let ambiguous = automaton.hasExponentialAmbiguity(budget: &budget) else { throw tooComplex }
                if ambiguous {
                    let reason =
                        Self.hasVariableRepetition(body)
                        ? Self.nestedQuantifier
                        : Self.hasAlternation(body) ? Self.overlappingAlternatives : Self.ambiguousRepetition
                    throw refusal(reason, at: text)
                }
            }
        }

        private static func hasVariableRepetition(_ shape: Shape) -> Bool {
            switch shape {
            case .empty, .atom: false
            case .backreference: true
            case .lookaround(let body): hasVariableRepetition(body)
            case .sequence(let items), .alternation(let items): items.contains(where: hasVariableRepetition)
            case .repeated(let body, let min, let max, _): max != min || hasVariableRepetition(body)
            }
        }

        private static func hasAlternation(_ shape: Shape) -> Bool {
            switch shape {
            case .empty, .atom, .backreference: false
            case .alternation: true
            case .lookaround(let body), .repeated(let body, _, _, _): hasAlternation(body)
            case .sequence(let items): items.contains(where: hasAlternation)
            }
        }

        /// Whether two alternatives have literal beginnings (code points or classes, fixed
        /// repetitions of them) where one alternative ends while every position so far can match
        /// the same code point in both: `a|a`, `a|ab`, `\d|[0-9a-f]`. Alternatives that match
        /// only the empty string are ignored.
        private mutating func alternativesOverlap(_ branches: [Shape]) throws(Refusal) -> Bool {
            let prefixes = branches.map { branch -> (sets: [ScalarSet], complete: Bool) in
                var sets: [ScalarSet] = []
                let complete = Self.literalPrefix(branch, into: &sets)
                return (sets, complete)
            }
            for i in prefixes.indices {
                for j in prefixes.indices where j > i {
                    let (a, b) = (prefixes[i], prefixes[j])
                    let shared = min(a.sets.count, b.sets.count)
                    budget -= shared + 1
                    guard budget > 0 else { throw tooComplex }
                    guard shared > 0, (a.complete && a.sets.count == shared) || (b.complete && b.sets.count == shared)
                    else { continue }
                    if (0..<shared).allSatisfy({ a.sets[$0].intersects(b.sets[$0]) }) { return true }
                }
            }
            return false
        }

        /// Appends the code point sets `shape` starts with; true when that is all of it.
        private static func literalPrefix(_ shape: Shape, into sets: inout [ScalarSet]) -> Bool {
            guard sets.count < 64 else { return false }
            switch shape {
            case .empty, .lookaround:
                return true
            case .atom(let set):
                sets.append(set)
                return true
            case .sequence(let items):
                return items.allSatisfy { literalPrefix($0, into: &sets) }
            case .repeated(let body, let min, let max, _) where max == min && min <= 16:
                return (0..<min).allSatisfy { _ in literalPrefix(body, into: &sets) }
            case .backreference, .alternation, .repeated:
                return false
            }
        }
    }

    // MARK: Automaton

    /// The position (Glushkov) automaton of a pattern fragment: one state per code point matched,
    /// an edge p → q when q can follow p, labelled by q's set. Edge weights count, up to 2, the
    /// distinct ways the pattern gets from p to q, so `(a*)*` has a doubled a → a edge although
    /// both ways cross the same states. Repetitions are unrolled as `Regex` runs them: an
    /// iteration that matches the empty string ends the loop.
    struct Automaton {
        /// Above this many states the fragment counts as too large to check.
        static let maxPositions = 1000
        /// A bounded repetition of a fixed-length plain sequence is unrolled up to this many states.
        static let maxUnrolled = 256

        struct TooLarge: Error {}

        /// Ways to match the empty string, and ways to start or end at each position.
        struct Ends {
            var nullable: UInt8
            var first: [Int: UInt8]
            var last: [Int: UInt8]

            static let epsilon = Ends(nullable: 1, first: [:], last: [:])
            static let nothing = Ends(nullable: 0, first: [:], last: [:])
        }

        private(set) var sets: [ScalarSet] = []
        private(set) var follow: [[Int: UInt8]] = []

        private static func plus(_ a: UInt8, _ b: UInt8) -> UInt8 { min(2, a + b) }
        private static func times(_ a: UInt8, _ b: UInt8) -> UInt8 { min(2, a * b) }

        private static func merge(_ a: [Int: UInt8], _ b: [Int: UInt8], scaledBy scale: UInt8 = 1) -> [Int: UInt8] {
            guard scale > 0 else { return a }
            var result = a
            for (position, weight) in b { result[position] = plus(result[position] ?? 0, times(weight, scale)) }
            return result
        }

        private mutating func position(_ set: ScalarSet) throws(TooLarge) -> Int {
            guard sets.count < Self.maxPositions else { throw TooLarge() }
            sets.append(set)
            follow.append([:])
            return sets.count - 1
        }

        private mutating func link(_ last: [Int: UInt8], _ first: [Int: UInt8]) {
            for (from, a) in last {
                for (to, b) in first { follow[from][to] = Self.plus(follow[from][to] ?? 0, Self.times(a, b)) }
            }
        }

        private mutating func concat(_ a: Ends, _ b: Ends) -> Ends {
            link(a.last, b.first)
            return Ends(
                nullable: Self.times(a.nullable, b.nullable),
                first: Self.merge(a.first, b.first, scaledBy: a.nullable),
                last: Self.merge(b.last, a.last, scaledBy: b.nullable))
        }

        /// `x?`. Counting an iteration that matches empty as a second way to match empty can
        /// only refuse more.
        private func optional(_ x: Ends) -> Ends {
            Ends(nullable: Self.plus(x.nullable, 1), first: x.first, last: x.last)
        }

        /// `x*`: an iteration can begin where any iteration ends. When `x` can match empty, the
        /// loop can also end with an empty iteration, and `emptyBetween` (iterations of `{n}`
        /// with n ≥ 2 are not checked for emptiness) lets empty iterations come between others:
        /// `((a|)*b)+` and `(a?){16}` both backtrack exponentially in Swift.
        private mutating func star(_ x: Ends, emptyBetween: Bool) -> Ends {
            let stops = Self.plus(1, x.nullable)
            link(emptyBetween ? Self.merge([:], x.last, scaledBy: stops) : x.last, x.first)
            return Ends(nullable: stops, first: x.first, last: Self.merge([:], x.last, scaledBy: stops))
        }

        mutating func build(_ shape: Shape) throws(TooLarge) -> Ends {
            switch shape {
            case .empty, .lookaround:
                return .epsilon
            case .atom(let set):
                let p = try position(set)
                return Ends(nullable: 0, first: [p: 1], last: [p: 1])
            case .backreference:
                return star(try build(.atom(.all)), emptyBetween: false)
            case .sequence(let items):
                var result = Ends.epsilon
                for item in items { result = concat(result, try build(item)) }
                return result
            case .alternation(let branches):
                var result = Ends.nothing
                for branch in branches {
                    let ends = try build(branch)
                    result = Ends(
                        nullable: Self.plus(result.nullable, ends.nullable), first: Self.merge(result.first, ends.first),
                        last: Self.merge(result.last, ends.last))
                }
                return result
            case .repeated(let body, let min, let max, _):
                if max == 0 { return .epsilon }
                if max == 1 {
                    let once = try build(body)
                    return min == 1 ? once : optional(once)
                }
                // Exact copies only of a plain fixed-length sequence: one way to split it. Any
                // other bounded repetition is treated as unbounded, since `(a+){20}` backtracks
                // like `(a+)+` for inputs of practical length.
                let copies: Int
                if let width = Self.plainWidth(body) {
                    copies = Swift.min(min, Swift.max(1, Self.maxUnrolled / Swift.max(width, 1)))
                } else {
                    copies = Swift.min(min, 1)
                }
                var result = Ends.epsilon
                for _ in 0..<copies { result = concat(result, try build(body)) }
                if max.map({ $0 > copies }) ?? true {
                    result = concat(result, star(try build(body), emptyBetween: min >= 2))
                }
                return result
            }
        }

        /// For each pair of states (p * count + q), whether their sets share a code point.
        private func meetings(budget: inout Int) -> [Bool]? {
            let count = sets.count
            budget -= count * count
            guard budget > 0 else { return nil }
            var meets = [Bool](repeating: false, count: count * count)
            for p in 0..<count {
                for q in p..<count {
                    let meet = sets[p].intersects(sets[q])
                    meets[p * count + q] = meet
                    meets[q * count + p] = meet
                }
            }
            return meets
        }

        /// How many times (counted up to a little over `limit`) two paths over the same text can
        /// leave a state apart and later reach one state again: a pair of edges p → q, p → q′
        /// (q ≠ q′) from which the product automaton reaches a pair (r, r), or a doubled edge.
        /// Without loops (that is `hasExponentialAmbiguity`), k such places allow up to about
        /// 2^k ways to match one text, as `a?a?a?aaa` written out shows. Nil when `budget` runs out.
        func rejoiningSplits(budget: inout Int, limit: Int) -> Int? {
            let count = sets.count
            guard let meets = meetings(budget: &budget) else { return nil }
            var predecessors = [[Int]](repeating: [], count: count)
            for p in 0..<count {
                for q in follow[p].keys { predecessors[q].append(p) }
            }
            // Pairs (p, q), p ≠ q, from which the product automaton reaches a diagonal pair.
            var rejoins = Set<Int>()
            var pending = (0..<count).filter { meets[$0 * count + $0] }.map { $0 * count + $0 }
            while let pair = pending.popLast() {
                let (a, b) = pair.quotientAndRemainder(dividingBy: count)
                for p in predecessors[a] {
                    budget -= predecessors[b].count
                    for q in predecessors[b] where p != q && meets[p * count + q] {
                        if rejoins.insert(p * count + q).inserted { pending.append(p * count + q) }
                    }
                }
                guard budget > 0 else { return nil }
            }
            var found = 0
            for p in 0..<count {
                let next = follow[p].keys.sorted()
                for (q, weight) in follow[p] where weight >= 2 && meets[q * count + q] { found += 1 }
                budget -= next.count * next.count
                guard budget > 0 else { return nil }
                for i in next.indices {
                    for j in next.indices where j > i && rejoins.contains(next[i] * count + next[j]) { found += 1 }
                }
                if found > limit { break }
            }
            return found
        }

        /// The number of code points a sequence without alternatives, backreferences or
        /// variable repetitions matches; nil for anything else.
        static func plainWidth(_ shape: Shape) -> Int? {
            switch shape {
            case .empty, .lookaround:
                return 0
            case .atom:
                return 1
            case .backreference, .alternation:
                return nil
            case .sequence(let items):
                var total = 0
                for item in items {
                    guard let width = plainWidth(item) else { return nil }
                    total = Swift.min(total + width, 1 << 20)
                }
                return total
            case .repeated(let body, let min, let max, _):
                guard max == min, let width = plainWidth(body) else { return nil }
                return Swift.min(width * min, 1 << 20)
            }
        }

        /// Whether some state has two different paths back to itself on the same text, so the
        /// number of ways to match grows exponentially with the text (Weideman et al., "Analyzing
        /// matching time behavior of backtracking regular expression matchers by using ambiguity
        /// of NFA"). In the product of the automaton with itself, that is a strongly connected
        /// component holding a pair (q, q) and either a pair (p, p′) with p ≠ p′ or a doubled edge
        /// between pairs (p, p) → (p′, p′). Nil when `budget` runs out.
        func hasExponentialAmbiguity(budget: inout Int) -> Bool? {
            let count = sets.count
            guard count > 0 else { return false }
            let edges = follow.map { $0.keys.sorted() }
            guard let meets = meetings(budget: &budget) else { return nil }

            // Tarjan's algorithm, iteratively, over the pairs reachable from diagonal pairs.
            var order = [Int32](repeating: -1, count: count * count)
            var low = [Int32](repeating: 0, count: count * count)
            var component = [Int32](repeating: -1, count: count * count)
            var onStack = [Bool](repeating: false, count: count * count)
            var stack: [Int] = []
            var visited: Int32 = 0
            var components: Int32 = 0
            var frames: [(pair: Int, successors: [Int], next: Int)] = []

            func successors(_ pair: Int) -> [Int] {
                let (p, q) = pair.quotientAndRemainder(dividingBy: count)
                var result: [Int] = []
                for p2 in edges[p] {
                    for q2 in edges[q] where meets[p2 * count + q2] { result.append(p2 * count + q2) }
                }
                return result
            }

            for start in 0..<count {
                let root = start * count + start
                guard order[root] < 0 else { continue }
                func enter(_ pair: Int, _ budget: inout Int) {
                    order[pair] = visited
                    low[pair] = visited
                    visited += 1
                    stack.append(pair)
                    onStack[pair] = true
                    let next = successors(pair)
                    budget -= next.count + 1
                    frames.append((pair, next, 0))
                }
                enter(root, &budget)
                while let frame = frames.last {
                    guard budget > 0 else { return nil }
                    let top = frames.count - 1
                    if frame.next < frame.successors.count {
                        let successor = frame.successors[frame.next]
                        frames[top].next += 1
                        if order[successor] < 0 {
                            enter(successor, &budget)
                        } else if onStack[successor] {
                            low[frame.pair] = min(low[frame.pair], order[successor])
                        }
                        continue
                    }
                    frames.removeLast()
                    if let parent = frames.last?.pair { low[parent] = min(low[parent], low[frame.pair]) }
                    guard low[frame.pair] == order[frame.pair] else { continue }
                    var diagonal = false
                    var offDiagonal = false
                    while let pair = stack.popLast() {
                        onStack[pair] = false
                        component[pair] = components
                        let (p, q) = pair.quotientAndRemainder(dividingBy: count)
                        if p == q { diagonal = true } else { offDiagonal = true }
                        if pair == frame.pair { break }
                    }
                    components += 1
                    if diagonal && offDiagonal { return true }
                }
            }
            for p in 0..<count where component[p * count + p] >= 0 {
                for (p2, weight) in follow[p]
                where weight >= 2 && meets[p2 * count + p2] && component[p2 * count + p2] == component[p * count + p] {
                    return true
                }
            }
            return false
        }
    }
}
