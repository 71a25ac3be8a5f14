/// A compiled JSON Schema (draft 2020-12): compile once, validate many instances.
///
/// Implements the core, applicator, unevaluated and validation vocabularies. `format` (and the
/// meta-data and content keywords) are annotations only: they never make an instance invalid.
/// Unknown keywords are ignored. `$ref` may point inside the schema or at the embedded 2020-12
/// meta-schemas; nothing is fetched over the network.
///
/// Schemas and instances may be hostile: evaluation depth, evaluation steps and the number of
/// violations reported are bounded, and a `$ref` cycle that never descends into the instance is
/// rejected when compiling.
public struct JSONSchema: Sendable {
    let program: Program

    /// Compiles a schema. Throws when the schema itself is not a valid 2020-12 schema (checked
    /// against the 2020-12 meta-schema, plus things the meta-schema cannot say: a `pattern` that
    /// is not a valid regex, a `$ref` that resolves nowhere, a remote `$ref` other than the
    /// embedded meta-schemas). The error names each problem with its JSON Pointer path in the schema.
    public init(_ schema: JSONValue) throws(JSONSchemaError) {
        if case .string(let declared)? = schema["$schema"], !Self.isSupportedDialect(declared) {
            throw JSONSchemaError(problems: [Self.unsupportedDialect(declared, at: "/$schema")])
        }
        var metaEvaluator = Evaluator(program: Self.metaschema, reporting: true)
        _ = metaEvaluator.run(schema)
        if !metaEvaluator.violations.isEmpty {
            // Each vocabulary meta-schema checks some things again ("type": ["object", "boolean"]).
            var seen: Set<String> = []
            let problems = metaEvaluator.violations.filter { seen.insert($0.description).inserted }
            throw JSONSchemaError(problems: problems)
        }

        var compiler = Compiler()
        let location = compiler.addDocument(schema)
        let root = compiler.compileAll(root: location)
        if !compiler.problems.isEmpty { throw JSONSchemaError(problems: compiler.problems) }
        program = compiler.program(root: root)
    }

    /// Every failure, empty when the instance is valid (at most `maxViolations`). When a bound
    /// stops evaluation (nesting or step count), the last violation has keyword "limit".
    public func validate(_ instance: JSONValue) -> [SchemaViolation] {
        var evaluator = Evaluator(program: program, reporting: true)
        _ = evaluator.run(instance)
        return evaluator.violations
    }

    public func isValid(_ instance: JSONValue) -> Bool {
        var evaluator = Evaluator(program: program, reporting: false)
        return evaluator.run(instance)
    }

    /// The most violations `validate` reports.
    public static let maxViolations = 100
    /// Deepest nesting of schema evaluations (each subschema applied counts one level).
    static let maxDepth = 1000
    /// Subschema evaluations allowed per validation: a base plus a share per value in the
    /// instance, so work stays linear in the instance even for schemas that fan out exponentially.
    static let baseSteps = 100_000
    static let stepsPerValue = 200

    /// How many JSON values `value` holds, itself included (iteratively: instances may be deep).
    static func countValues(_ value: JSONValue) -> Int {
        var count = 0
        var pending = [value]
        while let next = pending.popLast() {
            count += 1
            switch next {
            case .array(let elements): pending.append(contentsOf: elements)
            case .object(let object): pending.append(contentsOf: object.members.lazy.map(\.value))
            default: break
            }
        }
        return count
    }

    static func isSupportedDialect(_ uri: String) -> Bool { uri == dialect || uri == dialect + "#" }

    static func unsupportedDialect(_ uri: String, at path: String) -> SchemaViolation {
        SchemaViolation(
            instancePath: path, keyword: "$schema", schemaPath: "",
            message: "unsupported dialect \(quoted(uri)): only \(dialect) is supported")
    }
}

/// One way an instance fails a schema.
public struct SchemaViolation: Sendable, Equatable, CustomStringConvertible {
    /// JSON Pointer (RFC 6901) into the instance, "" for the root.
    public var instancePath: String
    /// The keyword that failed, e.g. "type", "required", "minimum", "additionalProperties".
    public var keyword: String
    /// JSON Pointer into the schema along the evaluation path (through `$ref` as "/$ref/…").
    public var schemaPath: String
    /// Human-readable, e.g. "expected integer, got string".
    public var message: String

