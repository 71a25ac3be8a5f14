import Foundation
import Testing

@testable import AirlockCore

// MARK: - Helpers

/// `shared/testdata/json-schema-test-suite/draft2020-12` beside the clone, as in `JSONSchemaTests`.
private let suiteDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("shared/testdata/json-schema-test-suite/draft2020-12")

private typealias LinearRegex = JSONSchema.LinearRegex

/// The reference: the pattern as Swift's backtracking `Regex` runs it (nil when it does not compile).
private func reference(_ source: String) -> Regex<AnyRegexOutput>? {
    try? JSONSchema.Pattern.backtrackingRegex(source)
}

/// Every string up to `length` code points over `alphabet`.
private func allStrings(over alphabet: [String], upTo length: Int) -> [String] {
    var result = [""]
    var layer = [""]
    for _ in 0..<length {
        layer = layer.flatMap { prefix in alphabet.map { prefix + $0 } }
        result += layer
    }
    return result
}

private let curatedInputs: [String] = [
    "", "a", "b", "ab", "abc", "aab", "aaa", "aaaa", "ba", "x", "xyz", "a b", " a", "a\n", "\na", "\n", "\r",
    "é", "ü", "💩", "A", "Z", "0", "9", "123", "2024-01", "_", "-", "a-b", "héllo", "\u{FEFF}", "\u{85}",
    "\u{2028}", "\u{A0}", "\u{3000}", "a.b", "abcabc", "foo", "bar", "foobar", "fooo", "xxaayy", "aaab", "abab",
    "abba", "cd", "acd", "abd", "[", "]", "\\", "^$", "\u{8}", "\t", "\u{B}", "\u{1F400}", "\u{7F}", "\u{80}",
    "π", "Ω", "١٢٣", "e\u{301}", "A1_", "x-y", "ab,cd", ",x,", "x,", "$", "{}", "|", "/", "a/b", "ABC",
    "Hello World", "hello_world", "  ", "a  b", "\u{0}", "\u{1}", "\u{1F4A9}\u{1F4A9}", "12:34", "v1.2.3",
]

/// Inputs for hand-written patterns: the curated ones and every short string over a small alphabet.
private let inputs: [String] =
    curatedInputs
    + allStrings(over: ["a", "b", "c", " ", "-", "0", "é", "\n"], upTo: 3)

/// Where Swift's `Regex` path is known to depart from ECMA-262 (so the pair is not compared; the
/// ECMA-262 answers are checked in `followsECMAScriptSemantics`):
/// - `\b`/`\B` with `.asciiOnlyDigits()` do not count digits as word characters;
/// - `\S` inside a class is Swift's, which differs from ECMA-262's at U+FEFF and U+0085.
private func knownDivergence(_ source: String, _ string: String) -> Bool {
    let boundary = source.contains("\\b") || source.contains("\\B")
    if boundary, string.unicodeScalars.contains(where: { ("0"..."9").contains($0) }) { return true }
    if source.contains("\\S"), string.unicodeScalars.contains(where: { $0 == "\u{FEFF}" || $0 == "\u{85}" }) {
        return true
    }
    return false
}

