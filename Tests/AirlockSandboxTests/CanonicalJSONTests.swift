import Foundation
import Testing

import AirlockSandbox

// MARK: - Helpers

/// `shared/testdata/jcs` beside the clone (the RFC 8785 reference test data, CI lays it out as `../shared`).
private let jcsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/testdata/jcs")

/// The canonical text of `text` parsed as JSON.
private func canonical(_ text: String) throws -> String { try JSONValue.parse(text).canonicalized() }

/// The canonical text of a JSON number holding `value`, made from Swift's text for it.
private func canonicalNumber(_ value: Double) throws -> String {
    try JSONValue.parse(String(describing: value)).canonicalized()
}

/// RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical text (finite values only).
private let appendixB: [(bits: UInt64, text: String)] = [
    (0x0000_0000_0000_0000, "0"),
    (0x8000_0000_0000_0000, "0"),  // minus zero
    (0x0000_0000_0000_0001, "5e-324"),  // min positive
    (0x8000_0000_0000_0001, "-5e-324"),  // min negative
    (0x7fef_ffff_ffff_ffff, "1.7976931348623157e+308"),  // max positive
    (0xffef_ffff_ffff_ffff, "-1.7976931348623157e+308"),  // max negative
    (0x4340_0000_0000_0000, "9007199254740992"),  // max positive integer
    (0xc340_0000_0000_0000, "-9007199254740992"),  // max negative integer
    (0x4430_0000_0000_0000, "295147905179352830000"),  // ~2**68
    (0x44b5_2d02_c7e1_4af5, "9.999999999999997e+22"),
    (0x44b5_2d02_c7e1_4af6, "1e+23"),
    (0x44b5_2d02_c7e1_4af7, "1.0000000000000001e+23"),
    (0x444b_1ae4_d6e2_ef4e, "999999999999999700000"),
    (0x444b_1ae4_d6e2_ef4f, "999999999999999900000"),
    (0x444b_1ae4_d6e2_ef50, "1e+21"),
    (0x3eb0_c6f7_a0b5_ed8c, "9.999999999999997e-7"),
    (0x3eb0_c6f7_a0b5_ed8d, "0.000001"),
    (0x41b3_de43_5555_5553, "333333333.3333332"),
    (0x41b3_de43_5555_5554, "333333333.33333325"),
    (0x41b3_de43_5555_5555, "333333333.3333333"),
    (0x41b3_de43_5555_5556, "333333333.3333334"),
    (0x41b3_de43_5555_5557, "333333333.33333343"),
    (0xbecb_f647_612f_3696, "-0.0000033333333333333333"),
    (0x4314_3ff3_c1cb_0959, "1424953923781206.2"),  // round to even
]

// MARK: - Tests

@Suite struct CanonicalJSONTests {
    // MARK: Reference files

    @Test func referenceFilesCanonicalizeByteForByte() throws {
        let inputDir = jcsDir.appendingPathComponent("input")
        let outputDir = jcsDir.appendingPathComponent("output")
        guard FileManager.default.fileExists(atPath: inputDir.path) else {
            Issue.record("RFC 8785 test data missing: expected \(inputDir.path) (../shared/testdata/jcs beside the package)")
            return
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: inputDir.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        #expect(!names.isEmpty, "no *.json files in \(inputDir.path)")
        for name in names {
            let input = [UInt8](try Data(contentsOf: inputDir.appendingPathComponent(name)))
            let expected = [UInt8](try Data(contentsOf: outputDir.appendingPathComponent(name)))
            let actual = try JSONValue.parse(input).canonicalBytes()
            #expect(
                actual == expected,
                "\(name): got \(String(decoding: actual, as: UTF8.self)), expected \(String(decoding: expected, as: UTF8.self))"
            )
        }
    }

    // MARK: Numbers

    @Test(arguments: appendixB.indices)
    func appendixBNumbers(index: Int) throws {
        let (bits, text) = appendixB[index]
        let value = Double(bitPattern: bits)
        #expect(try canonicalNumber(value) == text, "bits 0x\(String(bits, radix: 16))")
        #expect(try JSONValue.number(#require(JSONNumber(value))).canonicalized() == text)
        #expect(JSONNumber.ecmaScriptText(value) == text)
        // Any other spelling of the same double canonicalizes the same way.
        #expect(try canonical(text) == text)
        #expect(try canonical("[\(text)]") == "[\(text)]")
    }