    public init(instancePath: String, keyword: String, schemaPath: String, message: String) {
        self.instancePath = instancePath
        self.keyword = keyword
        self.schemaPath = schemaPath
        self.message = message
    }

    /// E.g. "/a: type: expected integer, got string"; the root shows as "(root)".
    public var description: String {
        "\(instancePath.isEmpty ? "(root)" : instancePath): \(keyword): \(message)"
    }
}

/// A schema that cannot be compiled; each problem's `instancePath` is its path in the schema.
public struct JSONSchemaError: Error, Sendable, CustomStringConvertible {
    public var problems: [SchemaViolation]

    public init(problems: [SchemaViolation]) { self.problems = problems }

    public var description: String {
        problems.map { "invalid JSON Schema: \($0.description)" }.joined(separator: "\n")
    }
}

// MARK: - Compiled form

extension JSONSchema {
    /// The compiled schema: nodes refer to each other by index, so cycles through `$ref` are fine.
    final class Program: Sendable {
        let nodes: [Node]
        let root: Int
        /// Per schema resource: `$dynamicAnchor` name to node, for `$dynamicRef`.
        let dynamicAnchors: [[String: Int]]

        init(nodes: [Node], root: Int, dynamicAnchors: [[String: Int]]) {
            self.nodes = nodes
            self.root = root
            self.dynamicAnchors = dynamicAnchors
        }
    }

    struct Node: Sendable {
        enum Kind: Sendable {
            case always(Bool)
            case keywords([Keyword])
        }
        var kind: Kind
        /// The schema resource (base URI) this subschema belongs to, for the dynamic scope.
        var resource: Int
        /// Has `unevaluatedItems` or `unevaluatedProperties`, so it collects annotations.
        var collects: Bool
    }

    struct Keyword: Sendable {
        /// The keyword as written, the schema path token.
        let name: String
        let check: Check
    }

    enum BoundKind: Sendable { case maximum, exclusiveMaximum, minimum, exclusiveMinimum }

    enum Check: Sendable {
        case ref(Int)
        /// The statically resolved target, and the anchor name when resolution is dynamic.
        case dynamicRef(Int, anchor: String?)
        case type(Types)
        case enumeration([JSONValue], Set<HashedValue>?)
        case constant(JSONValue)
        case multipleOf(ExactNumber, text: String)
        case bound(ExactNumber, Int64?, BoundKind, text: String)
        case maxLength(Int)
        case minLength(Int)
        case pattern(Pattern)
        case maxItems(Int)
        case minItems(Int)
        case uniqueItems
        case prefixItems([Int])
        case items(Int, from: Int)
        case contains(Int, minimum: Int, maximum: Int?, minimumKeyword: String)
        case maxProperties(Int)
        case minProperties(Int)
        case required([String])
        case dependentRequired([(key: String, required: [String])])
        case dependentSchemas([(key: String, node: Int)])
        case properties([Key: Int])
        case patternProperties([(pattern: Pattern, node: Int)])
        case additionalProperties(Int, known: Set<Key>, patterns: [Pattern])
        case propertyNames(Int)
        case allOf([Int])
        case anyOf([Int])
        case oneOf([Int])
        case not(Int)
        case conditional(if: Int, then: Int?, else: Int?)
        case unevaluatedItems(Int)
        case unevaluatedProperties(Int)
    }

    /// The JSON types of the `type` keyword.
    struct Types: OptionSet, Sendable {
        let rawValue: UInt8
        static let null = Types(rawValue: 1 << 0)
        static let boolean = Types(rawValue: 1 << 1)
        static let integer = Types(rawValue: 1 << 2)
        static let number = Types(rawValue: 1 << 3)
        static let string = Types(rawValue: 1 << 4)
        static let array = Types(rawValue: 1 << 5)
        static let object = Types(rawValue: 1 << 6)

        static let names: [(String, Types)] = [
            ("null", .null), ("boolean", .boolean), ("integer", .integer), ("number", .number),
            ("string", .string), ("array", .array), ("object", .object),
        ]

        func matches(_ value: JSONValue) -> Bool {
            switch value {
            case .null: return contains(.null)
            case .bool: return contains(.boolean)
            case .number(let number):
                return contains(.number) || (contains(.integer) && (number.isInteger || ExactNumber(number).isInteger))
            case .string: return contains(.string)
            case .array: return contains(.array)
            case .object: return contains(.object)
            }
        }

