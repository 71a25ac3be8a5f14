// MARK: - Linear-time regular expressions

extension JSONSchema {
    /// An ECMA-262 pattern (Unicode mode, no flags) compiled to a Thompson NFA and run as a
    /// Pike VM: every live state advances together, one input code point at a time, so a match
    /// takes O(states × code points) time whatever the pattern. Nothing backtracks, so
    /// `^(a+)+$` or an unanchored `\s+$` cost the same as `a+`.
    ///
    /// Only "is there a match anywhere" is answered (JSON Schema's unanchored `pattern`), so
    /// captures, group kinds and greedy/lazy order do not matter and are not tracked.
    ///
    /// Supported: literals; escapes `\f \n \r \t \v \0 \cX \xHH \uHHHH` (with surrogate pairs)
    /// `\u{…}` and escaped ASCII punctuation; `.` (anything but a line terminator); classes
    /// `[…]` and `[^…]` with ranges, `[]` and `[^]`; `\d \D \w \W \s \S` as ECMA-262 defines
    /// them (ASCII digits, `[A-Za-z0-9_]`, WhiteSpace plus LineTerminator); `\p{…}`/`\P{…}` for
    /// General_Category values and the binary properties Swift exposes; `^ $` (start and end of
    /// input) and `\b \B`; capturing, named and `(?:…)` groups; `|` with empty alternatives;
    /// `* + ? {n} {n,} {n,m}`, greedy or lazy.
    ///
    /// `init` returns nil (the caller falls back to Swift's `Regex`) for anything else:
    /// backreferences, lookaround, `\p{Script=…}` and other properties, duplicate group names,
    /// syntax ECMA-262's Unicode mode rejects or that other engines read differently (a literal
    /// `{`, `}` or `]`, `\a`, `\x{…}`, `a**`, `[\d-z]`, lone surrogates…), groups nested deeper
    /// than `maxGroupDepth`, and programs over `maxInstructions` after `{n,m}` is expanded.
    struct LinearRegex: Sendable {
        /// Above this many instructions (a copy of its operand per count of `{n,m}`) a pattern is
        /// unsupported: it would make every input code point that costly.
        static let maxInstructions = 10_000
        static let maxGroupDepth = 64

        private let program: [Instruction]
        private let classes: [ScalarClass]
        private let start: Int32
        /// Every path from `start` passes `^`: a match can only begin at offset 0.
        private let anchoredAtStart: Bool

        init?(_ source: String) {
            var parser = Parser(scalars: Array(source.unicodeScalars))
            guard let tree = try? parser.parse() else { return nil }
            guard let size = Self.size(of: tree), size + 1 <= Self.maxInstructions else { return nil }
            var builder = Builder()
            builder.program.reserveCapacity(size + 1)
            let match = builder.emit(Instruction(kind: .match, a: 0, b: 0))
            start = builder.compile(tree, next: match)
            program = builder.program
            classes = parser.classes
            anchoredAtStart = Self.isAnchoredAtStart(program, from: start)
        }

        // MARK: Matching

        /// Whether the pattern matches `string` anywhere (unanchored search).
        func matches(_ string: String) -> Bool {
            var string = string
            return string.withUTF8 { bytes in
                program.withUnsafeBufferPointer { program in
                    classes.withUnsafeBufferPointer { classes in run(bytes, program, classes) }
                }
            }
        }