    @Test func appendixBNonFiniteValuesHaveNoJSONNumber() {
        #expect(JSONNumber(Double(bitPattern: 0x7fff_ffff_ffff_ffff)) == nil)  // NaN
        #expect(JSONNumber(Double(bitPattern: 0x7ff0_0000_0000_0000)) == nil)  // Infinity
        #expect(JSONNumber(Double(bitPattern: 0xfff0_0000_0000_0000)) == nil)  // -Infinity
    }

    @Test(arguments: ["1e400", "-1e400", "1.8e308", "[1, {\"a\": 1e309}]"])
    func outOfRangeNumbersThrow(text: String) throws {
        let value = try JSONValue.parse(text)
        #expect(throws: CanonicalJSONError.self) { try value.canonicalized() }
        #expect(throws: CanonicalJSONError.self) { try value.canonicalBytes() }
        do {
            _ = try value.canonicalized()
        } catch {
            #expect("\(error)".contains("IEEE-754"), "unclear error: \(error)")
        }
    }

    @Test func numberSpellings() throws {
        #expect(try canonical("-0") == "0")
        #expect(try canonical("-0.0e5") == "0")
        #expect(try canonical("1.0") == "1")
        #expect(try canonical("1E2") == "100")
        #expect(try canonical("1e-400") == "0")
        #expect(try canonical("0.1") == "0.1")
        #expect(try canonical("-1.5e-7") == "-1.5e-7")
        #expect(try canonical("1e-6") == "0.000001")
        #expect(try canonical("123e18") == "123000000000000000000")
        #expect(try canonical("1e21") == "1e+21")
        #expect(try canonical("12345678901234567890") == "12345678901234567000")
        #expect(try canonical("100000.0") == "100000")
        #expect(try canonical("5e+22") == "5e+22")
    }

    @Test func randomDoublesRoundTripAndIntegersPrintInFull() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let value = Double(bitPattern: generator.next() & 0x7fef_ffff_ffff_ffff | (generator.next() & 1) << 63)
            let text = JSONNumber.ecmaScriptText(value)
            #expect(Double(text) == value, "\(text) does not read back as \(value)")
            #expect(try canonical(text) == text, "\(text) is not a fixed point")
        }
        for _ in 0..<2_000 {
            let integer = Int64.random(in: -(1 << 53)...(1 << 53), using: &generator)
            #expect(JSONNumber.ecmaScriptText(Double(integer)) == String(integer))
        }
    }

    // MARK: Structure and strings

    @Test func objectsSortRecursivelyAndArraysKeepOrder() throws {
        #expect(
            try canonical(#"{ "b": [3, 1, {"z": 1, "a": 2}], "a": {"y": {"d": 1, "c": 2}, "x": []} }"#)
                == #"{"a":{"x":[],"y":{"c":2,"d":1}},"b":[3,1,{"a":2,"z":1}]}"#)
        #expect(try canonical(" [ ] ") == "[]")
        #expect(try canonical(" { } ") == "{}")
        #expect(try canonical("[null, true, false, \"\"]") == #"[null,true,false,""]"#)
    }

    @Test func keysSortByUTF16CodeUnitsNotScalars() throws {
        // U+10000 is D800 DC00 in UTF-16, so it sorts before U+FF61 though its scalar is larger.
        let object: JSONValue = ["\u{FF61}": 1, "\u{10000}": 2, "a": 3]
        #expect(try object.canonicalized() == "{\"a\":3,\"\u{10000}\":2,\"\u{FF61}\":1}")
    }

    @Test func stringsEscapeOnlyWhatJCSRequires() throws {
        #expect(
            try canonical(#"["\u0000\u0008\u0009\u000a\u000c\u000d\u001f\u007f\/\"\\\u00e9\ud83d\ude02"]"#)
                == "[\"\\u0000\\b\\t\\n\\f\\r\\u001f\u{7F}/\\\"\\\\\u{E9}\u{1F602}\"]")
    }
}

/// JSON compares keys and strings by code units; Swift's `String ==` would merge "é" spellings.
@Suite struct ExactKeyTests {
    @Test func canonicallyEquivalentKeysAreDistinct() throws {
        let value = try JSONValue.parse("{\"\\u00e9\": 1, \"e\\u0301\": 2}")
        let object = try #require(value.objectValue)
        #expect(object.count == 2)
        #expect(object["\u{e9}"] == 1)
        #expect(object["e\u{301}"] == 2)
        #expect(JSONValue.string("\u{e9}") != JSONValue.string("e\u{301}"))
        // U+0065 sorts before U+00E9 in UTF-16 order.
        #expect(try value.canonicalized() == "{\"e\u{301}\":2,\"\u{e9}\":1}")
        #expect(throws: JSONParseError.self) { _ = try JSONValue.parse("{\"\\u00e9\": 1, \"\\u00e9\": 2}") }
    }
}