        var description: String {
            Self.names.filter { contains($0.1) }.map(\.0).joined(separator: " or ")
        }
    }
}

// MARK: - Evaluation

extension JSONSchema {
    /// Which items or properties of one array or object some keyword has evaluated.
    struct Evaluated {
        var all = false
        var marks: [Bool] = []

        mutating func mark(_ index: Int, of count: Int) {
            if all { return }
            if marks.isEmpty { marks = Array(repeating: false, count: count) }
            marks[index] = true
        }

        mutating func mark(from start: Int, of count: Int) {
            if start == 0 {
                markAll()
            } else {
                for index in start..<count { mark(index, of: count) }
            }
        }

        mutating func markAll() {
            all = true
            marks = []
        }

        func contains(_ index: Int) -> Bool { all || (index < marks.count && marks[index]) }

        mutating func merge(_ other: Evaluated) {
            if all { return }
            if other.all {
                markAll()
            } else if marks.isEmpty {
                marks = other.marks
            } else {
                for index in other.marks.indices where other.marks[index] { marks[index] = true }
            }
        }
    }

    /// One validation run. With `reporting` off it only answers valid or not, stopping early.
    struct Evaluator {
        let program: Program
        var reporting: Bool
        var limit = JSONSchema.maxViolations
        var violations: [SchemaViolation] = []
        /// Maintained only while reporting.
        var instancePath: [PathToken] = []
        var schemaPath: [PathToken] = []
        /// Schema resources entered, outermost first (the dynamic scope).
        var scope: [Int] = []
        var depth = 0
        var steps = 0
        var maxSteps = JSONSchema.baseSteps
        /// The instance, to scale `maxSteps` by its size once the base allowance is used up.
        var root: JSONValue = .null
        var stepsScaled = false
        /// Inside `explain`, which does not nest (so explaining stays linear).
        var explaining = false
        /// Set when a bound was hit: the instance is then invalid, whatever else happened.
        var aborted: SchemaViolation?

        init(program: Program, reporting: Bool) {
            self.program = program
            self.reporting = reporting
        }

        mutating func run(_ instance: JSONValue) -> Bool {
            root = instance
            var none = Evaluated()
            let valid = evaluate(program.root, instance, collect: false, &none)
            if let aborted {
                if reporting {
                    if violations.count >= limit { violations.removeLast() }
                    violations.append(aborted)
                }
                return false
            }
            if !valid && reporting && violations.isEmpty {
                violations.append(
                    SchemaViolation(
                        instancePath: "", keyword: "", schemaPath: "", message: "value does not match the schema"))
            }
            return valid
        }

        /// Whether to look for more violations after one failure.
        var keepGoing: Bool { reporting && aborted == nil && violations.count < limit }

        // MARK: Nodes

        mutating func evaluate(_ index: Int, _ instance: JSONValue, collect: Bool, _ evaluated: inout Evaluated) -> Bool
        {
            if aborted != nil { return false }
            let node = program.nodes[index]
            let keywords: [Keyword]
            switch node.kind {
            case .always(let value):
                return value || fail("false", "no value is allowed here (the schema is false)")
            case .keywords(let list): keywords = list
            }
            depth += 1
            steps += 1
            defer { depth -= 1 }
            if depth > JSONSchema.maxDepth {
                return abort("validation stopped: subschemas nested deeper than \(JSONSchema.maxDepth) levels")
            }
            if steps > maxSteps && !stepsScaled {
                stepsScaled = true
                maxSteps += JSONSchema.stepsPerValue * JSONSchema.countValues(root)
            }
            if steps > maxSteps {
                return abort("validation stopped: more than \(maxSteps) subschema evaluations for this instance")
            }
            let entersResource = scope.last != node.resource
            if entersResource { scope.append(node.resource) }
            defer { if entersResource { scope.removeLast() } }

            let collecting = collect || node.collects
            var local = Evaluated()
            var valid = true
            for keyword in keywords {
                let tracked = reporting
                if tracked { schemaPath.append(.key(keyword.name)) }
                let ok = apply(keyword, instance, collecting, &local)
                if tracked { schemaPath.removeLast() }
                if !ok {
                    valid = false
                    if !keepGoing { break }
                }
            }
            if valid && collect { evaluated.merge(local) }
            return valid
        }