        /// The Pike VM over the UTF-8 of a Swift string (always valid). Working memory is three
        /// lists of at most one entry per instruction (the stack: two per instruction visited,
        /// plus the targets it starts from) and a mark per instruction.
        private func run(
            _ bytes: UnsafeBufferPointer<UInt8>, _ program: UnsafeBufferPointer<Instruction>,
            _ classes: UnsafeBufferPointer<ScalarClass>
        ) -> Bool {
            let count = program.count
            let marks = UnsafeMutablePointer<UInt32>.allocate(capacity: count)
            marks.initialize(repeating: 0, count: count)
            let threads = UnsafeMutablePointer<Int32>.allocate(capacity: count)  // consuming, at this offset
            let targets = UnsafeMutablePointer<Int32>.allocate(capacity: count + 1)  // after consuming
            let stack = UnsafeMutablePointer<Int32>.allocate(capacity: 3 * count + 1)
            defer {
                marks.deallocate()
                threads.deallocate()
                targets.deallocate()
                stack.deallocate()
            }
            var targetCount = 0
            var stamp: UInt32 = 0
            var offset = 0  // of `current` in `bytes`
            var previousIsWord = false
            while true {
                stamp &+= 1
                if stamp == 0 {  // wrapped after 2³² code points: forget every old stamp
                    marks.update(repeating: 0, count: count)
                    stamp = 1
                }
                let atStart = offset == 0
                let atEnd = offset == bytes.count
                // The code point at `offset` and its length in bytes (UTF-8 is valid in a String).
                var current: UInt32 = 0
                var length = 0
                if !atEnd {
                    let lead = UInt32(bytes[offset])
                    if lead < 0x80 {
                        (current, length) = (lead, 1)
                    } else if lead < 0xE0 {
                        (current, length) = ((lead & 0x1F) << 6 | UInt32(bytes[offset + 1] & 0x3F), 2)
                    } else if lead < 0xF0 {
                        current = (lead & 0x0F) << 12 | UInt32(bytes[offset + 1] & 0x3F) << 6
                        current |= UInt32(bytes[offset + 2] & 0x3F)
                        length = 3
                    } else {
                        current = (lead & 0x07) << 18 | UInt32(bytes[offset + 1] & 0x3F) << 12
                        current |= UInt32(bytes[offset + 2] & 0x3F) << 6 | UInt32(bytes[offset + 3] & 0x3F)
                        length = 4
                    }
                }
                let currentIsWord = !atEnd && current < 128 && ScalarClass.wordBits.contains(current)
                if atStart || !anchoredAtStart {
                    targets[targetCount] = start
                    targetCount += 1
                }
                // Follow empty transitions from every target, keeping the consuming instructions.
                var depth = targetCount
                stack.update(from: targets, count: targetCount)
                targetCount = 0
                var threadCount = 0
                while depth > 0 {
                    depth -= 1
                    let pc = stack[depth]
                    let index = Int(pc)
                    guard marks[index] != stamp else { continue }
                    marks[index] = stamp
                    let instruction = program[index]
                    switch instruction.kind {
                    case .match:
                        return true
                    case .scalar, .set:
                        threads[threadCount] = pc
                        threadCount += 1
                    case .split:
                        stack[depth] = instruction.b
                        stack[depth + 1] = instruction.a
                        depth += 2
                    case .assertStart, .assertEnd, .assertBoundary, .assertNonBoundary:
                        let holds =
                            switch instruction.kind {
                            case .assertStart: atStart
                            case .assertEnd: atEnd
                            case .assertBoundary: previousIsWord != currentIsWord
                            default: previousIsWord == currentIsWord
                            }
                        if holds {
                            stack[depth] = instruction.b
                            depth += 1
                        }
                    }
                }
                if atEnd { return false }
                for thread in 0..<threadCount {
                    let instruction = program[Int(threads[thread])]
                    let accepts =
                        instruction.kind == .scalar
                        ? UInt32(bitPattern: instruction.a) == current
                        : classes[Int(instruction.a)].contains(current)
                    if accepts {
                        targets[targetCount] = instruction.b
                        targetCount += 1
                    }
                }
                if anchoredAtStart && targetCount == 0 { return false }
                previousIsWord = currentIsWord
                offset += length
            }
        }

        /// Whether no consuming instruction or match is reachable from `start` once `^` fails
        /// (other assertions assumed to hold).
        private static func isAnchoredAtStart(_ program: [Instruction], from start: Int32) -> Bool {
            var seen = [Bool](repeating: false, count: program.count)
            var stack = [start]
            while let pc = stack.popLast() {
                let index = Int(pc)
                guard !seen[index] else { continue }
                seen[index] = true
                let instruction = program[index]
                switch instruction.kind {
                case .match, .scalar, .set: return false
                case .split: stack += [instruction.a, instruction.b]
                case .assertStart: continue
                case .assertEnd, .assertBoundary, .assertNonBoundary: stack.append(instruction.b)
                }
            }
            return true
        }

        // MARK: Program

        struct Instruction: Sendable {
            enum Kind: UInt8, Sendable {
                /// Consumes the code point `a`, then goes to `b`.
                case scalar
                /// Consumes a code point of `classes[a]`, then goes to `b`.
                case set
                /// Goes to both `a` and `b`.
                case split
                /// Go to `b` if the assertion holds.
                case assertStart, assertEnd, assertBoundary, assertNonBoundary
                case match
            }

            var kind: Kind
            var a: Int32
            var b: Int32
        }

        /// A parsed pattern. Groups are transparent.
        indirect enum Node {
            case empty
            case scalar(UInt32)
            case set(Int)
            case assertion(Instruction.Kind)
            case sequence([Node])
            case alternation([Node])
            case repetition(Node, min: Int, max: Int?)
        }

        /// Instructions `node` compiles to; nil when over `maxInstructions`.
        static func size(of node: Node) -> Int? {
            let limit = maxInstructions
            func bounded(_ value: Int) -> Int? { value > limit ? nil : value }
            switch node {
            case .empty:
                return 0
            case .scalar, .set, .assertion:
                return 1
            case .sequence(let items):
                var total = 0
                for item in items {
                    guard let size = size(of: item), let sum = bounded(total + size) else { return nil }
                    total = sum
                }
                return total
            case .alternation(let branches):
                var total = branches.count - 1  // the splits
                for branch in branches {
                    guard let size = size(of: branch), let sum = bounded(total + size) else { return nil }
                    total = sum
                }
                return total
            case .repetition(let body, let min, let max):
                guard let body = size(of: body) else { return nil }
                if body == 0 || max == 0 { return 0 }
                // min copies, then either a loop (copy + split) or max - min optional copies.
                let optional = max.map { $0 - min } ?? 1
                let (required, overflow1) = min.multipliedReportingOverflow(by: body)
                let (tail, overflow2) = optional.multipliedReportingOverflow(by: body + 1)
                guard !overflow1, !overflow2 else { return nil }
                return bounded(required + tail)
            }
        }

