// MARK: - Compiling

extension JSONSchema {
    /// Turns schema documents into a `Program`: indexes `$id`s and anchors, resolves references,
    /// compiles every reachable subschema once, and rejects `$ref` cycles that never descend.
    struct Compiler {
        /// A place in one of the documents.
        struct Location: Hashable {
            var document: Int
            var pointer: [String]

            func appending(_ tokens: String...) -> Location {
                Location(document: document, pointer: pointer + tokens)
            }
        }

        /// Base URI of a schema with no `$id` of its own.
        static let defaultBase = "urn:airlock:schema"
        /// Deepest schema nesting indexed.
        static let maxNesting = 512

        var documents: [JSONValue] = []
        /// Schema resources by absolute URI (without fragment).
        var resources: [String: Location] = [:]
        /// `$anchor`s and `$dynamicAnchor`s by "uri#name".
        var anchors: [String: Location] = [:]
        /// `$dynamicAnchor`s by resource URI, then name.
        var dynamicAnchors: [String: [String: Location]] = [:]
        /// The base URI of every indexed subschema.
        var bases: [Location: String] = [:]
        var metaschemasLoaded = false

        var nodes: [Node] = []
        var locations: [Location] = []
        var nodeAt: [Location: Int] = [:]
        var pending: [Int] = []
        var resourceIDs: [String: Int] = [:]
        /// Anchor names some `$dynamicRef` resolves dynamically.
        var dynamicNames: Set<String> = []
        var patterns: [String: Pattern] = [:]
        var problems: [SchemaViolation] = []

        // MARK: Documents and indexing

        /// Adds the schema being compiled (document 0); returns its root.
        mutating func addDocument(_ schema: JSONValue) -> Location {
            let location = Location(document: documents.count, pointer: [])
            documents.append(schema)
            index(schema, at: location, base: Self.defaultBase, depth: 0)
            return location
        }

        mutating func loadMetaschemas() {
            guard !metaschemasLoaded else { return }
            metaschemasLoaded = true
            // A schema that declares a meta-schema's $id itself keeps it.
            for document in JSONSchema.metaschemaDocuments where resources[document["$id"]?.stringValue ?? ""] == nil {
                let location = Location(document: documents.count, pointer: [])
                documents.append(document)
                index(document, at: location, base: Self.defaultBase, depth: 0)
            }
        }

        /// Records the base URI, `$id`, anchors of `value` and of its subschemas.
        mutating func index(_ value: JSONValue, at location: Location, base: String, depth: Int) {
            guard depth < Self.maxNesting else {
                problem(
                    at: location, keyword: location.pointer.last ?? "",
                    "schema nested deeper than \(Self.maxNesting) levels")
                return
            }
            guard case .object(let object) = value else {
                bases[location] = base
                return
            }
            var base = base
            if case .string(let id)? = object["$id"] {
                let (uri, _) = JSONSchema.resolveURI(id, against: base)
                if let existing = resources[uri], existing != location {
                    problem(at: location.appending("$id"), keyword: "$id", "duplicate $id \(JSONSchema.quoted(uri))")
                } else {
                    resources[uri] = location
                }
                base = uri
            } else if location.pointer.isEmpty, resources[base] == nil {
                resources[base] = location
            }
            bases[location] = base
            if case .string(let name)? = object["$anchor"] {
                register(anchor: name, base: base, at: location, keyword: "$anchor")
            }
            if case .string(let name)? = object["$dynamicAnchor"] {
                register(anchor: name, base: base, at: location, keyword: "$dynamicAnchor")
                dynamicAnchors[base, default: [:]][name] = location
            }
            if location.document == 0, location != Location(document: 0, pointer: []),
                case .string(let declared)? = object["$schema"], !JSONSchema.isSupportedDialect(declared)
            {
                problems.append(
                    JSONSchema.unsupportedDialect(declared, at: JSONSchema.pointer(location.pointer + ["$schema"])))
            }
            for member in object {
                let child = location.appending(member.key)
                switch member.key {
                case "items", "contains", "additionalProperties", "propertyNames", "if", "then", "else", "not",
                    "unevaluatedItems", "unevaluatedProperties", "contentSchema":
                    index(member.value, at: child, base: base, depth: depth + 1)
                case "prefixItems", "allOf", "anyOf", "oneOf":
                    guard case .array(let elements) = member.value else { continue }
                    for (i, element) in elements.enumerated() {
                        index(element, at: child.appending(String(i)), base: base, depth: depth + 1)
                    }
                case "$defs", "definitions", "properties", "patternProperties", "dependentSchemas":
                    guard case .object(let map) = member.value else { continue }
                    for entry in map {
                        index(entry.value, at: child.appending(entry.key), base: base, depth: depth + 1)
                    }
                default: break
                }
            }
        }