        /// Evaluates a subschema at a child of the instance (or in place when `instanceToken` is nil).
        mutating func descend(
            _ node: Int, _ value: JSONValue, at instanceToken: PathToken?, schema schemaToken: PathToken?,
            collect: Bool = false, _ evaluated: inout Evaluated
        ) -> Bool {
            let tracked = reporting
            if tracked {
                if let instanceToken { instancePath.append(instanceToken) }
                if let schemaToken { schemaPath.append(schemaToken) }
            }
            let valid = evaluate(node, value, collect: collect, &evaluated)
            if tracked {
                if instanceToken != nil { instancePath.removeLast() }
                if schemaToken != nil { schemaPath.removeLast() }
            }
            return valid
        }

        mutating func descend(
            _ node: Int, _ value: JSONValue, at instanceToken: PathToken?, schema schemaToken: PathToken?
        )
            -> Bool
        {
            var none = Evaluated()
            return descend(node, value, at: instanceToken, schema: schemaToken, &none)
        }

        /// Evaluates without reporting: for `anyOf`, `oneOf`, `not`, `if`, `contains`, `propertyNames`.
        mutating func test(_ node: Int, _ value: JSONValue, collect: Bool, _ evaluated: inout Evaluated) -> Bool {
            let saved = reporting
            reporting = false
            defer { reporting = saved }
            return evaluate(node, value, collect: collect, &evaluated)
        }

        /// The first reason `node` rejects `value`, for a summary message; nil when not reporting.
        mutating func explain(_ node: Int, _ value: JSONValue, schema schemaToken: PathToken?) -> String? {
            guard reporting, !explaining else { return nil }
            explaining = true
            var saved: [SchemaViolation] = []
            swap(&saved, &violations)
            let savedLimit = limit
            limit = 1
            var none = Evaluated()
            _ = descend(node, value, at: nil, schema: schemaToken, &none)
            let prefix = JSONSchema.pointer(instancePath)
            let reason = violations.first.map { violation in
                let relative = String(violation.instancePath.dropFirst(prefix.count))
                return relative.isEmpty ? violation.message : "\(relative): \(violation.message)"
            }
            swap(&saved, &violations)
            limit = savedLimit
            explaining = false
            return reason
        }

        mutating func explainAll(_ nodes: [Int], _ value: JSONValue) -> String {
            guard reporting, !explaining else { return "" }
            var reasons: [String] = []
            for (i, node) in nodes.prefix(5).enumerated() {
                if let reason = explain(node, value, schema: .index(i)) { reasons.append("[\(i)] \(reason)") }
            }
            if nodes.count > 5 { reasons.append("…") }
            return reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; ")
        }

        // MARK: Failures

        /// Records a violation at the current paths (the keyword is already on `schemaPath`).
        mutating func fail(_ keyword: String, _ message: @autoclosure () -> String, schemaToken: PathToken? = nil)
            -> Bool
        {
            if reporting && violations.count < limit {
                var path = JSONSchema.pointer(schemaPath)
                if let schemaToken { path += JSONSchema.pointer([schemaToken]) }
                violations.append(
                    SchemaViolation(
                        instancePath: JSONSchema.pointer(instancePath), keyword: keyword, schemaPath: path,
                        message: message()))
            }
            return false
        }

        /// Like `fail`, for a keyword evaluated together with its sibling (`minContains` with `contains`).
        mutating func failSibling(_ keyword: String, _ message: @autoclosure () -> String) -> Bool {
            if reporting && violations.count < limit {
                violations.append(
                    SchemaViolation(
                        instancePath: JSONSchema.pointer(instancePath), keyword: keyword,
                        schemaPath: JSONSchema.pointer(schemaPath.dropLast()) + "/" + keyword, message: message()))
            }
            return false
        }

        mutating func abort(_ message: String) -> Bool {
            if aborted == nil {
                aborted = SchemaViolation(
                    instancePath: reporting ? JSONSchema.pointer(instancePath) : "", keyword: "limit",
                    schemaPath: reporting ? JSONSchema.pointer(schemaPath) : "", message: message)
            }
            return false
        }

        // MARK: Keywords