        /// Emits instructions back to front: each node is compiled knowing where it continues.
        struct Builder {
            var program: [Instruction] = []

            mutating func emit(_ instruction: Instruction) -> Int32 {
                program.append(instruction)
                return Int32(program.count - 1)
            }

            mutating func compile(_ node: Node, next: Int32) -> Int32 {
                switch node {
                case .empty:
                    return next
                case .scalar(let value):
                    return emit(Instruction(kind: .scalar, a: Int32(bitPattern: value), b: next))
                case .set(let index):
                    return emit(Instruction(kind: .set, a: Int32(index), b: next))
                case .assertion(let kind):
                    return emit(Instruction(kind: kind, a: 0, b: next))
                case .sequence(let items):
                    var entry = next
                    for item in items.reversed() { entry = compile(item, next: entry) }
                    return entry
                case .alternation(let branches):
                    var entry = compile(branches[branches.count - 1], next: next)
                    for branch in branches.dropLast().reversed() {
                        let first = compile(branch, next: next)
                        entry = emit(Instruction(kind: .split, a: first, b: entry))
                    }
                    return entry
                case .repetition(let body, let min, let max):
                    if max == 0 || LinearRegex.size(of: body) == 0 { return next }
                    var entry: Int32
                    if let max {
                        // (x(x(x)?)?)? for the max - min optional copies.
                        entry = next
                        for _ in 0..<(max - min) {
                            let copy = compile(body, next: entry)
                            entry = emit(Instruction(kind: .split, a: copy, b: next))
                        }
                    } else {
                        // loop: split(body → loop, next)
                        let loop = emit(Instruction(kind: .split, a: 0, b: next))
                        program[Int(loop)].a = compile(body, next: loop)
                        entry = loop
                    }
                    for _ in 0..<min { entry = compile(body, next: entry) }
                    return entry
                }
            }
        }
    }
}

// MARK: - Code point classes

extension JSONSchema.LinearRegex {
    /// A set of code points: ranges and Unicode properties, possibly negated. ASCII answers
    /// come from a precomputed bitmap.
    struct ScalarClass: Sendable {
        struct Bits: Sendable {
            var low: UInt64 = 0
            var high: UInt64 = 0

            func contains(_ value: UInt32) -> Bool {
                value < 64 ? low >> UInt64(value) & 1 != 0 : high >> UInt64(value - 64) & 1 != 0
            }

            mutating func insert(_ value: UInt32) {
                if value < 64 { low |= 1 << UInt64(value) } else { high |= 1 << UInt64(value - 64) }
            }
        }

        static let wordBits: Bits = {
            var bits = Bits()
            for range in Ranges.word { for value in range { bits.insert(value) } }
            return bits
        }()

        private let lowerBounds: [UInt32]
        private let upperBounds: [UInt32]
        private let properties: [(property: Property, negated: Bool)]
        private let negated: Bool
        private let ascii: Bits

        init(
            ranges: [ClosedRange<UInt32>], properties: [(property: Property, negated: Bool)] = [], negated: Bool = false
        ) {
            let merged = Ranges.normalized(ranges)
            let lowerBounds = merged.map(\.lowerBound)
            let upperBounds = merged.map(\.upperBound)
            var bits = Bits()
            for range in merged where range.lowerBound < 128 {
                for value in range.lowerBound...Swift.min(range.upperBound, 127) { bits.insert(value) }
            }
            if !properties.isEmpty {
                for value: UInt32 in 0..<128 where !bits.contains(value) {
                    if Self.rawContains(value, [], [], properties) { bits.insert(value) }
                }
            }
            if negated { bits = Bits(low: ~bits.low, high: ~bits.high) }
            self.lowerBounds = lowerBounds
            self.upperBounds = upperBounds
            self.properties = properties
            self.negated = negated
            ascii = bits
        }

        func contains(_ value: UInt32) -> Bool {
            if value < 128 { return ascii.contains(value) }
            return Self.rawContains(value, lowerBounds, upperBounds, properties) != negated
        }

        private static func rawContains(
            _ value: UInt32, _ lowerBounds: [UInt32], _ upperBounds: [UInt32],
            _ properties: [(property: Property, negated: Bool)]
        ) -> Bool {
            // The last range starting at or below `value`.
            var low = 0
            var high = lowerBounds.count
            while low < high {
                let middle = (low + high) / 2
                if lowerBounds[middle] <= value { low = middle + 1 } else { high = middle }
            }
            if low > 0, value <= upperBounds[low - 1] { return true }
            guard !properties.isEmpty, let scalar = Unicode.Scalar(value) else { return false }
            return properties.contains { $0.property.contains(scalar) != $0.negated }
        }
    }

    /// Range lists for the ECMA-262 class escapes.
    enum Ranges {
        static let digit: [ClosedRange<UInt32>] = [0x30...0x39]
        static let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
        /// WhiteSpace (TAB, VT, FF, ZWNBSP, USP = Zs) and LineTerminator (LF, CR, LS, PS).
        static let space: [ClosedRange<UInt32>] = [
            0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A, 0x2028...0x2029,
            0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF,
        ]
        static let lineTerminators: [ClosedRange<UInt32>] = [0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029]

