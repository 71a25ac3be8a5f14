import Foundation
import Testing

import AirlockSandbox

@testable import AirlockCore

// MARK: - Helpers

/// `shared/testdata/json-schema-test-suite/draft2020-12` beside the clone (CI lays it out as `../shared`).
private let suiteDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("shared/testdata/json-schema-test-suite/draft2020-12")

/// What the suite folder holds; a loader that finds fewer cases must not pass.
private let expectedSuiteFiles = 35
private let expectedSuiteCases = 831

/// Suite cases not run, by "file / group / case", with the reason. Keep empty.
private let skippedSuiteCases: [String: String] = [:]

private func json(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

private func schema(_ text: String) throws -> JSONSchema { try JSONSchema(JSONValue.parse(text)) }

/// The problems compiling `text` reports, or an empty list when it compiles.
private func compileProblems(_ text: String) throws -> [SchemaViolation] {
    do {
        _ = try JSONSchema(JSONValue.parse(text))
        return []
    } catch let error as JSONSchemaError {
        return error.problems
    }
}

/// The problems compiling a schema with `pattern` at `/properties/name/pattern`, or (when `key`)
/// as the key of `patternProperties`.
private func patternProblems(_ pattern: String, key: Bool = false) -> [SchemaViolation] {
    let schema: JSONValue = key ? ["patternProperties": [pattern: [:]]] : ["properties": ["name": ["pattern": .string(pattern)]]]
    do {
        _ = try JSONSchema(schema)
        return []
    } catch {
        return error.problems
    }
}

/// `pattern` behind a backreference to an empty group, which matches nothing more but makes Swift's
/// backtracking `Regex` run it whatever other engine takes the patterns it can.
private func viaBacktracking(_ pattern: String) -> String { "()\\1" + pattern }

/// An array nested `depth` levels deep around `1`.
private func nestedArray(_ depth: Int) -> JSONValue {
    var value: JSONValue = 1
    for _ in 0..<depth { value = .array([value]) }
    return value
}

// MARK: - Tests

@Suite struct JSONSchemaTests {
    // MARK: Official test suite

    @Test func officialSuiteDraft2020_12() throws {
        guard FileManager.default.fileExists(atPath: suiteDir.path) else {
            Issue.record(
                "JSON Schema test suite missing: expected \(suiteDir.path) (../shared/testdata beside the package)")
            return
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: suiteDir.path).filter { $0.hasSuffix(".json") }
            .sorted()
        #expect(names.count == expectedSuiteFiles)
        var run = 0
        var passed = 0
        var skipped = 0
        for name in names {
            let data = try Data(contentsOf: suiteDir.appendingPathComponent(name))
            guard case .array(let groups) = try JSONValue.parse(Array(data)) else {
                Issue.record("\(name): not a list of groups")
                continue
            }
            for group in groups {
                let groupName = group["description"]?.stringValue ?? "?"
                guard let schemaValue = group["schema"], case .array(let cases)? = group["tests"] else {
                    Issue.record("\(name) / \(groupName): no schema or tests")
                    continue
                }
                let compiled: JSONSchema
                do {
                    compiled = try JSONSchema(schemaValue)
                } catch {
                    Issue.record("\(name) / \(groupName): schema does not compile: \(error)")
                    run += cases.count
                    continue
                }
                for testCase in cases {
                    let caseName = testCase["description"]?.stringValue ?? "?"
                    let label = "\(name) / \(groupName) / \(caseName)"
                    if skippedSuiteCases[label] != nil {
                        skipped += 1
                        continue
                    }
                    run += 1
                    guard let data = testCase["data"], let expected = testCase["valid"]?.boolValue else {
                        Issue.record("\(label): no data or valid")
                        continue
                    }
                    let violations = compiled.validate(data)
                    let isValid = compiled.isValid(data)
                    if isValid == expected && violations.isEmpty == expected {
                        passed += 1
                    } else {
                        Issue.record(
                            "\(label): expected valid=\(expected), isValid=\(isValid), violations: \(violations.map(\.description))"
                        )
                    }
                }
            }
        }
        #expect(run + skipped == expectedSuiteCases, "cases found in the suite files")
        #expect(passed == run)
        #expect(skipped == skippedSuiteCases.count)
    }

    // MARK: Invalid schemas

    @Test func invalidSchemasNameTheirProblems() throws {
        let type = try compileProblems(#"{"type": 1}"#)
        #expect(type.map(\.instancePath) == ["/type"])
        #expect(type.first?.keyword == "anyOf")
        #expect(type.first?.message.contains("\"string\"") == true)

        let minimum = try compileProblems(#"{"minimum": "a"}"#)
        #expect(minimum.map(\.instancePath) == ["/minimum"])
        #expect(minimum.first?.keyword == "type")
        #expect(minimum.first?.message == "expected number, got string")

        let pattern = try compileProblems(#"{"properties": {"a": {"pattern": "("}}}"#)
        #expect(pattern.map(\.instancePath) == ["/properties/a/pattern"])
        #expect(pattern.first?.keyword == "pattern")
        #expect(pattern.first?.message.hasPrefix("invalid regular expression \"(\"") == true)

        let patternKey = try compileProblems(#"{"patternProperties": {"[": {}}}"#)
        #expect(patternKey.map(\.instancePath) == ["/patternProperties/["])

        let nowhere = try compileProblems(##"{"$ref": "#/nope"}"##)
        #expect(nowhere.map(\.instancePath) == ["/$ref"])
        #expect(nowhere.first?.keyword == "$ref")
        #expect(nowhere.first?.message.contains("resolves nowhere") == true)

        let anchor = try compileProblems(##"{"items": {"$ref": "#missing"}}"##)
        #expect(anchor.map(\.instancePath) == ["/items/$ref"])

        let remote = try compileProblems(#"{"properties": {"x": {"$ref": "https://example.com/x"}}}"#)
        #expect(remote.map(\.instancePath) == ["/properties/x/$ref"])
        #expect(remote.first?.message.contains("remote references are not supported") == true)

        let dialect = try compileProblems(#"{"$schema": "http://json-schema.org/draft-07/schema#"}"#)
        #expect(dialect.map(\.instancePath) == ["/$schema"])

        let notSchema = try compileProblems("5")
        #expect(notSchema.map(\.description) == ["(root): type: expected boolean or object, got integer"])

        do {
            _ = try schema(#"{"type": 1}"#)
            Issue.record("expected an error")
        } catch let error as JSONSchemaError {
            #expect(error.description.hasPrefix("invalid JSON Schema: /type: anyOf: "))
        }
    }

    @Test func referenceCyclesThatNeverDescendAreRejected() throws {
        let selfLoop = try compileProblems(##"{"$ref": "#"}"##)
        #expect(selfLoop.count == 1)
        #expect(selfLoop.first?.message.contains("reference cycle") == true)

        let pair = try compileProblems(
            ##"{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}"##)
        #expect(pair.count == 1)
        #expect(pair.first?.message.contains("#/$defs/a → #/$defs/b → #/$defs/a") == true)

        let throughApplicators = try compileProblems(##"{"anyOf": [{"type": "string"}, {"not": {"$ref": "#"}}]}"##)
        #expect(throughApplicators.count == 1)

        // Recursion that descends into the instance is fine.
        let tree = try schema(##"{"type": "array", "items": {"$ref": "#"}}"##)
        #expect(tree.isValid(try json("[[], [[]]]")))
        #expect(!tree.isValid(try json("[[], [1]]")))
    }

    // MARK: Violations

    @Test func nestedViolationCarriesPaths() throws {
        let compiled = try schema(
            #"""
            {"type": "object", "properties": {"items": {"type": "array", "items": {
                "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}}
            """#)
        let violations = compiled.validate(try json(#"{"items": [{"name": "a"}, {"name": 5}, {}]}"#))
        #expect(
            violations == [
                SchemaViolation(
                    instancePath: "/items/1/name", keyword: "type",
                    schemaPath: "/properties/items/items/properties/name/type",
                    message: "expected string, got integer"),
                SchemaViolation(
                    instancePath: "/items/2", keyword: "required", schemaPath: "/properties/items/items/required",
                    message: "missing required property \"name\""),
            ])
        #expect(violations.first?.description == "/items/1/name: type: expected string, got integer")
        #expect(compiled.validate(try json("3")).map(\.description) == ["(root): type: expected object, got integer"])
    }

    @Test func violationPathsThroughReferencesAndEscapes() throws {
        let compiled = try schema(
            #"""
            {"$defs": {"n": {"type": "integer", "minimum": 0}},
             "properties": {"a/b~c": {"$ref": "#/$defs/n"}},
             "additionalProperties": false}
            """#)
        let violations = compiled.validate(try json(#"{"a/b~c": -1, "extra": true}"#))
        #expect(violations.count == 2)
        #expect(violations.first?.instancePath == "/a~1b~0c")
        #expect(violations.first?.schemaPath == "/properties/a~1b~0c/$ref/minimum")
        #expect(violations.first?.message == "-1 is less than the minimum 0")
        #expect(violations.last?.keyword == "additionalProperties")
        #expect(violations.last?.instancePath == "")
        #expect(violations.last?.message == "property \"extra\" is not allowed")
    }

    @Test func violationsAreCapped() throws {
        let compiled = try schema(#"{"items": {"type": "string"}}"#)
        let violations = compiled.validate(.array(Array(repeating: 1, count: 1000)))
        #expect(violations.count == JSONSchema.maxViolations)
    }

    @Test func alternativesExplainThemselves() throws {
        let compiled = try schema(#"{"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 10}]}"#)
        let violations = compiled.validate(3)
        #expect(violations.count == 1)
        #expect(
            violations.first?.message
                == "value does not match any of the 2 alternatives: [0] expected string, got integer; [1] 3 is less than the minimum 10"
        )
        let oneOf = try schema(#"{"oneOf": [{"type": "integer"}, {"minimum": 0}]}"#)
        #expect(oneOf.validate(3).first?.message == "value matches alternatives 0 and 1; exactly one must match")
        #expect(oneOf.isValid(-3))
    }

    // MARK: Numbers, strings, equality

    @Test func numbersAreExact() throws {
        let cents = try schema(#"{"multipleOf": 0.0001}"#)
        #expect(cents.isValid(try json("0.0075")))
        #expect(!cents.isValid(try json("0.00751")))
        #expect(cents.isValid(try json("12391239123")))
        let tenth = try schema(#"{"multipleOf": 0.1}"#)
        #expect(tenth.isValid(try json("0.3")))
        #expect(tenth.isValid(try json("1e300")))
        let odd = try schema(#"{"multipleOf": 0.123456789}"#)
        #expect(!odd.isValid(try json("1e308")))
        #expect(odd.isValid(try json("0.246913578")))
        let huge = try schema(#"{"multipleOf": 1e-400}"#)
        #expect(huge.isValid(try json("1e400")))
        let long = try schema(#"{"multipleOf": 7}"#)
        #expect(long.isValid(try json("7000000000000000000000000000000000000000000000000007")))
        #expect(!long.isValid(try json("7000000000000000000000000000000000000000000000000008")))

        let integer = try schema(#"{"type": "integer"}"#)
        #expect(integer.isValid(try json("1.0")))
        #expect(integer.isValid(try json("1e3")))
        #expect(integer.isValid(try json("-12.50e1")))
        #expect(!integer.isValid(try json("1.5")))
        #expect(!integer.isValid(try json("1e-3")))

        let bounds = try schema(#"{"minimum": 18446744073709551616, "exclusiveMaximum": 1e20}"#)
        #expect(!bounds.isValid(try json("18446744073709551615")))
        #expect(bounds.isValid(try json("18446744073709551616")))
        #expect(bounds.isValid(try json("99999999999999999999.99")))
        #expect(!bounds.isValid(try json("100000000000000000000")))
        #expect(try schema(#"{"maximum": 0}"#).isValid(try json("-0.0")))
    }

    @Test func equalityIsMathematical() throws {
        let constant = try schema(#"{"const": {"a": [1, 2.0], "b": {"c": null}}}"#)
        #expect(constant.isValid(try json(#"{"b": {"c": null}, "a": [1.0, 2]}"#)))
        #expect(!constant.isValid(try json(#"{"b": {"c": false}, "a": [1.0, 2]}"#)))
        #expect(!constant.isValid(try json(#"{"a": [2, 1], "b": {"c": null}}"#)))

        let values = (0..<40).map { "\($0).0" }.joined(separator: ",")
        let big = try schema(#"{"enum": [\#(values), "x"]}"#)
        #expect(big.isValid(try json("39")))
        #expect(big.isValid(try json("3.9e1")))
        #expect(!big.isValid(try json("40")))
        #expect(!big.isValid(try json("true")))

        let unique = try schema(#"{"uniqueItems": true}"#)
        #expect(!unique.isValid(try json("[1, 1.0]")))
        #expect(!unique.isValid(try json(#"[{"a": 1, "b": 2}, {"b": 2, "a": 1.00}]"#)))
        #expect(unique.isValid(try json("[1, true, \"1\", [1], {\"1\": 1}]")))
        // Canonically equivalent strings are still different JSON strings.
        #expect(unique.isValid(.array([.string("\u{E9}"), .string("e\u{301}")])))
        let many = JSONValue.array((0..<100).map { .number(JSONNumber($0)) } + [try json("50.0")])
        #expect(unique.validate(many).map(\.message) == ["items 50 and 100 are equal"])
    }

    @Test func lengthsCountCodePoints() throws {
        let compiled = try schema(#"{"minLength": 2, "maxLength": 2}"#)
        #expect(compiled.isValid("💩💩"))
        #expect(!compiled.isValid("💩"))
        #expect(compiled.isValid("e\u{301}"))  // one grapheme, two code points
        #expect(!compiled.isValid("🇫🇷🇩🇪"))  // two graphemes, four code points
    }

    @Test func patternsFollowECMAScript() throws {
        let digits = try schema(#"{"pattern": "^\\d+$"}"#)
        #expect(digits.isValid("0123"))
        #expect(!digits.isValid("١٢٣"))  // Arabic-Indic digits are not \d in ECMA-262
        let word = try schema(#"{"pattern": "^\\w+$"}"#)
        #expect(!word.isValid("héllo"))
        let space = try schema(#"{"pattern": "^\\s$"}"#)
        #expect(space.isValid("\u{FEFF}"))
        #expect(!space.isValid("\u{85}"))
        let dot = try schema(#"{"pattern": "^.$"}"#)
        #expect(dot.isValid("é"))
        #expect(!dot.isValid("\n"))
        #expect(!dot.isValid("e\u{301}"))  // code points, not graphemes
        let end = try schema(#"{"pattern": "^a$"}"#)
        #expect(!end.isValid("a\n"))
        let unanchored = try schema(#"{"pattern": "b+"}"#)
        #expect(unanchored.isValid("abbc"))
        let escapes = try schema(#"{"pattern": "^\\cJ\\u0041\\uD83D\\uDCA9[[a]$"}"#)
        #expect(escapes.isValid("\nA💩["))
        let classes = try schema(#"{"pattern": "^[^]x[]?$"}"#)
        #expect(classes.isValid("zx"))
        #expect(try !compileProblems(#"{"pattern": "(?<=a)b"}"#).isEmpty)
    }

    @Test func annotationsAndUnknownKeywordsNeverFail() throws {
        let compiled = try schema(
            #"""
            {"format": "email", "title": "t", "description": "d", "default": 1, "examples": [2],
             "deprecated": true, "readOnly": true, "contentMediaType": "application/json",
             "x-vendor": {"type": "integer"}, "$comment": "c"}
            """#)
        #expect(compiled.isValid("not an email"))
        #expect(compiled.isValid(.object(["type": 1])))
        #expect(try schema("true").isValid(nestedArray(3)))
        #expect(try !schema("false").isValid(.null))
        #expect(
            try schema("false").validate(.null).map(\.description) == [
                "(root): false: no value is allowed here (the schema is false)"
            ])
    }

    // MARK: Applicators and annotations

    @Test func unevaluatedPropertiesSeeAdjacentAndNestedAnnotations() throws {
        let compiled = try schema(
            #"""
            {"properties": {"a": true},
             "allOf": [{"properties": {"b": true}}],
             "anyOf": [{"properties": {"c": {"type": "string"}}, "required": ["c"]}, {"properties": {"d": true}, "required": ["d"]}],
             "patternProperties": {"^x-": true},
             "if": {"properties": {"kind": {"const": "e"}}, "required": ["kind"]},
             "then": {"properties": {"e": true}},
             "not": {"properties": {"z": true}, "required": ["z"]},
             "unevaluatedProperties": false}
            """#)
        #expect(compiled.isValid(try json(#"{"a": 1, "b": 2, "c": "s", "x-1": 3}"#)))
        #expect(compiled.isValid(try json(#"{"d": 1, "kind": "e", "e": 1}"#)))
        // "c" fails its anyOf branch, so that branch's annotations are dropped.
        #expect(!compiled.isValid(try json(#"{"c": 1, "d": 1}"#)))
        #expect(!compiled.isValid(try json(#"{"d": 1, "e": 1}"#)))
        let violations = compiled.validate(try json(#"{"d": 1, "f": 1}"#))
        #expect(violations.map(\.keyword) == ["unevaluatedProperties"])
        #expect(violations.first?.message.contains("\"f\"") == true)
        // Annotations from $ref count; a $ref'd schema does not see its referrer's.
        let viaRef = try schema(
            ##"{"$defs": {"base": {"properties": {"id": true}}}, "$ref": "#/$defs/base", "unevaluatedProperties": false}"##
        )
        #expect(viaRef.isValid(try json(#"{"id": 1}"#)))
        #expect(!viaRef.isValid(try json(#"{"id": 1, "other": 2}"#)))
        let nested = try schema(
            #"{"properties": {"p": {"type": "object"}}, "allOf": [{"unevaluatedProperties": false}]}"#)
        #expect(!nested.isValid(try json(#"{"p": {}}"#)))
        #expect(nested.isValid(try json("{}")))
    }

    @Test func unevaluatedItemsSeePrefixItemsItemsAndContains() throws {
        let compiled = try schema(
            #"""
            {"prefixItems": [{"type": "string"}],
             "allOf": [{"contains": {"type": "boolean"}}],
             "unevaluatedItems": {"type": "integer"}}
            """#)
        #expect(compiled.isValid(try json(#"["a", true, 1, 2, false]"#)))
        #expect(!compiled.isValid(try json(#"["a", true, 1, null]"#)))
        let violations = compiled.validate(try json(#"["a", true, 1, null]"#))
        #expect(violations.map(\.instancePath) == ["/3"])
        #expect(violations.map(\.schemaPath) == ["/unevaluatedItems/type"])

        let closed = try schema(
            #"{"anyOf": [{"prefixItems": [true, true]}, {"items": {"type": "string"}}], "unevaluatedItems": false}"#)
        #expect(closed.isValid(try json("[1, 2]")))
        #expect(closed.isValid(try json(#"["a", "b", "c"]"#)))
        #expect(!closed.isValid(try json("[1, 2, 3]")))
        #expect(closed.validate(try json("[1, 2, 3]")).map(\.keyword) == ["unevaluatedItems"])
    }

    @Test func dynamicReferencesExtendRecursiveSchemas() throws {
        // A tree whose nodes must be strings, extending a generic tree through $dynamicRef.
        let compiled = try schema(
            #"""
            {"$id": "https://example.com/strict-tree", "$dynamicAnchor": "node",
             "$ref": "tree", "unevaluatedProperties": false,
             "$defs": {"tree": {"$id": "tree", "$dynamicAnchor": "node", "type": "object",
                 "properties": {"data": true, "children": {"type": "array", "items": {"$dynamicRef": "#node"}}}}}}
            """#)
        #expect(compiled.isValid(try json(#"{"children": [{"data": 1}]}"#)))
        #expect(!compiled.isValid(try json(#"{"children": [{"daat": 1}]}"#)))
    }

    @Test func metaschemaValidatesItself() throws {
        let meta = try schema(#"{"$ref": "https://json-schema.org/draft/2020-12/schema"}"#)
        #expect(meta.isValid(try json(#"{"type": "object", "properties": {"a": {"type": ["string", "null"]}}}"#)))
        #expect(!meta.isValid(try json(#"{"properties": {"a": {"minItems": -1}}}"#)))
        #expect(
            meta.validate(try json(#"{"$defs": {"x": {"type": "nope"}}}"#)).map(\.instancePath) == ["/$defs/x/type"])
        let text = #"{"$ref": "https://json-schema.org/draft/2020-12/meta/validation"}"#
        #expect(try schema(text).isValid(try json(#"{"minLength": 0}"#)))
    }

    // MARK: Hostile input

    @Test func deepInstancesDoNotOverflow() throws {
        let recursive = try schema(##"{"type": ["array", "integer"], "items": {"$ref": "#"}}"##)
        #expect(recursive.isValid(nestedArray(200)))
        #expect(recursive.validate(nestedArray(200)).isEmpty)
        let parsed = try JSONValue.parse(String(repeating: "[", count: 250) + String(repeating: "]", count: 250))
        #expect(recursive.isValid(parsed))
        // Deeper than the evaluation bound: a violation, not a crash.
        let tooDeep = nestedArray(1200)
        #expect(!recursive.isValid(tooDeep))
        #expect(recursive.validate(tooDeep).last?.keyword == "limit")
        // Deeply nested schemas are checked against the meta-schema without overflowing.
        var nestedSchema: JSONValue = true
        for _ in 0..<120 { nestedSchema = .object(["items": nestedSchema]) }
        #expect(throws: Never.self) { try JSONSchema(nestedSchema) }
    }

    @Test func largeUniqueArraysAreFast() throws {
        let compiled = try schema(#"{"type": "array", "uniqueItems": true, "items": {"type": "integer"}}"#)
        let distinct = JSONValue.array((0..<100_000).map { .number(JSONNumber($0)) })
        let start = ContinuousClock.now
        #expect(compiled.isValid(distinct))
        var duplicated = (0..<100_000).map { JSONValue.number(JSONNumber($0)) }
        duplicated.append(.number(JSONNumber(99_999)))
        #expect(compiled.validate(.array(duplicated)).map(\.keyword) == ["uniqueItems"])
        #expect(ContinuousClock.now - start < .seconds(20))
        let objects = JSONValue.array((0..<20_000).map { .object(["id": .number(JSONNumber($0)), "tag": "t"]) })
        #expect(try schema(#"{"uniqueItems": true}"#).isValid(objects))
    }

    @Test func exponentialSchemasHitTheStepBound() throws {
        // Each level applies the next one twice: 2^40 evaluations if unbounded.
        var defs: [String] = []
        for level in 0..<40 {
            defs.append(
                ##""d\##(level)": {"allOf": [{"$ref": "#/$defs/d\##(level + 1)"}, {"$ref": "#/$defs/d\##(level + 1)"}]}"##
            )
        }
        defs.append(#""d40": {"type": "integer"}"#)
        let compiled = try schema(##"{"$defs": {\##(defs.joined(separator: ","))}, "$ref": "#/$defs/d0"}"##)
        let start = ContinuousClock.now
        #expect(!compiled.isValid(1))
        #expect(compiled.validate(1).last?.keyword == "limit")
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    // MARK: Catastrophic backtracking

    @Test func exponentialPatternsAreRefusedWhenCompiling() throws {
        let nested =
            "pattern refused: a quantified group that itself contains a quantifier (like (a+)+) can take exponential time"
        let alternatives =
            "pattern refused: a quantified group whose alternatives can match the same text (like (a|a)* or (a|ab)*) "
            + "can take exponential time"
        let refused: [(shape: String, message: String)] = [
            ("(a+)+", nested), ("(a*)*", nested), ("(?:a|b+)*", nested), ("((ab)*)+", nested),
            ("(a{1,10}){1,10}", nested), ("(a+){5}", nested), ("(a{2,}){2,}", nested), ("(a+ ?)+", nested),
            ("(?:(?:a)+)+", nested), ("(\\w+\\s?)*", nested), ("(a?b?)*", nested), ("(a?){16}", nested),
            ("(a|a)*", alternatives), ("(a|ab)*", alternatives), ("(?:\\d|[0-9a-f])+", alternatives),
            ("(x(?:foo|foobar))+", alternatives), ("(x(a|a))*", alternatives),
        ]
        for (shape, message) in refused {
            // The check itself, on the bare shape and anchored.
            #expect(throws: JSONSchema.Pattern.Refusal.self, "\(shape)") {
                try JSONSchema.Pattern.refuseCatastrophicBacktracking(shape)
            }
            #expect(throws: JSONSchema.Pattern.Refusal.self, "\(shape)") {
                try JSONSchema.Pattern.refuseCatastrophicBacktracking("^" + shape + "$")
            }
            // Through the compiler, as Swift's `Regex` would run it.
            let problems = patternProblems(viaBacktracking("^" + shape + "$"))
            #expect(problems.map(\.instancePath) == ["/properties/name/pattern"], "\(shape)")
            #expect(problems.first?.keyword == "pattern")
            #expect(problems.first?.message.hasPrefix(message) == true, "\(shape): \(problems)")
            #expect(problems.first?.message.contains(JSONSchema.quoted(shape) + " in ") == true, "\(shape)")
        }

        let key = patternProblems(viaBacktracking("(a|ab)*"), key: true)
        #expect(key.map(\.instancePath) == ["/patternProperties/()\\1(a|ab)*"])
        #expect(key.first?.keyword == "patternProperties")
        #expect(key.first?.message.hasPrefix(alternatives) == true)

        // Inside a lookahead too.
        #expect(patternProblems("^(?=(a+)+b)").first?.message.hasPrefix(nested) == true)
    }

    @Test func loopFreeBlowupsAreRefused() throws {
        // `a?` × 18 then `a` × 18 takes Swift's `Regex` about a minute on 18 a's and "!".
        let writtenOut = String(repeating: "a?", count: 18) + String(repeating: "a", count: 18)
        let problems = patternProblems(viaBacktracking("^" + writtenOut + "$"))
        #expect(problems.map(\.instancePath) == ["/properties/name/pattern"])
        #expect(problems.first?.message.hasPrefix("pattern refused: it can match the same text in too many ways") == true)
        let pairs = "^" + String(repeating: "(a|a)", count: 18) + "$"
        #expect(patternProblems(viaBacktracking(pairs)).first?.message.hasPrefix("pattern refused: it can match") == true)
        // A few such places are fine.
        #expect(patternProblems(viaBacktracking("^a?a?a?aaa$")).isEmpty)
    }

    @Test func syntaxSwiftReadsDifferentlyIsRefused() throws {
        for pattern in ["(?i)a", "\\Qa+\\E", "\\x{41}", "(?#note)a", "\\h"] {
            let problems = patternProblems(pattern)
            #expect(problems.map(\.instancePath) == ["/properties/name/pattern"], "\(pattern)")
            #expect(problems.first?.message.contains("is not ECMA-262 regular expression syntax") == true, "\(pattern)")
        }
    }

    @Test func commonPatternsAreNotRefused() throws {
        let patterns = [
            "^[a-z0-9-]{1,64}$", "^\\d{4}-\\d{2}-\\d{2}$", "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", "^[a-z]+(-[a-z]+)*$",
            "^([a-z0-9-]+\\.)+[a-z]{2,}$", "^[a-zA-Z0-9._%+-]+@(?:[a-zA-Z0-9-]+\\.)+[a-zA-Z]{2,}$",
            "^(\\/[\\w.-]+)+\\/?$", "^([0-9a-f]{2})+$", "^(?:[^\"\\\\]|\\\\[\"\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4})*$",
            "^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$",
            "^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)"
                + "(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$",
            "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", "^\\+?[1-9]\\d{1,14}$",
            "^(?!-)[a-z0-9-]{1,63}$", "^[A-Z][a-z]+( [A-Z][a-z]+)*$", "^-?\\d+(\\.\\d+)?([eE][+-]?\\d+)?$",
            "^(?=.*[A-Z])(?=.*\\d).{8,}$", "^(\\w+)\\s\\1$", "^(read|write|append|readwrite)$", "(a{20})*", "(a|)*",
            "^\\p{Letter}+$",
        ]
        for pattern in patterns {
            #expect(patternProblems(pattern).isEmpty, "\(pattern)")
            #expect(patternProblems(viaBacktracking(pattern)).isEmpty, "\(pattern)")
        }
    }

    /// Typical tool-schema patterns against 1 MiB strings finish (run by whatever engine takes
    /// them, and by Swift's `Regex`).
    @Test func typicalPatternsFinishOnAMegabyte() throws {
        let size = 1 << 20
        let letters = String(repeating: "a", count: size)
        let digits = String(repeating: "7", count: size)
        let atSign = String(repeating: "a", count: size / 2) + "@" + String(repeating: "b", count: size / 2)
        let cases: [(pattern: String, valid: String, inputs: [String])] = [
            ("^[a-z0-9-]{1,64}$", "tool-name", [letters, digits, letters + "!"]),
            ("^\\d{4}-\\d{2}-\\d{2}$", "2024-01-31", [digits, letters, "2024-" + digits]),
            ("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", "a@b.co", [letters, atSign, atSign + " x", atSign + "."]),
        ]
        for (pattern, valid, inputs) in cases {
            for source in [pattern, viaBacktracking(pattern)] {
                let compiled = try JSONSchema(["pattern": .string(source)])
                #expect(compiled.isValid(.string(valid)), "\(source)")
                for input in inputs { #expect(!compiled.isValid(.string(input)), "\(source)") }
            }
        }
    }

    // MARK: Performance and concurrency

    @Test func typicalToolInputValidatesQuickly() throws {
        let compiled = try schema(
            #"""
            {"type": "object", "additionalProperties": false,
             "required": ["path", "mode", "count"],
             "properties": {
                "path": {"type": "string", "minLength": 1, "pattern": "^[^\\u0000]+$"},
                "mode": {"enum": ["read", "write", "append"]},
                "count": {"type": "integer", "minimum": 0, "maximum": 1000},
                "ratio": {"type": "number", "exclusiveMinimum": 0},
                "recursive": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true},
                "owner": {"type": ["string", "null"]},
                "meta": {"type": "object", "additionalProperties": {"type": "string"}},
                "timeout": {"type": "number", "multipleOf": 0.5},
                "encoding": {"const": "utf-8"}}}
            """#)
        let input = try json(
            #"""
            {"path": "/tmp/x", "mode": "read", "count": 10, "ratio": 0.5, "recursive": true,
             "tags": ["a", "b"], "owner": null, "meta": {"k": "v"}, "timeout": 2.5, "encoding": "utf-8"}
            """#)
        #expect(compiled.validate(input).isEmpty)
        let rounds = 2000
        let start = ContinuousClock.now
        for _ in 0..<rounds { _ = compiled.isValid(input) }
        let each = (ContinuousClock.now - start) / rounds
        // Microseconds in release builds; the bound leaves room for debug builds on a loaded machine.
        #expect(each < .milliseconds(2), "validation took \(each)")
    }

    @Test func validatesConcurrently() async throws {
        let compiled = try schema(#"{"type": "object", "patternProperties": {"^n": {"type": "integer"}}}"#)
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                group.addTask { compiled.isValid(.object(["n\(i)": .number(JSONNumber(i))])) }
            }
            var all: [Bool] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results == Array(repeating: true, count: 16))
    }
}