        /// Dispatches one keyword. Kept small, like every function on the recursive path, so deep
        /// instances need little stack per level; the assertions live in `assert`.
        mutating func apply(_ keyword: Keyword, _ instance: JSONValue, _ collecting: Bool, _ local: inout Evaluated)
            -> Bool
        {
            switch keyword.check {
            case .ref(let target):
                return evaluate(target, instance, collect: collecting, &local)
            case .dynamicRef(let target, let anchor):
                return evaluate(dynamicTarget(target, anchor), instance, collect: collecting, &local)
            case .prefixItems(let nodes):
                return prefixItems(nodes, instance, collecting, &local)
            case .items(let node, let start):
                return items(node, from: start, instance, collecting, &local)
            case .contains(let node, let minimum, let maximum, let minimumKeyword):
                return contains(node, minimum, maximum, minimumKeyword, instance, collecting, &local)
            case .dependentSchemas(let rules):
                return dependentSchemas(rules, instance, collecting, &local)
            case .properties(let nodes):
                return properties(nodes, instance, collecting, &local)
            case .patternProperties(let rules):
                return patternProperties(rules, instance, collecting, &local)
            case .additionalProperties(let node, let known, let patterns):
                return additionalProperties(node, known, patterns, instance, collecting, &local)
            case .propertyNames(let node):
                return propertyNames(node, instance)
            case .allOf(let nodes):
                return allOf(nodes, instance, collecting, &local)
            case .anyOf(let nodes), .oneOf(let nodes):
                return alternatives(nodes, exactlyOne: keyword.name == "oneOf", instance, collecting, &local)
            case .not(let node):
                return not(node, instance)
            case .conditional(let condition, let then, let otherwise):
                return conditional(condition, then, otherwise, instance, collecting, &local)
            case .unevaluatedItems(let node):
                return unevaluatedItems(node, instance, &local)
            case .unevaluatedProperties(let node):
                return unevaluatedProperties(node, instance, &local)
            default:
                return assert(keyword, instance)
            }
        }

        /// The outermost resource in the dynamic scope that declares the `$dynamicAnchor`.
        func dynamicTarget(_ target: Int, _ anchor: String?) -> Int {
            guard let anchor else { return target }
            for resource in scope {
                if let node = program.dynamicAnchors[resource][anchor] { return node }
            }
            return target
        }

        /// Whether the node is the `false` schema (reported by its parent keyword, more clearly).
        func isFalse(_ node: Int) -> Bool {
            if case .always(false) = program.nodes[node].kind { return true }
            return false
        }

        func isTrue(_ node: Int) -> Bool {
            if case .always(true) = program.nodes[node].kind { return true }
            return false
        }

        // MARK: Assertions

