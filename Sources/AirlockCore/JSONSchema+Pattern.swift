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
    /// `@unchecked Sendable`: a `Regex` is immutable once built; only its output type,
    /// `AnyRegexOutput`, is not `Sendable`. `init` runs one match so the standard library lowers
    /// the program before the value is shared.
    struct Pattern: @unchecked Sendable {
        let source: String
        let regex: Regex<AnyRegexOutput>

        init(_ source: String) throws {
            self.source = source
            regex = try Regex(Self.translate(source))
                .matchingSemantics(.unicodeScalar)
                .asciiOnlyDigits()
                .asciiOnlyWordCharacters()
                .wordBoundaryKind(.simple)
            _ = "".contains(regex)
        }

        func matches(_ string: String) -> Bool { string.contains(regex) }

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