        static func normalized(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
            var merged: [ClosedRange<UInt32>] = []
            for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
                if let last = merged.last, range.lowerBound <= last.upperBound &+ 1 {
                    merged[merged.count - 1] = last.lowerBound...Swift.max(last.upperBound, range.upperBound)
                } else {
                    merged.append(range)
                }
            }
            return merged
        }

        static func inverted(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
            var result: [ClosedRange<UInt32>] = []
            var next: UInt32 = 0
            for range in normalized(ranges) {
                if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
                next = range.upperBound + 1
            }
            if next <= 0x10FFFF { result.append(next...0x10FFFF) }
            return result
        }
    }

    /// A Unicode property `\p{…}` can name: General_Category values, or a binary property.
    enum Property: Sendable {
        /// A bit per `Unicode.GeneralCategory`, as numbered by `categoryBit`.
        case categories(UInt64)
        case any, ascii, assigned
        case binary(Binary)

        enum Binary: Sendable {
            case asciiHexDigit, alphabetic, bidiControl, bidiMirrored, caseIgnorable, cased
            case changesWhenCasefolded, changesWhenCasemapped, changesWhenLowercased
            case changesWhenNFKCCasefolded, changesWhenTitlecased, changesWhenUppercased
            case dash, defaultIgnorableCodePoint, deprecated, diacritic, emoji, emojiModifier
            case emojiModifierBase, emojiPresentation, extender, graphemeBase, graphemeExtend, hexDigit
            case idsBinaryOperator, idsTrinaryOperator, idContinue, idStart, ideographic, joinControl
            case logicalOrderException, lowercase, math, noncharacterCodePoint, patternSyntax
            case patternWhiteSpace, quotationMark, radical, sentenceTerminal, softDotted
            case terminalPunctuation, unifiedIdeograph, uppercase, variationSelector, whiteSpace
            case xidContinue, xidStart
        }

        func contains(_ scalar: Unicode.Scalar) -> Bool {
            switch self {
            case .categories(let mask): mask >> UInt64(Self.categoryBit(scalar.properties.generalCategory)) & 1 != 0
            case .any: true
            case .ascii: scalar.isASCII
            case .assigned: scalar.properties.generalCategory != .unassigned
            case .binary(let binary): Self.has(binary, scalar.properties)
            }
        }

        private static func has(_ binary: Binary, _ p: Unicode.Scalar.Properties) -> Bool {
            switch binary {
            case .asciiHexDigit: p.isASCIIHexDigit
            case .alphabetic: p.isAlphabetic
            case .bidiControl: p.isBidiControl
            case .bidiMirrored: p.isBidiMirrored
            case .caseIgnorable: p.isCaseIgnorable
            case .cased: p.isCased
            case .changesWhenCasefolded: p.changesWhenCaseFolded
            case .changesWhenCasemapped: p.changesWhenCaseMapped
            case .changesWhenLowercased: p.changesWhenLowercased
            case .changesWhenNFKCCasefolded: p.changesWhenNFKCCaseFolded
            case .changesWhenTitlecased: p.changesWhenTitlecased
            case .changesWhenUppercased: p.changesWhenUppercased
            case .dash: p.isDash
            case .defaultIgnorableCodePoint: p.isDefaultIgnorableCodePoint
            case .deprecated: p.isDeprecated
            case .diacritic: p.isDiacritic
            case .emoji: p.isEmoji
            case .emojiModifier: p.isEmojiModifier
            case .emojiModifierBase: p.isEmojiModifierBase
            case .emojiPresentation: p.isEmojiPresentation
            case .extender: p.isExtender
            case .graphemeBase: p.isGraphemeBase
            case .graphemeExtend: p.isGraphemeExtend
            case .hexDigit: p.isHexDigit
            case .idsBinaryOperator: p.isIDSBinaryOperator
            case .idsTrinaryOperator: p.isIDSTrinaryOperator
            case .idContinue: p.isIDContinue
            case .idStart: p.isIDStart
            case .ideographic: p.isIdeographic
            case .joinControl: p.isJoinControl
            case .logicalOrderException: p.isLogicalOrderException
            case .lowercase: p.isLowercase
            case .math: p.isMath
            case .noncharacterCodePoint: p.isNoncharacterCodePoint
            case .patternSyntax: p.isPatternSyntax
            case .patternWhiteSpace: p.isPatternWhitespace
            case .quotationMark: p.isQuotationMark
            case .radical: p.isRadical
            case .sentenceTerminal: p.isSentenceTerminal
            case .softDotted: p.isSoftDotted
            case .terminalPunctuation: p.isTerminalPunctuation
            case .unifiedIdeograph: p.isUnifiedIdeograph
            case .uppercase: p.isUppercase
            case .variationSelector: p.isVariationSelector
            case .whiteSpace: p.isWhitespace
            case .xidContinue: p.isXIDContinue
            case .xidStart: p.isXIDStart
            }
        }

        private static func categoryBit(_ category: Unicode.GeneralCategory) -> Int {
            switch category {
            case .uppercaseLetter: 0
            case .lowercaseLetter: 1
            case .titlecaseLetter: 2
            case .modifierLetter: 3
            case .otherLetter: 4
            case .nonspacingMark: 5
            case .spacingMark: 6
            case .enclosingMark: 7
            case .decimalNumber: 8
            case .letterNumber: 9
            case .otherNumber: 10
            case .connectorPunctuation: 11
            case .dashPunctuation: 12
            case .openPunctuation: 13
            case .closePunctuation: 14
            case .initialPunctuation: 15
            case .finalPunctuation: 16
            case .otherPunctuation: 17
            case .mathSymbol: 18
            case .currencySymbol: 19
            case .modifierSymbol: 20
            case .otherSymbol: 21
            case .spaceSeparator: 22
            case .lineSeparator: 23
            case .paragraphSeparator: 24
            case .control: 25
            case .format: 26
            case .surrogate: 27
            case .privateUse: 28
            case .unassigned: 29
            @unknown default: 29
            }
        }

        private static func mask(_ bits: ClosedRange<Int>) -> UInt64 {
            bits.reduce(0) { $0 | 1 << UInt64($1) }
        }

        /// General_Category values and aliases (ECMA-262 table "Value aliases and canonical
        /// values for General_Category"), as category bits.
        static let categoryValues: [String: UInt64] = {
            let single: [(names: [String], bit: Int)] = [
                (["Lu", "Uppercase_Letter"], 0), (["Ll", "Lowercase_Letter"], 1), (["Lt", "Titlecase_Letter"], 2),
                (["Lm", "Modifier_Letter"], 3), (["Lo", "Other_Letter"], 4), (["Mn", "Nonspacing_Mark"], 5),
                (["Mc", "Spacing_Mark"], 6), (["Me", "Enclosing_Mark"], 7), (["Nd", "Decimal_Number", "digit"], 8),
                (["Nl", "Letter_Number"], 9), (["No", "Other_Number"], 10), (["Pc", "Connector_Punctuation"], 11),
                (["Pd", "Dash_Punctuation"], 12), (["Ps", "Open_Punctuation"], 13), (["Pe", "Close_Punctuation"], 14),
                (["Pi", "Initial_Punctuation"], 15), (["Pf", "Final_Punctuation"], 16),
                (["Po", "Other_Punctuation"], 17), (["Sm", "Math_Symbol"], 18), (["Sc", "Currency_Symbol"], 19),
                (["Sk", "Modifier_Symbol"], 20), (["So", "Other_Symbol"], 21), (["Zs", "Space_Separator"], 22),
                (["Zl", "Line_Separator"], 23), (["Zp", "Paragraph_Separator"], 24), (["Cc", "Control", "cntrl"], 25),
                (["Cf", "Format"], 26), (["Cs", "Surrogate"], 27), (["Co", "Private_Use"], 28),
                (["Cn", "Unassigned"], 29),
            ]
            let groups: [(names: [String], mask: UInt64)] = [
                (["L", "Letter"], mask(0...4)), (["LC", "Cased_Letter"], mask(0...2)),
                (["M", "Mark", "Combining_Mark"], mask(5...7)), (["N", "Number"], mask(8...10)),
                (["P", "Punctuation", "punct"], mask(11...17)), (["S", "Symbol"], mask(18...21)),
                (["Z", "Separator"], mask(22...24)), (["C", "Other"], mask(25...29)),
            ]
            var values: [String: UInt64] = [:]
            for (names, bit) in single { for name in names { values[name] = 1 << UInt64(bit) } }
            for (names, mask) in groups { for name in names { values[name] = mask } }
            return values
        }()

        /// Binary properties (ECMA-262 table "Binary Unicode property aliases") that Swift's
        /// `Unicode.Scalar.Properties` exposes.
        static let binaryProperties: [String: Property] = {
            let table: [([String], Property)] = [
                (["ASCII"], .ascii), (["Any"], .any), (["Assigned"], .assigned),
                (["ASCII_Hex_Digit", "AHex"], .binary(.asciiHexDigit)),
                (["Alphabetic", "Alpha"], .binary(.alphabetic)),
                (["Bidi_Control", "Bidi_C"], .binary(.bidiControl)),
                (["Bidi_Mirrored", "Bidi_M"], .binary(.bidiMirrored)),
                (["Case_Ignorable", "CI"], .binary(.caseIgnorable)), (["Cased"], .binary(.cased)),
                (["Changes_When_Casefolded", "CWCF"], .binary(.changesWhenCasefolded)),
                (["Changes_When_Casemapped", "CWCM"], .binary(.changesWhenCasemapped)),
                (["Changes_When_Lowercased", "CWL"], .binary(.changesWhenLowercased)),
                (["Changes_When_NFKC_Casefolded", "CWKCF"], .binary(.changesWhenNFKCCasefolded)),
                (["Changes_When_Titlecased", "CWT"], .binary(.changesWhenTitlecased)),
                (["Changes_When_Uppercased", "CWU"], .binary(.changesWhenUppercased)),
                (["Dash"], .binary(.dash)),
                (["Default_Ignorable_Code_Point", "DI"], .binary(.defaultIgnorableCodePoint)),
                (["Deprecated", "Dep"], .binary(.deprecated)), (["Diacritic", "Dia"], .binary(.diacritic)),
                (["Emoji"], .binary(.emoji)), (["Emoji_Modifier", "EMod"], .binary(.emojiModifier)),
                (["Emoji_Modifier_Base", "EBase"], .binary(.emojiModifierBase)),
                (["Emoji_Presentation", "EPres"], .binary(.emojiPresentation)),
                (["Extender", "Ext"], .binary(.extender)),
                (["Grapheme_Base", "Gr_Base"], .binary(.graphemeBase)),
                (["Grapheme_Extend", "Gr_Ext"], .binary(.graphemeExtend)), (["Hex_Digit", "Hex"], .binary(.hexDigit)),
                (["IDS_Binary_Operator", "IDSB"], .binary(.idsBinaryOperator)),
                (["IDS_Trinary_Operator", "IDST"], .binary(.idsTrinaryOperator)),
                (["ID_Continue", "IDC"], .binary(.idContinue)), (["ID_Start", "IDS"], .binary(.idStart)),
                (["Ideographic", "Ideo"], .binary(.ideographic)), (["Join_Control", "Join_C"], .binary(.joinControl)),
                (["Logical_Order_Exception", "LOE"], .binary(.logicalOrderException)),
                (["Lowercase", "Lower"], .binary(.lowercase)), (["Math"], .binary(.math)),
                (["Noncharacter_Code_Point", "NChar"], .binary(.noncharacterCodePoint)),
                (["Pattern_Syntax", "Pat_Syn"], .binary(.patternSyntax)),
                (["Pattern_White_Space", "Pat_WS"], .binary(.patternWhiteSpace)),
                (["Quotation_Mark", "QMark"], .binary(.quotationMark)), (["Radical"], .binary(.radical)),
                (["Sentence_Terminal", "STerm"], .binary(.sentenceTerminal)),
                (["Soft_Dotted", "SD"], .binary(.softDotted)),
                (["Terminal_Punctuation", "Term"], .binary(.terminalPunctuation)),
                (["Unified_Ideograph", "UIdeo"], .binary(.unifiedIdeograph)),
                (["Uppercase", "Upper"], .binary(.uppercase)),
                (["Variation_Selector", "VS"], .binary(.variationSelector)),
                (["White_Space", "space"], .binary(.whiteSpace)),
                (["XID_Continue", "XIDC"], .binary(.xidContinue)), (["XID_Start", "XIDS"], .binary(.xidStart)),
            ]
            var properties: [String: Property] = [:]
            for (names, property) in table { for name in names { properties[name] = property } }
            return properties
        }()

        /// The property `\p{text}` names; nil for scripts and anything unknown.
        static func named(_ text: String) -> Property? {
            if let equals = text.firstIndex(of: "=") {
                let name = text[..<equals]
                let value = String(text[text.index(after: equals)...])
                guard name == "General_Category" || name == "gc", let mask = categoryValues[value] else { return nil }
                return .categories(mask)
            }
            if let mask = categoryValues[text] { return .categories(mask) }
            return binaryProperties[text]
        }
    }
}