        @inline(never)
        mutating func assert(_ keyword: Keyword, _ instance: JSONValue) -> Bool {
            switch keyword.check {
            case .type(let types):
                return types.matches(instance)
                    || fail("type", "expected \(types.description), got \(JSONSchema.typeName(of: instance))")

            case .enumeration(let values, let set):
                let found =
                    set.map { $0.contains(HashedValue(value: instance)) }
                    ?? values.contains { JSONSchema.jsonEqual($0, instance) }
                return found || fail("enum", "value must be one of \(JSONSchema.list(values))")

            case .constant(let value):
                return JSONSchema.jsonEqual(value, instance)
                    || fail("const", "value must be \(JSONSchema.brief(value))")

            case .multipleOf(let divisor, let text):
                guard case .number(let number) = instance else { return true }
                return ExactNumber(number).isMultiple(of: divisor)
                    || fail("multipleOf", "\(number.text) is not a multiple of \(text)")

            case .bound(let limit, let limitInt, let kind, let text):
                guard case .number(let number) = instance else { return true }
                let order: Int
                if let limitInt, let value = number.int64 {
                    order = value < limitInt ? -1 : (value == limitInt ? 0 : 1)
                } else {
                    order = ExactNumber.compare(ExactNumber(number), limit)
                }
                switch kind {
                case .maximum:
                    return order <= 0 || fail(keyword.name, "\(number.text) is greater than the maximum \(text)")
                case .exclusiveMaximum:
                    return order < 0 || fail(keyword.name, "\(number.text) is not less than \(text)")
                case .minimum:
                    return order >= 0 || fail(keyword.name, "\(number.text) is less than the minimum \(text)")
                case .exclusiveMinimum:
                    return order > 0 || fail(keyword.name, "\(number.text) is not greater than \(text)")
                }

            case .maxLength(let maximum):
                guard case .string(let string) = instance, string.utf8.count > maximum else { return true }
                let length = string.unicodeScalars.count
                return length <= maximum
                    || fail("maxLength", "string is \(length) characters long, more than the maximum \(maximum)")

            case .minLength(let minimum):
                // A code point takes at most four UTF-8 bytes.
                guard case .string(let string) = instance, string.utf8.count / 4 < minimum else { return true }
                let length = string.unicodeScalars.count
                return length >= minimum
                    || fail("minLength", "string is \(length) characters long, less than the minimum \(minimum)")

            case .pattern(let pattern):
                guard case .string(let string) = instance else { return true }
                return pattern.matches(string)
                    || fail("pattern", "string does not match the pattern \(JSONSchema.quoted(pattern.source))")

            case .maxItems(let maximum):
                guard case .array(let elements) = instance else { return true }
                return elements.count <= maximum
                    || fail("maxItems", "array has \(elements.count) items, more than the maximum \(maximum)")

            case .minItems(let minimum):
                guard case .array(let elements) = instance else { return true }
                return elements.count >= minimum
                    || fail("minItems", "array has \(elements.count) items, fewer than the minimum \(minimum)")

            case .uniqueItems:
                guard case .array(let elements) = instance, elements.count > 1 else { return true }
                guard let (first, second) = JSONSchema.firstDuplicate(elements) else { return true }
                return fail("uniqueItems", "items \(first) and \(second) are equal")

            case .maxProperties(let maximum):
                guard case .object(let object) = instance else { return true }
                return object.count <= maximum
                    || fail("maxProperties", "object has \(object.count) properties, more than the maximum \(maximum)")

            case .minProperties(let minimum):
                guard case .object(let object) = instance else { return true }
                return object.count >= minimum
                    || fail("minProperties", "object has \(object.count) properties, fewer than the minimum \(minimum)")

            case .required(let names):
                guard case .object(let object) = instance else { return true }
                var valid = true
                for name in names where !object.contains(key: name) {
                    valid = fail("required", "missing required property \(JSONSchema.quoted(name))")
                    if !keepGoing { break }
                }
                return valid

            case .dependentRequired(let rules):
                guard case .object(let object) = instance else { return true }
                var valid = true
                for rule in rules where object.contains(key: rule.key) {
                    for name in rule.required where !object.contains(key: name) {
                        valid = fail(
                            "dependentRequired",
                            "property \(JSONSchema.quoted(name)) is required when \(JSONSchema.quoted(rule.key)) is present",
                            schemaToken: .key(rule.key))
                        if !keepGoing { return false }
                    }
                }
                return valid

            default:
                return true  // applicators are dispatched by `apply`
            }
        }

        // MARK: Arrays

        @inline(never)
        mutating func prefixItems(_ nodes: [Int], _ instance: JSONValue, _ collecting: Bool, _ local: inout Evaluated)
            -> Bool
        {
            guard case .array(let elements) = instance else { return true }
            var valid = true
            for (index, node) in nodes.enumerated() where index < elements.count {
                if collecting { local.mark(index, of: elements.count) }
                if !descend(node, elements[index], at: .index(index), schema: .index(index)) {
                    valid = false
                    if !keepGoing { break }
                }
            }
            return valid
        }

        @inline(never)
        mutating func items(
            _ node: Int, from start: Int, _ instance: JSONValue, _ collecting: Bool, _ local: inout Evaluated
        ) -> Bool {
            guard case .array(let elements) = instance, elements.count > start else { return true }
            if collecting { local.mark(from: start, of: elements.count) }
            if isTrue(node) { return true }
            if isFalse(node) {
                return fail(
                    "items",
                    start == 0
                        ? "array must be empty, has \(elements.count) items"
                        : "array may have at most \(start) items, has \(elements.count)")
            }
            var valid = true
            for index in start..<elements.count {
                if !descend(node, elements[index], at: .index(index), schema: nil) {
                    valid = false
                    if !keepGoing { break }
                }
            }
            return valid
        }

        @inline(never)
        mutating func contains(
            _ node: Int, _ minimum: Int, _ maximum: Int?, _ minimumKeyword: String, _ instance: JSONValue,
            _ collecting: Bool, _ local: inout Evaluated
        ) -> Bool {
            guard case .array(let elements) = instance else { return true }
            let exhaustive = collecting || maximum != nil
            var matched = 0
            for (index, element) in elements.enumerated() {
                var none = Evaluated()
                if test(node, element, collect: false, &none) {
                    matched += 1
                    if collecting { local.mark(index, of: elements.count) }
                    if !exhaustive && matched >= minimum { break }
                }
                if aborted != nil { return false }
            }
            var valid = true
            if matched < minimum {
                let noun = minimum == 1 ? "item" : "items"
                let message = "expected at least \(minimum) \(noun) matching \"contains\", found \(matched)"
                valid = minimumKeyword == "contains" ? fail("contains", message) : failSibling(minimumKeyword, message)
            }
            if let maximum, matched > maximum {
                valid = failSibling(
                    "maxContains", "expected at most \(maximum) items matching \"contains\", found \(matched)")
            }
            return valid
        }