        mutating func register(anchor name: String, base: String, at location: Location, keyword: String) {
            let key = base + "#" + name
            if let existing = anchors[key], existing != location {
                problem(
                    at: location.appending(keyword), keyword: keyword, "duplicate anchor \(JSONSchema.quoted(name))")
            } else {
                anchors[key] = location
            }
        }

        /// The base URI at `location`: indexed, or that of the nearest indexed ancestor.
        func base(of location: Location) -> String {
            var prefix = location
            while true {
                if let base = bases[prefix] { return base }
                if prefix.pointer.isEmpty { return Self.defaultBase }
                prefix.pointer.removeLast()
            }
        }

        mutating func problem(at location: Location, keyword: String, _ message: String) {
            problems.append(
                SchemaViolation(
                    instancePath: JSONSchema.pointer(location.pointer), keyword: keyword, schemaPath: "",
                    message: message))
        }

        // MARK: Nodes

        /// The node for the subschema at `location`, reserved now and compiled later.
        mutating func node(at location: Location) -> Int {
            if let index = nodeAt[location] { return index }
            let index = nodes.count
            nodes.append(Node(kind: .always(true), resource: 0, collects: false))
            locations.append(location)
            nodeAt[location] = index
            pending.append(index)
            return index
        }

        /// Compiles from `root` until every reachable subschema is compiled; returns the root node.
        mutating func compileAll(root: Location) -> Int {
            let rootNode = node(at: root)
            while true {
                while let index = pending.popLast() { compile(index) }
                // Every `$dynamicAnchor` a `$dynamicRef` may land on, in any resource.
                var added = false
                for name in dynamicNames {
                    for table in dynamicAnchors.values {
                        if let location = table[name], nodeAt[location] == nil {
                            _ = node(at: location)
                            added = true
                        }
                    }
                }
                if !added { break }
            }
            rejectCycles()
            return rootNode
        }

        func program(root: Int) -> Program {
            var table = Array(repeating: [String: Int](), count: resourceIDs.count)
            for (uri, named) in dynamicAnchors {
                guard let resource = resourceIDs[uri] else { continue }
                for (name, location) in named where dynamicNames.contains(name) {
                    if let node = nodeAt[location] { table[resource][name] = node }
                }
            }
            return Program(nodes: nodes, root: root, dynamicAnchors: table)
        }

        mutating func resourceID(_ uri: String) -> Int {
            if let id = resourceIDs[uri] { return id }
            let id = resourceIDs.count
            resourceIDs[uri] = id
            return id
        }

        mutating func compile(_ index: Int) {
            let location = locations[index]
            let base = base(of: location)
            let resource = resourceID(base)
            switch JSONSchema.value(in: documents[location.document], at: location.pointer) {
            case .bool(let value)?:
                nodes[index] = Node(kind: .always(value), resource: resource, collects: false)
            case .object(let object)?:
                nodes[index] = compileObject(object, at: location, base: base, resource: resource)
            case let other:
                let found = other.map { "got \($0.typeName)" } ?? "nothing is there"
                problem(
                    at: location, keyword: location.pointer.last ?? "",
                    "a schema must be an object or a boolean, \(found)")
                nodes[index] = Node(kind: .always(false), resource: resource, collects: false)
            }
        }

        // MARK: Keywords