// MARK: - Parser

extension JSONSchema.LinearRegex {
    /// Parses ECMA-262 pattern syntax (Unicode mode) into a `Node`, throwing `Unsupported` for
    /// invalid or unsupported syntax. Recursion is bounded by `maxGroupDepth`.
    struct Parser {
        struct Unsupported: Error {}

        typealias Node = JSONSchema.LinearRegex.Node

        let scalars: [Unicode.Scalar]
        var index = 0
        var depth = 0
        var classes: [ScalarClass] = []
        var groupNames: Set<String> = []

        init(scalars: [Unicode.Scalar]) { self.scalars = scalars }

        private var peek: Unicode.Scalar? { peek(0) }
        private func peek(_ offset: Int) -> Unicode.Scalar? {
            index + offset < scalars.count ? scalars[index + offset] : nil
        }

        private static func digit(_ scalar: Unicode.Scalar?) -> Int? {
            guard let value = scalar?.value, (0x30...0x39).contains(value) else { return nil }
            return Int(value - 0x30)
        }

        private static func hexDigit(_ scalar: Unicode.Scalar?) -> UInt32? {
            guard let value = scalar?.value else { return nil }
            switch value {
            case 0x30...0x39: return value - 0x30
            case 0x41...0x46: return value - 0x41 + 10
            case 0x61...0x66: return value - 0x61 + 10
            default: return nil
            }
        }