        @inline(never)
        mutating func unevaluatedItems(_ node: Int, _ instance: JSONValue, _ local: inout Evaluated) -> Bool {
            guard case .array(let elements) = instance else { return true }
            var valid = true
            let forbidden = isFalse(node)
            for index in elements.indices where !local.contains(index) {
                let ok =
                    forbidden
                    ? fail("unevaluatedItems", "item \(index) is not allowed (no other keyword evaluated it)")
                    : descend(node, elements[index], at: .index(index), schema: nil)
                if !ok {
                    valid = false
                    if !keepGoing { break }
                }
            }
            local.markAll()
            return valid
        }

        // MARK: Objects

        @inline(never)
        mutating func properties(
            _ nodes: [Key: Int], _ instance: JSONValue, _ collecting: Bool, _ local: inout Evaluated
        ) -> Bool {
            guard case .object(let object) = instance else { return true }
            var valid = true
            for (index, member) in object.members.enumerated() {
                guard let node = nodes[Key(member.key)] else { continue }
                if collecting { local.mark(index, of: object.count) }
                if !descend(node, member.value, at: .key(member.key), schema: .key(member.key)) {
                    valid = false
                    if !keepGoing { break }
                }
            }
            return valid
        }

        @inline(never)
        mutating func patternProperties(
            _ rules: [(pattern: Pattern, node: Int)], _ instance: JSONValue, _ collecting: Bool,
            _ local: inout Evaluated
        ) -> Bool {
            guard case .object(let object) = instance else { return true }
            var valid = true
            for (index, member) in object.members.enumerated() {
                for rule in rules where rule.pattern.matches(member.key) {
                    if collecting { local.mark(index, of: object.count) }
                    if !descend(rule.node, member.value, at: .key(member.key), schema: .key(rule.pattern.source)) {
                        valid = false
                        if !keepGoing { return false }
                    }
                }
            }
            return valid
        }

        @inline(never)
        mutating func additionalProperties(
            _ node: Int, _ known: Set<Key>, _ patterns: [Pattern], _ instance: JSONValue, _ collecting: Bool,
            _ local: inout Evaluated
        ) -> Bool {
            guard case .object(let object) = instance else { return true }
            var valid = true
            let forbidden = isFalse(node)
            for (index, member) in object.members.enumerated() {
                if known.contains(Key(member.key)) || patterns.contains(where: { $0.matches(member.key) }) { continue }
                if collecting { local.mark(index, of: object.count) }
                let ok =
                    forbidden
                    ? fail("additionalProperties", "property \(JSONSchema.quoted(member.key)) is not allowed")
                    : descend(node, member.value, at: .key(member.key), schema: nil)
                if !ok {
                    valid = false
                    if !keepGoing { break }
                }
            }
            return valid
        }

        @inline(never)
        mutating func propertyNames(_ node: Int, _ instance: JSONValue) -> Bool {
            guard case .object(let object) = instance else { return true }
            var valid = true
            for member in object {
                var none = Evaluated()
                if test(node, .string(member.key), collect: false, &none) { continue }
                if aborted != nil { return false }
                let reason = explain(node, .string(member.key), schema: nil).map { ": " + $0 } ?? ""
                valid = fail("propertyNames", "property name \(JSONSchema.quoted(member.key)) is invalid\(reason)")
                if !keepGoing { break }
            }
            return valid
        }

        @inline(never)
        mutating func dependentSchemas(
            _ rules: [(key: String, node: Int)], _ instance: JSONValue, _ collecting: Bool, _ local: inout Evaluated
        ) -> Bool {
            guard case .object(let object) = instance else { return true }
            var valid = true
            for rule in rules where object.contains(key: rule.key) {
                if !descend(rule.node, instance, at: nil, schema: .key(rule.key), collect: collecting, &local) {
                    valid = false
                    if !keepGoing { break }
                }
            }
            return valid
        }