/// Records every input where the linear matcher and Swift's `Regex` disagree.
private func expectAgreement(_ source: String, on strings: [String], sourceLocation: SourceLocation = #_sourceLocation)
{
    guard let linear = LinearRegex(source) else {
        Issue.record("linear matcher refused \(JSONSchema.quoted(source))", sourceLocation: sourceLocation)
        return
    }
    guard let regex = reference(source) else {
        Issue.record("Swift Regex rejects \(JSONSchema.quoted(source))", sourceLocation: sourceLocation)
        return
    }
    var disagreements = 0
    for string in strings where !knownDivergence(source, string) {
        let expected = string.contains(regex)
        if linear.matches(string) != expected {
            disagreements += 1
            if disagreements <= 5 {
                Issue.record(
                    "\(String(reflecting: source)) on \(String(reflecting: string)): linear \(!expected), Regex \(expected)",
                    sourceLocation: sourceLocation)
            }
        }
    }
}

/// Strings in a suite file: instance data, object keys and patterns, recursively. (Arrays, not
/// sets: `String ==` would merge canonically equivalent spellings.)
private func strings(in value: JSONValue, into result: inout [String]) {
    switch value {
    case .string(let string):
        result.append(string)
    case .array(let items):
        for item in items { strings(in: item, into: &result) }
    case .object(let members):
        for member in members {
            result.append(member.key)
            strings(in: member.value, into: &result)
        }
    default:
        break
    }
}

/// `pattern` values and `patternProperties` keys in a suite file.
private func patterns(in value: JSONValue, into result: inout [String]) {
    switch value {
    case .array(let items):
        for item in items { patterns(in: item, into: &result) }
    case .object(let members):
        for member in members {
            if member.key == "pattern", case .string(let pattern) = member.value { result.append(pattern) }
            if member.key == "patternProperties", case .object(let properties) = member.value {
                result += properties.keys
            }
            patterns(in: member.value, into: &result)
        }
    default:
        break
    }
}

/// A deterministic generator (SplitMix64), so failures reproduce.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A random pattern in the supported subset, written so Swift's `Regex` reads it the ECMA-262 way.
private func randomPattern(_ random: inout SplitMix, depth: Int = 0) -> String {
    let atoms = ["a", "b", "c", ".", "\\d", "\\w", "\\W", "\\s", "\\S", "[ab]", "[^a]", "[a-c]", "é", "-", "[\\s0]"]
    let assertions = ["^", "$", "\\b", "\\B"]
    let quantifiers = ["*", "+", "?", "{2}", "{1,}", "{0,2}", "{1,3}", "*?", "+?", "??", "{0,1}?", "{2,}"]
    var items: [String] = []
    for _ in 0..<Int.random(in: 1...4, using: &random) {
        let roll = Int.random(in: 0..<10, using: &random)
        if roll < 1 {
            items.append(assertions.randomElement(using: &random)!)
            continue
        }
        var atom: String
        if roll < 4 && depth < 3 {
            let branches = (0..<Int.random(in: 1...3, using: &random)).map { _ in
                Bool.random(using: &random) && depth > 0 ? "" : randomPattern(&random, depth: depth + 1)
            }
            atom = (Bool.random(using: &random) ? "(" : "(?:") + branches.joined(separator: "|") + ")"
        } else {
            atom = atoms.randomElement(using: &random)!
        }
        if Int.random(in: 0..<3, using: &random) == 0 { atom += quantifiers.randomElement(using: &random)! }
        items.append(atom)
    }
    return items.joined()
}

// MARK: - Tests

@Suite struct JSONSchemaLinearRegexTests {
    // MARK: Differential against Swift's Regex

    @Test func agreesWithRegexOnSuitePatterns() throws {
        guard FileManager.default.fileExists(atPath: suiteDir.path) else {
            Issue.record("JSON Schema test suite missing: expected \(suiteDir.path)")
            return
        }
        var sources: [String] = []
        var data: [String] = []
        for name in ["pattern.json", "patternProperties.json", "additionalProperties.json", "propertyNames.json"] {
            let file = try JSONValue.parse(Array(Data(contentsOf: suiteDir.appendingPathComponent(name))))
            patterns(in: file, into: &sources)
            strings(in: file, into: &data)
        }
        for expected in ["^a*$", "a+", "^\\p{Letter}+$", "f.*o", "[0-9]{2,}", "^.*bar$", "^á", "^a+$"] {
            #expect(sources.contains(expected))
        }
        for source in sources {
            expectAgreement(source, on: data + inputs)
        }
    }

    static let handWritten: [String] = [
        // Literals and escapes
        "abc", "a\\.b", #"\^\$\\\.\*\+\?\(\)\[\]\{\}\|\/"#, "\\n", "\\t", "\\r", "\\f", "\\v", "\\u0041",
        "\\u00e9", "\\u{1F4A9}", "\\u{0041}", "\\uD83D\\uDCA9", "\\x41", "\\xe9", "\\cJ", "\\cj", "\\0", "\\-",
        "é", "💩+", "^💩$", "a\\u00e9", "\\,", "\\ ", "\\#", "\\'", "\\\"", "\\@", "\\<\\>", "\\%", "\\!",
        "\\_", "\\=", "\\~",
        // The dot
        ".", "^.$", "^..$", "a.c", "^.*$", "^.+$", ".\\n",
        // Classes
        "[abc]", "[^abc]", "[a-c]", "[^a-c]", "[]", "[^]", "^[^]$", "^[]?$", "[]a", "[a-]", "[-a]", "[a\\-z]",
        "[\\d]", "[^\\d]", "[\\D]", "[\\w-]", "[\\s]", "[\\S]", "[^\\s]", "[\\b]", "[.]", "[$^]", "[\\]]",
        "[\\\\]", "[[]", "[é-ü]", "[\\u0000-\\u007F]", "[^\\x00-\\x7F]", "[\\u{1F400}-\\u{1F4FF}]", "[a-z0-9_]",
        "^[A-Za-z_][A-Za-z0-9_]*$", "[\\dA-F]+", "[\\w\\s]", "[^\\w\\s]", "[\\D\\d]", "[^\\D\\d]", "[*+?{}()|]",
        "[\\cJ]", "[\\x30-\\x39]", "[\\u{41}-\\u{43}]", "[\\uD83D\\uDCA9]", "[/]", "^[^\\n]*$",
        // Class escapes
        "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "^\\d+$", "^\\s*$", "\\S+", "^\\w+$", "^\\W*$",
        // Anchors
        "^", "$", "^$", "^a", "a$", "^a$", "a^", "$a", "^^a$$", "(^a|b$)", "(?:^|,)x(?:,|$)", "^(?:^a)$",
        "(a|^)b", "a(b|$)", "^|b", "a|$",
        // Word boundaries
        "\\b", "\\B", "\\ba", "a\\b", "\\bab\\b", "\\Ba\\B", "^\\b", "\\b$", "\\b\\B", "é\\b", "\\b-", "\\bé",
        "\\b\\w+\\b", "\\B-\\B", "(?:\\b|a)+b", "\\b0",
        // Quantifiers
        "a*", "a+", "a?", "^a*$", "^a+$", "^a?$", "^a{2}$", "^a{2,}$", "^a{2,3}$", "^a{0}$", "^a{0,0}b$", "^a{0,1}$",
        "^(ab){2}$", "^(a|b){1,3}$", "a*?", "^a+?$", "^a{2,3}?$", "^a??b$", "^(?:a*)*$", "^(a*)+b$", "^(a|)+$",
        "^(|a)+b$", "^((a)|b)*$", "^(a{0,2}){2}$", "x{3}", "^a{001}$", "^(){3}$", "^(?:){2,}a$", "^(?:a?){3}$",
        "^(?:a?){3}a{3}$", "^[ab]{2,4}$", "^.{0,2}$", "^(?:\\b)?a", "^\\d{1,3}(?:\\.\\d{1,3}){3}$",
        "^(a+)+$", "^(a|a)*$", "^(a|ab)*c$", "(\\w+\\s?)*$", "\\s+$", "^(?:a+|b)*$",
        // Alternation
        "a|b", "^a|b$", "^(a|b)$", "|", "a|", "|a", "^(|a)$", "^(a||b)$", "a|ab|abc", "^(ab|a)(bc|c)$", "^(?:a|)$",
        "^(?:|)$", "^(a|b|c|0|-)+$",
        // Nested groups
        "((a))", "^((a|b)(c|d)?)+$", "(?:(?:a))", "^(?<year>\\d{4})-(?<m>\\d{2})$", "^(((((a)))))$", "^(a(b(c)?)?)?$",
        "^(?<x>a)|(?<y>b)$", "^(?<_é1>a)$",
        // Unicode properties
        "^\\p{Letter}+$", "\\p{Lu}", "\\P{L}", "[\\p{N}x]", "[^\\p{L}]", "[\\P{L}]", "\\p{gc=Nd}",
        "\\p{General_Category=Zs}", "^\\p{White_Space}$", "\\p{ASCII_Hex_Digit}", "^\\p{L}\\p{M}*$", "\\p{Any}",
        "^\\p{ASCII}*$", "\\p{Alphabetic}", "[\\p{Lu}\\p{Nd}]", "\\p{P}", "\\p{Sc}",
    ]

    @Test(arguments: handWritten)
    func agreesWithRegex(_ source: String) {
        expectAgreement(source, on: inputs)
    }

    @Test func agreesWithRegexOnRandomPatterns() {
        var random = SplitMix(state: 20_261_127)
        let strings =
            curatedInputs.filter { $0.unicodeScalars.count <= 6 }
            + allStrings(over: ["a", "b", "c", " ", "0", "é"], upTo: 3)
        var compared = 0
        for _ in 0..<1000 {
            let source = randomPattern(&random)
            // Shapes refused for exponential backtracking can hang the reference even on short
            // inputs; the linear matcher runs them (see `nestedQuantifiersFinish`).
            do throws(JSONSchema.Pattern.Refusal) {
                try JSONSchema.Pattern.refuseCatastrophicBacktracking(source)
            } catch {
                #expect(LinearRegex(source) != nil)
                continue
            }
            expectAgreement(source, on: strings)
            compared += 1
        }
        #expect(compared > 600)
    }

    // MARK: Semantics checked directly

    @Test func followsECMAScriptSemantics() throws {
        func matches(_ source: String, _ string: String) throws -> Bool {
            try #require(LinearRegex(source)).matches(string)
        }
        #expect(try !matches("^\\d+$", "١٢٣"))  // \d is ASCII only
        #expect(try !matches("^\\w$", "é"))
        #expect(try matches("^\\s$", "\u{FEFF}"))
        #expect(try !matches("^\\s$", "\u{85}"))
        #expect(try !matches("^.$", "\n"))
        #expect(try !matches("^.$", "\u{2028}"))
        #expect(try matches("^.$", "\u{85}"))
        #expect(try !matches("^.$", "e\u{301}"))  // code points, not graphemes
        #expect(try matches("^..$", "e\u{301}"))
        #expect(try !matches("^a$", "a\n"))  // `$` is the end of input only
        #expect(try !matches("^a$", "\na"))
        #expect(try matches("b+", "abbc"))
        #expect(try matches("^\\cJ\\u0041\\uD83D\\uDCA9[[a]$", "\nA💩["))
        #expect(try matches("^[^]x[]?$", "zx"))
        #expect(try !matches("[]", ""))
        #expect(try matches("", ""))
        #expect(try matches("\\b", "a"))
        #expect(try !matches("\\b", ""))
        #expect(try !matches("\\b", "é"))
        #expect(try matches("\\B", ""))
        #expect(try matches("^[\\b]$", "\u{8}"))
        #expect(try matches("^a{3}$", "aaa"))
        #expect(try !matches("^a{3}$", "aaaa"))
        #expect(try matches("^\\p{Letter}+$", "π"))
        #expect(try !matches("^\\p{Letter}+$", "123"))
        #expect(try matches("^[^\\p{L}\\d]$", "-"))
        #expect(try !matches("^[^\\p{L}\\d]$", "π"))
        #expect(try matches("^\\P{L}$", "1"))
        #expect(try matches("^(?<n>a)b$", "ab"))
        #expect(try matches("^(?<$_é>a)$", "a"))  // Swift's `Regex` rejects `$` in a group name
        // Where Swift's `Regex` path departs from ECMA-262 (see `knownDivergence`):
        #expect(try matches("\\b", "0"))
        #expect(try matches("^\\d\\b", "1 "))
        #expect(try matches("a\\B0", "a0"))
        #expect(try !matches("^[\\S]$", "\u{FEFF}"))
        #expect(try matches("^[\\S]$", "\u{85}"))
        #expect(try matches("^\\u{10FFFF}$", "\u{10FFFF}"))
    }

    // MARK: Unsupported patterns fall back

    @Test(arguments: [
        "\\1", "(a)\\1", "(?<n>a)\\k<n>", "(?=a)", "(?!a)", "(?<=a)b", "(?<!a)b", "a{", "a{1", "a{1,2", "a{,2}",
        "{", "}", "]", "a]", "a**", "a+*", "a{2}{3}", "a???", "*a", "+", "?", "^*", "$+", "\\b*", "\\B{2}", "(",
        ")", "a)", "(a", "[a", "[", "[\\d-z]", "[a-\\d]", "[z-a]", "a{2,1}", "\\uD800", "\\uDC00", "\\u{D800}",
        "\\u{110000}", "\\u{}", "\\u12", "\\x4", "\\x{41}", "\\c", "\\c1", "\\01", "\\a", "\\e", "\\Q", "\\z",
        "\\h", "\\X", "\\K", "\\R", "\\é", "[\\B]", "[\\1]", "[\\c1]", "(?i)a", "(?i:a)", "(?#x)", "(?<n>a)(?<n>b)",
        "(?<>a)", "(?<1>a)", "(?<n", "\\p{Script=Greek}", "\\p{sc=Grek}", "\\p{letter}", "\\p{Foo}", "\\p{L",
        "\\pL", "\\p{Emoji_Component}", "\\", "a\\",
    ])
    func refusesOutsideTheSubset(_ source: String) {
        #expect(LinearRegex(source) == nil)
    }

    @Test func boundsProgramSize() {
        #expect(LinearRegex("^a{9000}$") != nil)
        #expect(LinearRegex("^a{0,4000}$") != nil)
        #expect(LinearRegex("a{10000}") == nil)
        #expect(LinearRegex("a{5000,}") != nil)
        #expect(LinearRegex("(a{100}){101}") == nil)
        #expect(LinearRegex("((a{100}){100}){100}") == nil)
        #expect(LinearRegex("a{1073741824}") == nil)
        #expect(LinearRegex("a{99999999999999999999999}") == nil)
        #expect(LinearRegex("(?:){1073741824}a") != nil)  // an empty body costs nothing
        #expect(LinearRegex("(?:^){99}a") != nil)
        #expect(LinearRegex(String(repeating: "a", count: 9_999)) != nil)  // and the match instruction
        #expect(LinearRegex(String(repeating: "a", count: 10_000)) == nil)
        #expect(LinearRegex(String(repeating: "[a]", count: 200_000)) == nil)
        let nested = String(repeating: "(", count: 64) + "a" + String(repeating: ")", count: 64)
        #expect(LinearRegex(nested) != nil)
        let tooDeep = String(repeating: "(", count: 65) + "a" + String(repeating: ")", count: 65)
        #expect(LinearRegex(tooDeep) == nil)
        let aaa = String(repeating: "a", count: 9000)
        #expect(LinearRegex("^a{9000}$")?.matches(aaa) == true)
        #expect(LinearRegex("^a{9000}$")?.matches(aaa + "a") == false)
    }

    // MARK: Linear time

    /// Exponential for a backtracking matcher; a few milliseconds here.
    @Test func nestedQuantifiersFinish() throws {
        let regex = try #require(LinearRegex("^(a+)+$"))
        let input = String(repeating: "a", count: 30) + "!"
        #expect(!regex.matches(input))
        #expect(regex.matches(String(repeating: "a", count: 30)))
        let alternatives = try #require(LinearRegex("^(a|a|aa)*b$"))
        #expect(!alternatives.matches(String(repeating: "a", count: 5000)))
        let words = try #require(LinearRegex("^(\\w+\\s?)*$"))
        #expect(!words.matches(String(repeating: "ab ", count: 5000) + "!"))
    }

    /// Quadratic for a backtracking matcher (hours at 1 MiB); linear here.
    @Test func trailingWhitespaceFinishes() throws {
        let regex = try #require(LinearRegex("\\s+$"))
        let spaces = String(repeating: " ", count: 1 << 20)
        #expect(!regex.matches(spaces + "x"))
        #expect(regex.matches("x" + spaces))
        let anchored = try #require(LinearRegex("^\\s*\\S+\\s*x$"))
        #expect(!anchored.matches(spaces + "y" + spaces))
    }

    /// Through the validator: such patterns compile (the linear matcher needs no refusal) and
    /// validate long strings.
    @Test func schemasWithBacktrackingShapesValidate() throws {
        let trailing = try JSONSchema(JSONValue.parse(#"{"pattern": "\\s+$"}"#))
        #expect(!trailing.isValid(.string(String(repeating: " ", count: 1 << 20) + "x")))
        let nested = try JSONSchema(JSONValue.parse(#"{"pattern": "^(a+)+$"}"#))
        #expect(!nested.isValid(.string(String(repeating: "a", count: 30) + "!")))
        #expect(nested.isValid("aaaa"))
        let keys = try JSONSchema(JSONValue.parse(#"{"patternProperties": {"^(a|aa)+$": {"type": "integer"}}}"#))
        #expect(!keys.isValid(.object([String(repeating: "a", count: 1000): "x"])))
        #expect(keys.isValid(.object([String(repeating: "a", count: 1000) + "!": "x"])))
    }

    /// The pattern type uses the linear matcher for the subset and Swift's `Regex` otherwise.
    @Test func patternChoosesItsEngine() throws {
        #expect(try JSONSchema.Pattern("^a+$").isLinear)
        #expect(try JSONSchema.Pattern("^\\p{Letter}+$").isLinear)
        let lookahead = try JSONSchema.Pattern("^(?=a)ab$")
        #expect(!lookahead.isLinear)
        #expect(lookahead.matches("ab"))
        #expect(!lookahead.matches("b"))
        let backreference = try JSONSchema.Pattern("^(a)\\1$")
        #expect(!backreference.isLinear)
        #expect(backreference.matches("aa"))
        #expect(throws: (any Error).self) { try JSONSchema.Pattern("(?<=a)b") }
        #expect(throws: (any Error).self) { try JSONSchema.Pattern("(") }
    }
}