        mutating func compileObject(_ object: JSONObject, at location: Location, base: String, resource: Int) -> Node {
            var keywords: [(rank: Int, keyword: Keyword)] = []
            func add(_ name: String, _ check: Check, rank: Int = 1) {
                keywords.append((rank, Keyword(name: name, check: check)))
            }
            for member in object {
                let key = member.key
                let value = member.value
                let here = location.appending(key)
                switch key {
                case "$ref", "$dynamicRef":
                    guard let reference = string(value, at: here) else { continue }
                    guard let target = resolve(reference, base: base, from: here, keyword: key) else { continue }
                    add(key, key == "$ref" ? .ref(target.node) : .dynamicRef(target.node, anchor: target.dynamicName))

                case "type":
                    if let types = types(value, at: here) { add(key, .type(types), rank: 0) }

                case "enum":
                    guard case .array(let values) = value else {
                        problem(at: here, keyword: key, "must be an array")
                        continue
                    }
                    add(key, .enumeration(values, values.count > 16 ? Set(values.map { HashedValue(value: $0) }) : nil))

                case "const":
                    add(key, .constant(value))

                case "multipleOf":
                    guard case .number(let number) = value, case let divisor = ExactNumber(number),
                        !divisor.negative, !divisor.isZero
                    else {
                        problem(at: here, keyword: key, "must be a number greater than 0")
                        continue
                    }
                    add(key, .multipleOf(divisor, text: number.text))

                case "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum":
                    guard case .number(let number) = value else {
                        problem(at: here, keyword: key, "must be a number")
                        continue
                    }
                    let kind: BoundKind =
                        switch key {
                        case "maximum": .maximum
                        case "exclusiveMaximum": .exclusiveMaximum
                        case "minimum": .minimum
                        default: .exclusiveMinimum
                        }
                    add(key, .bound(ExactNumber(number), number.int64, kind, text: number.text))

                case "maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties":
                    guard let count = count(value, at: here) else { continue }
                    let check: Check =
                        switch key {
                        case "maxLength": .maxLength(count)
                        case "minLength": .minLength(count)
                        case "maxItems": .maxItems(count)
                        case "minItems": .minItems(count)
                        case "maxProperties": .maxProperties(count)
                        default: .minProperties(count)
                        }
                    add(key, check)

                case "pattern":
                    guard let source = string(value, at: here), let pattern = pattern(source, at: here) else {
                        continue
                    }
                    add(key, .pattern(pattern))

                case "uniqueItems":
                    guard case .bool(let unique) = value else {
                        problem(at: here, keyword: key, "must be a boolean")
                        continue
                    }
                    if unique { add(key, .uniqueItems) }

                case "prefixItems":
                    if let nodes = schemaArray(value, at: here) { add(key, .prefixItems(nodes)) }

                case "items":
                    let start = object["prefixItems"]?.arrayValue?.count ?? 0
                    add(key, .items(node(at: here), from: start))

                case "contains":
                    var minimum = 1
                    if let value = object["minContains"] {
                        guard let count = count(value, at: location.appending("minContains")) else { continue }
                        minimum = count
                    }
                    var maximum: Int?
                    if let value = object["maxContains"] {
                        guard let count = count(value, at: location.appending("maxContains")) else { continue }
                        maximum = count
                    }
                    let minimumKeyword = object["minContains"] == nil ? "contains" : "minContains"
                    add(
                        key,
                        .contains(node(at: here), minimum: minimum, maximum: maximum, minimumKeyword: minimumKeyword))

                case "required":
                    if let names = stringArray(value, at: here) { add(key, .required(names)) }

                case "dependentRequired":
                    guard case .object(let map) = value else {
                        problem(at: here, keyword: key, "must be an object")
                        continue
                    }
                    var rules: [(key: String, required: [String])] = []
                    for entry in map {
                        if let names = stringArray(entry.value, at: here.appending(entry.key)) {
                            rules.append((entry.key, names))
                        }
                    }
                    add(key, .dependentRequired(rules))

                case "dependentSchemas":
                    guard let map = schemaMap(value, at: here) else { continue }
                    add(key, .dependentSchemas(map.map { (key: $0.key, node: $0.node) }))

                case "properties":
                    guard let map = schemaMap(value, at: here) else { continue }
                    var nodes: [Key: Int] = [:]
                    for entry in map { nodes[Key(entry.key)] = entry.node }
                    add(key, .properties(nodes))

                case "patternProperties":
                    guard let map = schemaMap(value, at: here) else { continue }
                    var rules: [(pattern: Pattern, node: Int)] = []
                    for entry in map {
                        if let pattern = pattern(entry.key, at: here.appending(entry.key)) {
                            rules.append((pattern, entry.node))
                        }
                    }
                    add(key, .patternProperties(rules))

                case "additionalProperties":
                    let known = Set((object["properties"]?.objectValue?.keys ?? []).map { Key($0) })
                    let sources = object["patternProperties"]?.objectValue?.keys ?? []
                    // Invalid patterns are reported under patternProperties.
                    let patterns = sources.compactMap { self.patterns[$0] ?? (try? Pattern($0)) }
                    add(key, .additionalProperties(node(at: here), known: known, patterns: patterns))

                case "propertyNames":
                    add(key, .propertyNames(node(at: here)))

                case "allOf", "anyOf", "oneOf":
                    guard let nodes = schemaArray(value, at: here) else { continue }
                    add(key, key == "allOf" ? .allOf(nodes) : key == "anyOf" ? .anyOf(nodes) : .oneOf(nodes))

                case "not":
                    add(key, .not(node(at: here)))

                case "if":
                    let then = object["then"] == nil ? nil : node(at: location.appending("then"))
                    let otherwise = object["else"] == nil ? nil : node(at: location.appending("else"))
                    add(key, .conditional(if: node(at: here), then: then, else: otherwise))

                case "unevaluatedItems":
                    add(key, .unevaluatedItems(node(at: here)), rank: 2)

                case "unevaluatedProperties":
                    add(key, .unevaluatedProperties(node(at: here)), rank: 2)

                default:
                    // `$schema`, `$id`, `$anchor`, `$dynamicAnchor`, `$defs`, `$comment`, `$vocabulary`,
                    // `then`/`else` (with `if`), `minContains`/`maxContains` (with `contains`), the
                    // annotations (`format` is annotation-only, as are `title`, `description`,
                    // `default`, `examples`, `deprecated`, `readOnly`, `writeOnly`, `content*`),
                    // and unknown keywords: nothing to check.
                    break
                }
            }
            // Cheap type checks first; unevaluated* last, after every annotation is in.
            let ordered = keywords.enumerated().sorted { ($0.element.rank, $0.offset) < ($1.element.rank, $1.offset) }
            let collects = keywords.contains { $0.rank == 2 }
            return Node(kind: .keywords(ordered.map(\.element.keyword)), resource: resource, collects: collects)
        }