        @inline(never)
        mutating func unevaluatedProperties(_ node: Int, _ instance: JSONValue, _ local: inout Evaluated) -> Bool {
            guard case .object(let object) = instance else { return true }
            var valid = true
            let forbidden = isFalse(node)
            for (index, member) in object.members.enumerated() where !local.contains(index) {
                let ok =
                    forbidden
                    ? fail(
                        "unevaluatedProperties",
                        "property \(JSONSchema.quoted(member.key)) is not allowed (no other keyword evaluated it)")
                    : descend(node, member.value, at: .key(member.key), schema: nil)
                if !ok {
                    valid = false
                    if !keepGoing { break }
                }
            }
            local.markAll()
            return valid
        }

        // MARK: Combinations

        @inline(never)
        mutating func allOf(_ nodes: [Int], _ instance: JSONValue, _ collecting: Bool, _ local: inout Evaluated) -> Bool
        {
            var valid = true
            for (index, node) in nodes.enumerated() {
                if !descend(node, instance, at: nil, schema: .index(index), collect: collecting, &local) {
                    valid = false
                    if !keepGoing { break }
                }
            }
            return valid
        }

        /// `anyOf`, or `oneOf` when `exactlyOne`.
        @inline(never)
        mutating func alternatives(
            _ nodes: [Int], exactlyOne: Bool, _ instance: JSONValue, _ collecting: Bool, _ local: inout Evaluated
        ) -> Bool {
            let keyword = exactlyOne ? "oneOf" : "anyOf"
            var first: Int?
            var second: Int?
            for (index, node) in nodes.enumerated() {
                if test(node, instance, collect: collecting, &local) {
                    if first == nil { first = index } else if second == nil { second = index }
                    // anyOf needs one match, oneOf two to decide; annotations need them all.
                    if !collecting && (!exactlyOne || second != nil) { break }
                }
                if aborted != nil { return false }
            }
            guard let first else {
                let reasons = explainAll(nodes, instance)
                return fail(keyword, "value does not match any of the \(nodes.count) alternatives\(reasons)")
            }
            if exactlyOne, let second {
                return fail(keyword, "value matches alternatives \(first) and \(second); exactly one must match")
            }
            return true
        }

        @inline(never)
        mutating func not(_ node: Int, _ instance: JSONValue) -> Bool {
            var none = Evaluated()
            if test(node, instance, collect: false, &none) {
                return fail("not", "value must not match the schema in \"not\"")
            }
            return aborted == nil
        }

        @inline(never)
        mutating func conditional(
            _ condition: Int, _ then: Int?, _ otherwise: Int?, _ instance: JSONValue, _ collecting: Bool,
            _ local: inout Evaluated
        ) -> Bool {
            let passed = test(condition, instance, collect: collecting, &local)
            if aborted != nil { return false }
            guard let branch = passed ? then : otherwise else { return true }
            let tracked = reporting
            if tracked { schemaPath[schemaPath.count - 1] = .key(passed ? "then" : "else") }
            let valid = evaluate(branch, instance, collect: collecting, &local)
            if tracked { schemaPath[schemaPath.count - 1] = .key("if") }
            return valid
        }
    }
}

// MARK: - Helpers

extension JSONSchema {
    /// The indices of the first two equal items: pairwise for short arrays, hashed for long ones.
    static func firstDuplicate(_ elements: [JSONValue]) -> (Int, Int)? {
        if elements.count <= 16 {
            for i in elements.indices {
                for j in (i + 1)..<elements.count where jsonEqual(elements[i], elements[j]) { return (i, j) }
            }
            return nil
        }
        var seen: [HashedValue: Int] = [:]
        seen.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            if let earlier = seen.updateValue(index, forKey: HashedValue(value: element)) { return (earlier, index) }
        }
        return nil
    }

    static func typeName(of value: JSONValue) -> String {
        if case .number(let number) = value { return ExactNumber(number).isInteger ? "integer" : "number" }
        return value.typeName
    }

    /// `value` as short JSON text for messages.
    static func brief(_ value: JSONValue) -> String {
        let text = value.serialized()
        return text.count > 80 ? String(text.prefix(77)) + "…" : text
    }

    static func quoted(_ string: String) -> String { brief(.string(string)) }

    static func list(_ values: [JSONValue]) -> String {
        values.prefix(10).map(brief).joined(separator: ", ") + (values.count > 10 ? ", …" : "")
    }
}