        private static func isSyntaxCharacter(_ scalar: Unicode.Scalar) -> Bool {
            "^$\\.*+?()[]{}|".unicodeScalars.contains(scalar)
        }

        mutating func parse() throws(Unsupported) -> Node {
            let node = try disjunction()
            guard index == scalars.count else { throw Unsupported() }  // an unmatched `)`
            return node
        }

        private mutating func disjunction() throws(Unsupported) -> Node {
            var branches = [try alternative()]
            while peek == "|" {
                index += 1
                branches.append(try alternative())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        private mutating func alternative() throws(Unsupported) -> Node {
            var items: [Node] = []
            while let scalar = peek, scalar != "|", scalar != ")" {
                items.append(try term())
            }
            switch items.count {
            case 0: return .empty
            case 1: return items[0]
            default: return .sequence(items)
            }
        }

        private mutating func term() throws(Unsupported) -> Node {
            let atom: Node
            switch scalars[index] {
            case "^", "$":
                let kind: Instruction.Kind = scalars[index] == "^" ? .assertStart : .assertEnd
                index += 1
                return try assertion(kind)
            case "\\" where peek(1) == "b" || peek(1) == "B":
                let kind: Instruction.Kind = peek(1) == "b" ? .assertBoundary : .assertNonBoundary
                index += 2
                return try assertion(kind)
            case "(":
                atom = try group()
            case "[":
                atom = try characterClass()
            case ".":
                index += 1
                atom = .set(try add(ScalarClass(ranges: Ranges.inverted(Ranges.lineTerminators))))
            case "\\":
                atom = try atomEscape()
            case let scalar where Self.isSyntaxCharacter(scalar):
                // A quantifier with nothing to repeat, or a lone `]`, `{`, `}`.
                throw Unsupported()
            case let scalar:
                index += 1
                atom = .scalar(scalar.value)
            }
            guard let (min, max) = try quantifier() else { return atom }
            return .repetition(atom, min: min, max: max)
        }

        /// An assertion cannot be quantified in Unicode mode.
        private func assertion(_ kind: Instruction.Kind) throws(Unsupported) -> Node {
            if let next = peek, "*+?{".unicodeScalars.contains(next) { throw Unsupported() }
            return .assertion(kind)
        }

        private mutating func quantifier() throws(Unsupported) -> (Int, Int?)? {
            let bounds: (Int, Int?)
            switch peek {
            case "*":
                index += 1
                bounds = (0, nil)
            case "+":
                index += 1
                bounds = (1, nil)
            case "?":
                index += 1
                bounds = (0, 1)
            case "{":
                index += 1
                guard let low = decimal() else { throw Unsupported() }
                var high: Int? = low
                if peek == "," {
                    index += 1
                    high = decimal()
                }
                guard peek == "}" else { throw Unsupported() }
                index += 1
                if let high, high < low { throw Unsupported() }
                bounds = (low, high)
            default:
                return nil
            }
            if peek == "?" { index += 1 }  // lazy: same matches
            if let next = peek, "*+?{".unicodeScalars.contains(next) { throw Unsupported() }
            return bounds
        }

        /// Decimal digits, saturating at 2³⁰ (far over any supported count).
        private mutating func decimal() -> Int? {
            guard Self.digit(peek) != nil else { return nil }
            var value = 0
            while let digit = Self.digit(peek) {
                value = Swift.min(value * 10 + digit, 1 << 30)
                index += 1
            }
            return value
        }

        private mutating func group() throws(Unsupported) -> Node {
            index += 1
            if peek == "?" {
                switch peek(1) {
                case ":":
                    index += 2
                case "<" where peek(2) != "=" && peek(2) != "!":
                    index += 2
                    try groupName()
                default:
                    throw Unsupported()  // lookaround, modifiers, anything else
                }
            }
            depth += 1
            guard depth <= JSONSchema.LinearRegex.maxGroupDepth else { throw Unsupported() }
            let body = try disjunction()
            guard peek == ")" else { throw Unsupported() }
            index += 1
            depth -= 1
            return body
        }

        /// `name>` after `(?<`: an identifier without escapes, not used before.
        private mutating func groupName() throws(Unsupported) {
            var name = String.UnicodeScalarView()
            while let scalar = peek, scalar != ">" {
                let allowed =
                    scalar == "$" || scalar == "_"
                    || (name.isEmpty
                        ? scalar.properties.isIDStart
                        : scalar.properties.isIDContinue || scalar == "\u{200C}" || scalar == "\u{200D}")
                guard allowed else { throw Unsupported() }
                name.append(scalar)
                index += 1
            }
            guard peek == ">", !name.isEmpty, groupNames.insert(String(name)).inserted else { throw Unsupported() }
            index += 1
        }

        /// Each class is at least one instruction, unless repeated zero times: past
        /// `maxInstructions` classes the pattern is too large anyway.
        private mutating func add(_ set: @autoclosure () -> ScalarClass) throws(Unsupported) -> Int {
            guard classes.count < JSONSchema.LinearRegex.maxInstructions else { throw Unsupported() }
            classes.append(set())
            return classes.count - 1
        }

        /// A class escape's members: ranges or one property.
        private enum Members {
            case scalar(UInt32)
            case ranges([ClosedRange<UInt32>])
            case property(Property, negated: Bool)
        }

        private mutating func atomEscape() throws(Unsupported) -> Node {
            switch try escape(inClass: false) {
            case .scalar(let value): return .scalar(value)
            case .ranges(let ranges): return .set(try add(ScalarClass(ranges: ranges)))
            case .property(let property, let negated):
                return .set(try add(ScalarClass(ranges: [], properties: [(property, false)], negated: negated)))
            }
        }

        /// The escape at `index` (a backslash), other than `\b` and `\B` outside a class.
        private mutating func escape(inClass: Bool) throws(Unsupported) -> Members {
            guard let escaped = peek(1) else { throw Unsupported() }
            index += 2
            switch escaped {
            case "d": return .ranges(Ranges.digit)
            case "D": return .ranges(Ranges.inverted(Ranges.digit))
            case "w": return .ranges(Ranges.word)
            case "W": return .ranges(Ranges.inverted(Ranges.word))
            case "s": return .ranges(Ranges.space)
            case "S": return .ranges(Ranges.inverted(Ranges.space))
            case "f": return .scalar(0x0C)
            case "n": return .scalar(0x0A)
            case "r": return .scalar(0x0D)
            case "t": return .scalar(0x09)
            case "v": return .scalar(0x0B)
            case "b" where inClass: return .scalar(0x08)
            case "-" where inClass: return .scalar(0x2D)
            case "0":
                guard Self.digit(peek) == nil else { throw Unsupported() }
                return .scalar(0)
            case "c":
                guard let letter = peek, letter.isASCII, letter.properties.isAlphabetic else { throw Unsupported() }
                index += 1
                return .scalar(letter.value % 32)
            case "x":
                guard let high = Self.hexDigit(peek), let low = Self.hexDigit(peek(1)) else { throw Unsupported() }
                index += 2
                return .scalar(high << 4 | low)
            case "u":
                return .scalar(try unicodeEscape())
            case "p", "P":
                guard peek == "{" else { throw Unsupported() }
                index += 1
                var name = String.UnicodeScalarView()
                while let scalar = peek, scalar != "}" {
                    name.append(scalar)
                    index += 1
                }
                guard peek == "}", let property = Property.named(String(name)) else { throw Unsupported() }
                index += 1
                return .property(property, negated: escaped == "P")
            default:
                // Backreferences, `\k`, `\B` in a class, and letter or digit escapes ECMA-262 lacks
                // (which other engines give meanings) are unsupported. Other ASCII punctuation
                // stands for itself, as it does in Swift's `Regex` and in ECMA-262's syntax
                // characters and `/`.
                guard escaped.isASCII, !escaped.properties.isAlphabetic, Self.digit(escaped) == nil,
                    escaped.value >= 0x20, escaped.value != 0x7F
                else { throw Unsupported() }
                return .scalar(escaped.value)
            }
        }

        /// After `\u`: `HHHH`, a `\uHHHH\uHHHH` surrogate pair, or `{H…}`; a scalar value.
        private mutating func unicodeEscape() throws(Unsupported) -> UInt32 {
            if peek == "{" {
                index += 1
                var value: UInt32 = 0
                var digits = 0
                while let digit = Self.hexDigit(peek) {
                    value = value << 4 | digit
                    guard value <= 0x10FFFF else { throw Unsupported() }
                    digits += 1
                    index += 1
                }
                guard digits > 0, peek == "}", !(0xD800...0xDFFF).contains(value) else { throw Unsupported() }
                index += 1
                return value
            }
            guard let first = hex4() else { throw Unsupported() }
            if (0xD800...0xDBFF).contains(first), peek == "\\", peek(1) == "u" {
                let saved = index
                index += 2
                if let second = hex4(), (0xDC00...0xDFFF).contains(second) {
                    return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                }
                index = saved
            }
            guard !(0xD800...0xDFFF).contains(first) else { throw Unsupported() }  // a lone surrogate
            return first
        }

        private mutating func hex4() -> UInt32? {
            var value: UInt32 = 0
            for offset in 0..<4 {
                guard let digit = Self.hexDigit(peek(offset)) else { return nil }
                value = value << 4 | digit
            }
            index += 4
            return value
        }

        private mutating func characterClass() throws(Unsupported) -> Node {
            index += 1
            var negated = false
            if peek == "^" {
                negated = true
                index += 1
            }
            var ranges: [ClosedRange<UInt32>] = []
            var properties: [(property: Property, negated: Bool)] = []
            while true {
                guard let scalar = peek else { throw Unsupported() }  // unclosed
                if scalar == "]" {
                    index += 1
                    break
                }
                let low = try classAtom()
                if peek == "-", let next = peek(1), next != "]" {
                    index += 1
                    // Both ends must be single code points, in order (Unicode mode).
                    guard case .scalar(let lower) = low, case .scalar(let upper) = try classAtom(), lower <= upper
                    else {
                        throw Unsupported()
                    }
                    ranges.append(lower...upper)
                    continue
                }
                switch low {
                case .scalar(let value): ranges.append(value...value)
                case .ranges(let more): ranges += more
                case .property(let property, let negated): properties.append((property, negated))
                }
            }
            return .set(try add(ScalarClass(ranges: ranges, properties: properties, negated: negated)))
        }

        private mutating func classAtom() throws(Unsupported) -> Members {
            guard let scalar = peek else { throw Unsupported() }
            if scalar == "\\" { return try escape(inClass: true) }
            index += 1
            return .scalar(scalar.value)
        }
    }
}