        // MARK: Keyword values

        mutating func string(_ value: JSONValue, at location: Location) -> String? {
            if case .string(let string) = value { return string }
            problem(at: location, keyword: location.pointer.last ?? "", "must be a string")
            return nil
        }

        mutating func count(_ value: JSONValue, at location: Location) -> Int? {
            if case .number(let number) = value, let count = ExactNumber(number).nonNegativeInt { return count }
            problem(at: location, keyword: location.pointer.last ?? "", "must be a non-negative integer")
            return nil
        }

        mutating func stringArray(_ value: JSONValue, at location: Location) -> [String]? {
            if case .array(let elements) = value {
                let strings = elements.compactMap(\.stringValue)
                if strings.count == elements.count { return strings }
            }
            problem(at: location, keyword: location.pointer.last ?? "", "must be an array of strings")
            return nil
        }

        mutating func types(_ value: JSONValue, at location: Location) -> Types? {
            let names: [String]
            switch value {
            case .string(let name): names = [name]
            case .array(let elements) where elements.allSatisfy({ $0.stringValue != nil }):
                names = elements.compactMap(\.stringValue)
            default:
                problem(at: location, keyword: "type", "must be a type name or an array of type names")
                return nil
            }
            var types: Types = []
            for name in names {
                guard let type = Types.names.first(where: { $0.0 == name })?.1 else {
                    problem(at: location, keyword: "type", "unknown type \(JSONSchema.quoted(name))")
                    return nil
                }
                types.insert(type)
            }
            return types
        }

        mutating func schemaArray(_ value: JSONValue, at location: Location) -> [Int]? {
            guard case .array(let elements) = value, !elements.isEmpty else {
                problem(at: location, keyword: location.pointer.last ?? "", "must be a non-empty array of schemas")
                return nil
            }
            return elements.indices.map { node(at: location.appending(String($0))) }
        }

        mutating func schemaMap(_ value: JSONValue, at location: Location) -> [(key: String, node: Int)]? {
            guard case .object(let map) = value else {
                problem(at: location, keyword: location.pointer.last ?? "", "must be an object of schemas")
                return nil
            }
            return map.map { (key: $0.key, node: node(at: location.appending($0.key))) }
        }

        /// A compiled regex, shared by every use of the same source text.
        mutating func pattern(_ source: String, at location: Location) -> Pattern? {
            if let cached = patterns[source] { return cached }
            let keyword = location.pointer.contains("patternProperties") ? "patternProperties" : "pattern"
            do {
                let pattern = try Pattern(source)
                patterns[source] = pattern
                return pattern
            } catch let refusal as Pattern.Refusal {
                problem(at: location, keyword: keyword, refusal.description)
                return nil
            } catch {
                problem(
                    at: location, keyword: keyword, "invalid regular expression \(JSONSchema.quoted(source)): \(error)")
                return nil
            }
        }

        // MARK: References

        /// Resolves a `$ref` or `$dynamicRef` to a node; records a problem when it resolves nowhere.
        mutating func resolve(_ reference: String, base: String, from location: Location, keyword: String)
            -> (node: Int, dynamicName: String?)?
        {
            let (uri, fragment) = JSONSchema.resolveURI(reference, against: base)
            if resources[uri] == nil, JSONSchema.metaschemaIDs.contains(uri) { loadMetaschemas() }
            guard let resource = resources[uri] else {
                let target = uri == reference ? "" : " (\(JSONSchema.quoted(uri)))"
                problem(
                    at: location, keyword: keyword,
                    "\(JSONSchema.quoted(reference))\(target) is not part of this schema: remote references are not "
                        + "supported (only the JSON Schema 2020-12 meta-schemas are built in)")
                return nil
            }
            let decoded = JSONSchema.percentDecoded(fragment ?? "")
            var target = resource
            var anchorName: String?
            if let tokens = JSONSchema.pointerTokens(decoded) {
                target.pointer += tokens
                guard JSONSchema.value(in: documents[target.document], at: target.pointer) != nil else {
                    problem(
                        at: location, keyword: keyword,
                        "\(JSONSchema.quoted(reference)) resolves nowhere: nothing at \(JSONSchema.quoted(decoded))")
                    return nil
                }
            } else {
                guard let anchored = anchors[uri + "#" + decoded] else {
                    problem(
                        at: location, keyword: keyword,
                        "\(JSONSchema.quoted(reference)) resolves nowhere: no anchor named \(JSONSchema.quoted(decoded))"
                    )
                    return nil
                }
                target = anchored
                anchorName = decoded
            }
            // A $dynamicRef is dynamic only when its static target declares the same $dynamicAnchor.
            var dynamicName: String?
            if keyword == "$dynamicRef", let anchorName,
                JSONSchema.value(in: documents[target.document], at: target.pointer)?["$dynamicAnchor"]?.stringValue
                    == anchorName
            {
                dynamicName = anchorName
                dynamicNames.insert(anchorName)
            }
            return (node(at: target), dynamicName)
        }

        // MARK: Cycles

        /// Rejects subschemas that apply themselves to the same instance location (through `$ref`,
        /// `allOf`, `not`, …) without descending into it: evaluating them would never end.
        mutating func rejectCycles() {
            var candidates: [String: [Int]] = [:]
            for name in dynamicNames {
                candidates[name] = dynamicAnchors.values.compactMap { $0[name].flatMap { nodeAt[$0] } }
            }
            func inPlace(_ index: Int) -> [Int] {
                guard case .keywords(let keywords) = nodes[index].kind else { return [] }
                var targets: [Int] = []
                for keyword in keywords {
                    switch keyword.check {
                    case .ref(let target): targets.append(target)
                    case .dynamicRef(let target, let anchor):
                        targets.append(target)
                        if let anchor { targets += candidates[anchor] ?? [] }
                    case .allOf(let list), .anyOf(let list), .oneOf(let list): targets += list
                    case .not(let target): targets.append(target)
                    case .conditional(let condition, let then, let otherwise):
                        targets.append(condition)
                        if let then { targets.append(then) }
                        if let otherwise { targets.append(otherwise) }
                    case .dependentSchemas(let rules): targets += rules.map(\.node)
                    default: break
                    }
                }
                return targets
            }
            // Iterative depth-first search: 0 unvisited, 1 on the stack, 2 done.
            var state = [UInt8](repeating: 0, count: nodes.count)
            var reported = 0
            for start in nodes.indices where state[start] == 0 {
                var stack: [(node: Int, targets: [Int], next: Int)] = [(start, inPlace(start), 0)]
                state[start] = 1
                while let top = stack.last {
                    if top.next == top.targets.count {
                        state[top.node] = 2
                        stack.removeLast()
                        continue
                    }
                    let target = top.targets[top.next]
                    stack[stack.count - 1].next += 1
                    if state[target] == 0 {
                        state[target] = 1
                        stack.append((target, inPlace(target), 0))
                    } else if state[target] == 1, reported < 3 {
                        reported += 1
                        let first = stack.firstIndex { $0.node == target } ?? 0
                        let cycle = (stack[first...].map(\.node) + [target]).map {
                            "#" + JSONSchema.pointer(locations[$0].pointer)
                        }
                        problem(
                            at: locations[top.node], keyword: "$ref",
                            "reference cycle that never descends into the instance: " + cycle.joined(separator: " → "))
                    }
                }
            }
        }
    }
}
