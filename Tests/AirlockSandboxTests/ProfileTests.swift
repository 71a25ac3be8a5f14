import Foundation
import Testing

@testable import AirlockSandbox

// MARK: - Helpers

/// The repository root, found from this file's path.
private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// `shared/` beside the clone (CI lays it out as `../shared`).
private let sharedDir = repoRoot.deletingLastPathComponent().appendingPathComponent("shared")

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private func readBytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

private func dockerDefault() throws -> [UInt8] {
    let url = sharedDir.appendingPathComponent("testdata/seccomp/docker-default.json")
    try #require(
        FileManager.default.fileExists(atPath: url.path),
        "missing \(url.path): Docker's default seccomp profile is expected in shared/ beside the clone")
    return try readBytes(url)
}

/// A fresh temporary directory, removed by the caller's `defer`.
private func makeTempDir() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("airlock-profile-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private func parseError(_ text: String) -> JSONParseError? {
    do {
        _ = try JSONValue.parse(text)
        return nil
    } catch {
        return error
    }
}

private func issues(_ text: String) -> [String] {
    Profile.check(bytes: bytes(text)).map(\.description)
}

/// Wraps a seccomp section in a minimal profile.
private func profileWithSeccomp(_ seccomp: String) -> String { #"{"seccomp": \#(seccomp)}"# }

// MARK: - A classic-BPF interpreter, to check what compiled filters decide

private enum Arch {
    static let x86_64: UInt32 = 0xC000_003E
    static let i386: UInt32 = 0x4000_0003
}

private enum Verdict: Equatable, CustomStringConvertible {
    case allow, killProcess, killThread, trap, log
    case errno(UInt32)
    case trace(UInt32)

    init(_ value: UInt32) {
        switch value & 0xffff_0000 {
        case 0x7fff_0000: self = .allow
        case 0x8000_0000: self = .killProcess
        case 0x0000_0000: self = .killThread
        case 0x0003_0000: self = .trap
        case 0x0005_0000: self = .errno(value & 0xffff)
        case 0x7ff0_0000: self = .trace(value & 0xffff)
        case 0x7ffc_0000: self = .log
        default: self = .killProcess
        }
    }

    var description: String {
        switch self {
        case .allow: return "allow"
        case .killProcess: return "kill_process"
        case .killThread: return "kill_thread"
        case .trap: return "trap"
        case .log: return "log"
        case .errno(let e): return "errno(\(e))"
        case .trace(let t): return "trace(\(t))"
        }
    }
}

/// Runs `program` on a `struct seccomp_data` the way the kernel does.
private func run(
    _ program: SeccompProgram, _ name: String, _ args: [UInt64] = [], arch: UInt32 = Arch.x86_64, nr: Int32? = nil
) -> Verdict {
    let number = nr ?? SeccompCompiler.syscallNumber(name)!
    var data = [UInt8](repeating: 0, count: 64)
    func put32(_ value: UInt32, _ at: Int) {
        for i in 0..<4 { data[at + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }
    put32(UInt32(bitPattern: number), 0)
    put32(arch, 4)
    for (i, arg) in args.enumerated() {
        put32(UInt32(truncatingIfNeeded: arg), 16 + 8 * i)
        put32(UInt32(truncatingIfNeeded: arg >> 32), 20 + 8 * i)
    }
    func load32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[at + $1]) << (8 * $1) } }
    let code = program.bytes
    var a: UInt32 = 0
    var x: UInt32 = 0
    var memory = [UInt32](repeating: 0, count: 16)
    var pc = 0
    while pc < program.instructionCount {
        let base = pc * 8
        let op = UInt16(code[base]) | UInt16(code[base + 1]) << 8
        let jt = Int(code[base + 2])
        let jf = Int(code[base + 3])
        let k = (0..<4).reduce(UInt32(0)) { $0 | UInt32(code[base + 4 + $1]) << (8 * $1) }
        pc += 1
        switch op {
        case 0x20: a = load32(Int(k))  // ld [k]
        case 0x00: a = k  // ld #k
        case 0x60: a = memory[Int(k)]  // ld M[k]
        case 0x01: x = k  // ldx #k
        case 0x61: x = memory[Int(k)]  // ldx M[k]
        case 0x02: memory[Int(k)] = a  // st M[k]
        case 0x03: memory[Int(k)] = x  // stx M[k]
        case 0x54: a &= k  // and #k
        case 0x44: a |= k  // or #k
        case 0x04: a &+= k  // add #k
        case 0x07: x = a  // tax
        case 0x87: a = x  // txa
        case 0x05: pc += Int(k)  // ja
        case 0x15: pc += a == k ? jt : jf
        case 0x25: pc += a > k ? jt : jf
        case 0x35: pc += a >= k ? jt : jf
        case 0x45: pc += a & k != 0 ? jt : jf
        case 0x1d: pc += a == x ? jt : jf
        case 0x2d: pc += a > x ? jt : jf
        case 0x3d: pc += a >= x ? jt : jf
        case 0x06: return Verdict(k)  // ret #k
        case 0x16: return Verdict(a)  // ret a
        default:
            Issue.record("unhandled BPF opcode 0x\(String(op, radix: 16)) at \(pc - 1)")
            return .killProcess
        }
    }
    Issue.record("BPF program fell off its end")
    return .killProcess
}

// MARK: - JSON

@Suite struct JSONValueTests {
    @Test func parsesAndKeepsKeyOrder() throws {
        let value = try JSONValue.parse(#" {"z": 1, "a": [true, false, null, "x"], "m": {"k": -2.5e3}} "#)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
        #expect(value["a"] == [true, false, nil, "x"])
        #expect(value["m"]?["k"]?.numberValue?.double == -2500)
        #expect(value.serialized() == #"{"z":1,"a":[true,false,null,"x"],"m":{"k":-2.5e3}}"#)
        #expect(value.serialized(sortedKeys: true) == #"{"a":[true,false,null,"x"],"m":{"k":-2.5e3},"z":1}"#)
    }

    @Test func prettyOutput() throws {
        let value = try JSONValue.parse(#"{"a":[1,{}],"b":[],"c":"d"}"#)
        #expect(
            value.serialized(pretty: true) == "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": [],\n  \"c\": \"d\"\n}\n")
        #expect(try JSONValue.parse(value.serialized(pretty: true)) == value)
    }

    @Test func invalidJSONGivesLineAndColumn() {
        let error = parseError("{\n  \"a\": 1,\n  \"b\": tru\n}")
        #expect(error?.line == 3)
        #expect(error?.column == 8)
        #expect(error?.description.hasPrefix("line 3, column 8: ") == true)

        #expect(parseError("[1, 2,]")?.message == "trailing comma before ']'")
        #expect(parseError("{\"a\": 1,}")?.message == "trailing comma before '}'")
        #expect(parseError("[01]")?.message == "leading zeros are not allowed")
        #expect(parseError("\"abc")?.message == "unterminated string")
        #expect(parseError("\"a\tb\"")?.message.hasPrefix("unescaped control character") == true)
        #expect(parseError(#""\ud800x""#)?.message.hasPrefix("lone high surrogate") == true)
        #expect(parseError(#""\udc00""#)?.message.hasPrefix("lone low surrogate") == true)
        #expect(parseError(#""\x""#)?.message.hasPrefix("invalid escape") == true)
        #expect(parseError("// c\n{}") != nil)
        #expect(parseError("{} {}")?.message.contains("after the document") == true)
        #expect(parseError("") != nil)
        #expect(parseError("NaN") != nil)
        #expect(parseError("[1.]") != nil)
        #expect(parseError("[-]") != nil)
        #expect(parseError("[1e]") != nil)
        #expect(parseError("nul") != nil)
        #expect(parseError("truex") != nil)
        // Columns count characters, not bytes.
        let utf8 = parseError("[\"é\", x]")
        #expect(utf8?.line == 1)
        #expect(utf8?.column == 7)
    }

    @Test func invalidUTF8IsRejected() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xC3, 0x28, 0x22]) }
        // An encoded surrogate is not UTF-8.
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) }
        // A byte order mark is skipped.
        #expect((try? JSONValue.parse([0xEF, 0xBB, 0xBF] + bytes("[1]"))) == [1])
    }

    @Test func nestingLimit() {
        let ok =
            String(repeating: "[", count: JSONValue.defaultMaxDepth)
            + String(repeating: "]", count: JSONValue.defaultMaxDepth)
        #expect((try? JSONValue.parse(ok)) != nil)
        let deep = "[" + ok + "]"
        #expect(parseError(deep)?.message == "nesting deeper than \(JSONValue.defaultMaxDepth) levels")
        let deepObjects = String(repeating: "{\"a\":", count: 20) + "1" + String(repeating: "}", count: 20)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deepObjects, maxDepth: 10) }
        // Far past the limit does not overflow the stack.
        #expect(parseError(String(repeating: "[", count: 100_000)) != nil)
    }

    @Test func duplicateKeysRejected() {
        let error = parseError("{\"a\": 1,\n \"a\": 2}")
        #expect(error?.message == "duplicate key \"a\"")
        #expect(error?.line == 2)
        #expect(error?.column == 2)
        #expect(parseError(#"{"a": {"b": 1, "b": 1}}"#) != nil)
        #expect(parseError(#"{"a": 1, "\u0061": 2}"#) != nil)  // same key after unescaping
    }

    @Test func bigIntegersStayExact() throws {
        let value = try JSONValue.parse(
            "[18446744073709551615, 18446744073709551616, -9223372036854775808, 9007199254740993, 1.5, 1e3, -0]")
        let numbers = try #require(value.arrayValue?.compactMap { $0.numberValue })
        #expect(numbers[0].uint64 == UInt64.max)
        #expect(numbers[1].uint64 == nil)
        #expect(numbers[1].text == "18446744073709551616")
        #expect(numbers[2].int64 == Int64.min)
        #expect(numbers[3].uint64 == 9_007_199_254_740_993)  // not representable as a Double
        #expect(numbers[4].isInteger == false)
        #expect(numbers[4].double == 1.5)
        #expect(numbers[5].uint64 == nil)
        #expect(numbers[5].double == 1000)
        #expect(numbers[6].int64 == 0)
        #expect(
            value.serialized()
                == "[18446744073709551615,18446744073709551616,-9223372036854775808,9007199254740993,1.5,1e3,-0]")
    }

    @Test func stringEscapes() throws {
        let value = try JSONValue.parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\u0001""#)
        #expect(value.stringValue == "a\"b\\c/d\u{08}\u{0C}\n\r\té😀\u{01}")
        #expect(value.serialized() == #""a\"b\\c/d\b\f\n\r\té😀\u0001""#)
        let built: JSONValue = ["k": "v\u{1F}", "n": 1.25, "i": 3, "o": nil]
        #expect(built.serialized() == #"{"k":"v\u001f","n":1.25,"i":3,"o":null}"#)
        #expect(try JSONValue.parse(built.serialized()) == built)
    }

    @Test func objectEditing() {
        var object: JSONObject = ["a": 1, "b": 2, "c": 3]
        object["b"] = nil
        object["d"] = 4
        object["a"] = 0
        #expect(object.keys == ["a", "c", "d"])
        #expect(object["c"] == 3)
        #expect(JSONValue.object(object).serialized() == #"{"a":0,"c":3,"d":4}"#)
    }
}

// MARK: - Profiles

@Suite struct ProfileTests {
    @Test func shippedProfilesParseAndCompile() throws {
        #expect(Profile.builtinNames == ["default", "strict", "network-client", "build"])
        for name in Profile.builtinNames {
            let url = repoRoot.appendingPathComponent("sandbox-profiles/\(name).json")
            let source = try readBytes(url)
            #expect(Profile.check(bytes: source) == [], "\(name)")
            let profile = try Profile.load(path: url.path)
            let builtin = try #require(try Profile.builtin(name))
            #expect(profile.sha256 == builtin.sha256)
            #expect(profile.sha256.count == 64)
            #expect(profile.seccomp == builtin.seccomp)
            #expect(profile.seccomp.defaultAction == .errno)
            #expect(profile.runAs == "nobody")
            #expect(profile.namespaces == NamespacePolicy())
            #expect(profile.filesystem.write == ["/dev/null"])
            #expect(profile.filesystem.scratch)
            #expect(SeccompCompiler.skippedSyscalls(in: profile.seccomp) == [])
            let program = try SeccompCompiler.compile(profile.seccomp)
            #expect(program.instructionCount > 50)
            #expect(program.bytes.count == program.instructionCount * 8)
        }
        let standard = try #require(try Profile.builtin("default"))
        #expect(
            standard.limits
                == Limits(
                    wallTimeMs: 60_000, cpuTimeMs: 60_000, memoryBytes: 512 << 20, processes: 64, openFiles: 256,
                    fileSizeBytes: 64 << 20, outputBytes: 16 << 20))
        #expect(standard.network == .none)
        #expect(standard.env.set == ["PATH": "/usr/local/bin:/usr/bin:/bin"])
        let strict = try #require(try Profile.builtin("strict"))
        #expect(
            strict.limits
                == Limits(
                    wallTimeMs: 30_000, cpuTimeMs: 30_000, memoryBytes: 256 << 20, processes: 8, openFiles: 64,
                    fileSizeBytes: 16 << 20, outputBytes: 4 << 20))
        let client = try #require(try Profile.builtin("network-client"))
        #expect(client.network == .host)
        let build = try #require(try Profile.builtin("build"))
        #expect(
            build.limits
                == Limits(
                    wallTimeMs: 600_000, cpuTimeMs: 600_000, memoryBytes: 4 << 30, processes: 512, openFiles: 4096,
                    fileSizeBytes: 1 << 30, outputBytes: 64 << 20))
    }

    @Test func embeddedProfilesMatchFiles() throws {
        for source in BuiltinProfiles.sources {
            let file = try readBytes(repoRoot.appendingPathComponent("sandbox-profiles/\(source.name).json"))
            #expect(Array(source.json.utf8) == file, "\(source.name): run scripts/gen-builtin-profiles")
        }
    }

    @Test func shippedProfilesDecideAsIntended() throws {
        let standard = try SeccompCompiler.compile(try #require(try Profile.builtin("default")).seccomp)
        let cloneNewUser: UInt64 = 0x1000_0000
        let cloneThread: UInt64 = 0x0001_0000 | 0x100 | 0x800 | 0x400 | 0x10_0000 | 0x20_0000 | 0x8_0000 | 0x40_0000
        #expect(run(standard, "read") == .allow)
        #expect(run(standard, "execve") == .allow)
        #expect(run(standard, "socket", [2, 1, 0]) == .allow)
        #expect(run(standard, "clone", [17]) == .allow)  // fork: SIGCHLD
        #expect(run(standard, "clone", [cloneThread]) == .allow)
        #expect(run(standard, "clone", [17 | cloneNewUser]) == .errno(1))
        #expect(run(standard, "clone3") == .errno(38))
        #expect(run(standard, "io_uring_setup") == .errno(38))
        for name in [
            "ptrace", "bpf", "mount", "unshare", "setns", "keyctl", "userfaultfd", "process_vm_readv", "kexec_load",
        ] {
            #expect(run(standard, name) == .killProcess, "\(name)")
        }
        #expect(run(standard, "personality", [8]) == .allow)
        #expect(run(standard, "personality", [0x0040_0000]) == .errno(1))  // READ_IMPLIES_EXEC
        #expect(run(standard, "arch_prctl") == .allow)
        #expect(run(standard, "reboot") == .killProcess)
        #expect(run(standard, "syslog") == .errno(1))
        #expect(run(standard, "read", arch: Arch.i386, nr: 3) == .killProcess)

        let strict = try SeccompCompiler.compile(try #require(try Profile.builtin("strict")).seccomp)
        #expect(run(strict, "clone", [cloneThread]) == .allow)
        #expect(run(strict, "clone", [17]) == .errno(1))
        #expect(run(strict, "clone", [cloneThread | cloneNewUser]) == .errno(1))
        #expect(run(strict, "fork") == .errno(1))
        #expect(run(strict, "vfork") == .errno(1))
        #expect(run(strict, "execve") == .allow)
        #expect(run(strict, "socket", [1, 1, 0]) == .errno(1))
        #expect(run(strict, "socketpair", [1, 1, 0]) == .errno(1))
        #expect(run(strict, "ptrace") == .killProcess)
    }

    @Test func dockerDefaultLoadsUnchangedAndCompiles() throws {
        let source = try dockerDefault()
        #expect(Profile.check(bytes: source) == [])
        let profile = try Profile.parse(bytes: source, name: "docker-default")
        let standard = try #require(try Profile.builtin("default"))
        // A plain seccomp object takes the default profile's other settings.
        #expect(profile.limits == standard.limits)
        #expect(profile.network == standard.network)
        #expect(profile.filesystem == standard.filesystem)
        #expect(profile.seccomp.defaultAction == .errno)
        #expect(profile.seccomp.defaultErrnoRet == 1)
        #expect(profile.seccomp.architectures == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        let names = profile.seccomp.syscalls.flatMap(\.names)
        #expect(names.contains("arch_prctl"))  // includes.arches amd64
        #expect(!names.contains("s390_pci_mmio_read"))  // includes.arches s390
        #expect(!names.contains("bpf"))  // includes.caps CAP_SYS_ADMIN / CAP_BPF: the tool has no capabilities
        #expect(!names.contains("mount"))
        #expect(names.contains("ptrace"))  // includes.minKernel 4.8
        let clones = profile.seccomp.syscalls.filter { $0.names == ["clone"] }
        #expect(clones.count == 1)  // the s390 variant is left out, the CAP_SYS_ADMIN one too
        #expect(clones.first?.args == [SeccompArg(index: 0, value: 2_114_060_288, op: .maskedEqual)])
        #expect(profile.seccomp.syscalls.contains { $0.names == ["clone3"] && $0.errnoRet == 38 })
        // Newer than libseccomp 2.5.4: left out of the filter (the default denies them anyway).
        let skipped = SeccompCompiler.skippedSyscalls(in: profile.seccomp)
        #expect(skipped.contains("mseal"))
        #expect(skipped.allSatisfy(SeccompCompiler.syscallsNewerThanLibseccomp.contains))

        let program = try SeccompCompiler.compile(profile.seccomp)
        #expect(run(program, "read") == .allow)
        #expect(run(program, "mount") == .errno(1))
        #expect(run(program, "clone3") == .errno(38))
        #expect(run(program, "clone", [17]) == .allow)
        #expect(run(program, "clone", [0x1000_0000]) == .errno(1))
        #expect(run(program, "socket", [2]) == .allow)
        #expect(run(program, "socket", [40]) == .errno(1))  // AF_VSOCK
        #expect(run(program, "socket", [41]) == .allow)
        #expect(run(program, "read", arch: Arch.i386, nr: 3) == .allow)  // x86 is in archMap
        #expect(run(program, "mount", arch: Arch.i386, nr: 21) == .errno(1))
    }

    @Test func checkReportsEveryProblemWithItsPath() {
        let text = """
            {
              "description": 7,
              "colour": "blue",
              "seccomp": {
                "defaultAction": "SCMP_ACT_ERRNO",
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"],
                "flags": ["SECCOMP_FILTER_FLAG_NOPE"],
                "syscalls": [
                  {"names": ["read", "raed"], "action": "SCMP_ACT_ALLOW"},
                  {"names": ["write"], "action": "SCMP_ACT_PERMIT"},
                  {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_IS"}]},
                  {"names": ["close"], "action": "SCMP_ACT_ALLOW", "extra": true, "includes": {"minKernel": "five", "bogus": 1}},
                  {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": -1, "op": "SCMP_CMP_EQ", "valueThree": 0}]},
                  {"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1},
                  {"names": ["kill"], "action": "SCMP_ACT_NOTIFY"},
                  {"action": "SCMP_ACT_ALLOW"}
                ]
              },
              "limits": {"wallTimeSeconds": 0, "cpuTimeSeconds": "10", "memoryBytes": 1.5e9, "processes": -1, "openFiles": 0, "fileSizeBytes": 1, "outputBytes": 18446744073709551616, "disk": 1},
              "filesystem": {"read": ["/usr", "relative/path", 3], "write": ["/tmp/../etc"], "scratch": "yes"},
              "network": "internet",
              "namespaces": {"user": true, "net": false, "pid": 1},
              "env": {"allow": ["LANG", "A=B"], "set": {"X": 1}},
              "runAs": "no body"
            }
            """
        let found = Profile.check(bytes: bytes(text))
        let expected = [
            "$.colour: unknown key",
            "$.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"",
            "$.seccomp.flags[0]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_NOPE\"",
            "$.seccomp.syscalls[0].names[1]: unknown syscall \"raed\"",
            "$.seccomp.syscalls[1].action: unknown action \"SCMP_ACT_PERMIT\"",
            "$.seccomp.syscalls[2].args[0].op: unknown operator \"SCMP_CMP_IS\"",
            "$.seccomp.syscalls[3].extra: unknown key",
            "$.seccomp.syscalls[3].includes.bogus: unknown key",
            "$.seccomp.syscalls[3].includes.minKernel: invalid kernel version \"five\" (expected MAJOR.MINOR)",
            "$.seccomp.syscalls[4].args[0].valueThree: unknown key",
            "$.seccomp.syscalls[4].args[0].index: argument index 6 is out of range 0...5",
            "$.seccomp.syscalls[4].args[0].value: must not be negative",
            "$.seccomp.syscalls[5].errnoRet: errnoRet is only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
            "$.seccomp.syscalls[6].action: SCMP_ACT_NOTIFY is not supported: Airlock has no seccomp user-notification agent",
            "$.seccomp.syscalls[7]: missing required key \"names\"",
            "$.description: expected a string, found number",
            "$.limits.disk: unknown key",
            "$.limits.wallTimeSeconds: must be greater than 0",
            "$.limits.cpuTimeSeconds: expected a number of seconds, found string",
            "$.limits.memoryBytes: expected a whole number, found 1.5e9",
            "$.limits.processes: must not be negative",
            "$.limits.openFiles: must be greater than 0",
            "$.limits.outputBytes: 18446744073709551616 does not fit in 64 bits",
            "$.filesystem.read[2]: expected a string, found number",
            "$.filesystem.write[0]: path \"/tmp/../etc\" contains \".\" or \"..\"",
            "$.filesystem.scratch: expected true or false, found string",
            "$.network: unknown network mode \"internet\" (expected none, loopback or host)",
            "$.namespaces.net: unknown key (the network is set by \"network\")",
            "$.namespaces.pid: expected true or false, found number",
            "$.env.allow[1]: invalid environment variable name \"A=B\"",
            "$.env.set.X: expected a string, found number",
            "$.runAs: invalid user name \"no body\"",
        ]
        let descriptions = found.map(\.description)
        for line in expected {
            #expect(descriptions.contains(line), "missing: \(line)")
        }
        for line in descriptions where !expected.contains(line) {
            Issue.record("unexpected: \(line)")
        }
        // The relative path is reported too (read[2] is a number, so read stops at the type error).
        let relative = issues(#"{"filesystem": {"read": ["/usr", "relative/path"], "write": [""]}}"#)
        #expect(
            relative == [
                "$.filesystem.read[1]: path \"relative/path\" is not absolute",
                "$.filesystem.write[0]: empty path",
            ])
        // ProfileError lists them all, one per line.
        do {
            _ = try Profile.parse(bytes: bytes(text), name: "broken")
            Issue.record("parse should fail")
        } catch {
            #expect(error.issues == found)
            #expect(error.description.split(separator: "\n").first == "profile broken: $.colour: unknown key")
        }
    }

    @Test func checkRejectsBadJSONAndShapes() {
        #expect(
            issues("{\n \"limits\": {,}}") == ["$: invalid JSON at line 2, column 13: expected a string key, found ','"]
        )
        #expect(issues("[]") == ["$: expected an object, found array"])
        #expect(issues(#"{"seccomp": []}"#) == ["$.seccomp: expected an object, found array"])
        #expect(issues(#"{"seccomp": {"syscalls": []}}"#) == ["$.seccomp: missing required key \"defaultAction\""])
        #expect(
            issues(
                #"{"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5000}]}}"#
            )
                == ["$.seccomp.syscalls[0].errnoRet: errno 5000 is out of range 0...4095"])
        #expect(
            issues(
                #"{"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}}"#
            )
                == ["$.seccomp.archMap: use either \"architectures\" or \"archMap\", not both"])
        #expect(issues(#"{"weird key": 1}"#) == [#"$["weird key"]: unknown key"#])
        // Unknown keys inside a plain seccomp object too.
        #expect(issues(#"{"defaultAction": "SCMP_ACT_ALLOW", "syscals": []}"#) == ["$.syscals: unknown key"])
    }

    @Test func limitsAndDefaults() throws {
        let profile = try Profile.parse(
            bytes: bytes(
                #"{"limits": {"wallTimeSeconds": 0.5, "cpuTimeSeconds": 2, "memoryBytes": 1048576, "outputBytes": null}}"#
            ),
            name: "mini")
        #expect(profile.limits == Limits(wallTimeMs: 500, cpuTimeMs: 2000, memoryBytes: 1 << 20))
        // Missing sections take the model's defaults; a missing seccomp section takes the default profile's.
        #expect(profile.filesystem == FilesystemPolicy())
        #expect(profile.network == .none)
        #expect(profile.namespaces == NamespacePolicy())
        #expect(profile.env == EnvPolicy())
        #expect(profile.runAs == "nobody")
        #expect(profile.seccomp == (try Profile.builtin("default"))?.seccomp)
        #expect(profile.name == "mini")
        #expect(
            try Profile.parse(bytes: bytes("{}"), name: "empty").sha256
                == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        #expect(
            issues(#"{"limits": {"wallTimeSeconds": 0.0001}}"#) == [
                "$.limits.wallTimeSeconds: must be at least 0.001 seconds"
            ])
        #expect(issues(#"{"limits": {"wallTimeSeconds": -3}}"#) == ["$.limits.wallTimeSeconds: must be greater than 0"])
        #expect(
            issues(#"{"limits": {"fileSizeBytes": 1e6}}"#) == [
                "$.limits.fileSizeBytes: expected a whole number, found 1e6"
            ])
        #expect(issues(#"{"limits": []}"#) == ["$.limits: expected an object, found array"])
        #expect(issues(#"{"network": null}"#) == ["$.network: expected a string, found null"])
    }

    @Test func dockerExtensionsResolveForTheHost() throws {
        let seccomp = """
            {
              "defaultAction": "SCMP_ACT_ERRNO",
              "archMap": [
                {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
                {"architecture": "SCMP_ARCH_RISCV64", "subArchitectures": null}
              ],
              "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
                {"names": ["sync_file_range2"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
                {"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["write"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
                {"names": ["close"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.0"}},
                {"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}}
              ]
            }
            """
        func names(_ host: ProfileHost) throws -> (arches: [String], names: [String]) {
            let profile = try Profile.parse(bytes: bytes(seccomp), name: "t", host: host)
            return (profile.seccomp.architectures, profile.seccomp.syscalls.flatMap(\.names))
        }
        let amd64 = ProfileHost(
            architecture: "amd64", seccompArchitecture: "SCMP_ARCH_X86_64", kernel: [6, 1, 0], capabilities: [])
        let result = try names(amd64)
        #expect(result.arches == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        #expect(result.names == ["read", "arch_prctl", "write", "ptrace"])

        var admin = amd64
        admin.capabilities = ["CAP_SYS_ADMIN"]
        #expect(try names(admin).names == ["read", "arch_prctl", "bpf", "ptrace"])

        var old = amd64
        old.kernel = [4, 4, 0]
        #expect(try names(old).names == ["read", "arch_prctl", "write", "close"])
        old.kernel = [4, 8]
        #expect(try names(old).names == ["read", "arch_prctl", "write", "ptrace", "close"])

        let arm = ProfileHost(
            architecture: "arm64", seccompArchitecture: "SCMP_ARCH_AARCH64", kernel: [6, 1], capabilities: [])
        let armResult = try names(arm)
        #expect(armResult.arches == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"])
        #expect(armResult.names == ["read", "sync_file_range2", "write", "ptrace", "getpid"])

        let riscv = ProfileHost(
            architecture: "riscv64", seccompArchitecture: "SCMP_ARCH_RISCV64", kernel: [6, 1], capabilities: [])
        #expect(try names(riscv).arches == ["SCMP_ARCH_RISCV64"])

        // The running host: uname gives a kernel version.
        #expect(ProfileHost.current.kernel.count >= 2)
        #expect(ProfileDecoder.kernelVersion("6.18.44-fc-v669", strict: false) == [6, 18, 44])
        #expect(ProfileDecoder.kernelVersion("4.8", strict: true) == [4, 8])
        #expect(ProfileDecoder.kernelVersion("4.8-rc1", strict: true) == nil)
    }

    @Test func namedFindsPathsSearchPathsAndBuiltins() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let custom = #"{"description": "mine", "network": "loopback"}"#
        try Data(custom.utf8).write(to: dir.appendingPathComponent("mine.json"))
        try Data(#"{"description": "shadow"}"#.utf8).write(to: dir.appendingPathComponent("strict.json"))

        let mine = try Profile.named("mine", searchPaths: [dir.path])
        #expect(mine.name == "mine")
        #expect(mine.network == .loopback)
        #expect(try Profile.named("strict", searchPaths: [dir.path]).description == "shadow")
        #expect(try Profile.named("strict", searchPaths: []).limits.processes == 8)
        #expect(try Profile.named("build", searchPaths: ["/nonexistent", dir.path]).name == "build")

        let byPath = try Profile.named(dir.appendingPathComponent("mine.json").path)
        #expect(byPath.description == "mine")
        #expect(byPath.sha256 == mine.sha256)

        do {
            _ = try Profile.named("nope", searchPaths: [dir.path])
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("no profile named \"nope\""))
            #expect(error.description.contains("default, strict, network-client, build"))
        }
        do {
            _ = try Profile.named(dir.appendingPathComponent("missing.json").path)
            Issue.record("expected an error")
        } catch {
            #expect(error.issues.first?.message.contains("No such file") == true)
        }
        do {
            _ = try Profile.load(path: dir.path)
            Issue.record("expected an error")
        } catch {
            #expect(error.issues.first?.message.contains("not a regular file") == true)
        }
    }

    @Test func plainSeccompObjectBecomesDefaultProfile() throws {
        let profile = try Profile.parse(
            bytes: bytes(
                #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO"}]}"#
            ),
            name: "oci")
        let standard = try #require(try Profile.builtin("default"))
        #expect(
            profile.seccomp
                == SeccompPolicy(defaultAction: .allow, syscalls: [SeccompRule(names: ["ptrace"], action: .errno)]))
        #expect(profile.limits == standard.limits)
        #expect(profile.env == standard.env)
        #expect(profile.name == "oci")
    }
}

// MARK: - Seccomp compiler

@Suite struct SeccompCompilerTests {
    @Test(arguments: NetworkMode.allCases, [true, false])
    func baselineCompilesAndDecides(network: NetworkMode, allowSocketpair: Bool) throws {
        let program = try SeccompCompiler.baseline(network: network, allowSocketpair: allowSocketpair)
        let afUnix: UInt64 = 1
        let afInet: UInt64 = 2
        let high: UInt64 = 1 << 32
        #expect(run(program, "read") == .allow)
        #expect(run(program, "clone3") == .errno(38))
        for name in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
            #expect(run(program, name) == .errno(38))
        }
        // Without network there is no socket() at all (Landlock does not govern connect() to
        // a path-bound AF_UNIX socket); socketpair() gives the tool its own pairs.
        #expect(run(program, "socket", [afUnix, 1, 0]) == (network == .none ? .errno(97) : .allow))
        // High bits in int arguments: the kernel would ignore them, so they are refused.
        #expect([.errno(22), .errno(97)].contains(run(program, "socket", [afInet | high, 1, 0])))
        #expect([.errno(22), .errno(97)].contains(run(program, "socket", [afUnix | high, 1, 0])))
        #expect(run(program, "socket", [afInet, 1 | high, 0]) == .errno(22) || network == .none)
        #expect(run(program, "socket", [afInet, 1, high]) == .errno(22) || network == .none)
        #expect([.errno(22), .errno(97)].contains(run(program, "socket", [afUnix, 1 | high, 0])))
        for family: UInt64 in [0, 16, 17, 40, 38, 31, 29, 44, 45, 46, 200, 0xffff_ffff] {
            #expect(run(program, "socket", [family, 1, 0]) == .errno(97), "family \(family)")
        }
        let inetVerdict: Verdict = network == .none ? .errno(97) : .allow
        #expect(run(program, "socket", [afInet, 1, 0]) == inetVerdict)
        #expect(run(program, "socket", [10, 2, 0]) == inetVerdict)
        for family: UInt64 in 3...9 {
            #expect(run(program, "socket", [family, 1, 0]) == .errno(97))
        }
        // Terminal injection.
        #expect(run(program, "ioctl", [0, 0x5412]) == .errno(1))
        #expect(run(program, "ioctl", [0, 0x541C]) == .errno(1))
        // Overlapping deny rules: either denial may win, never the allow default.
        #expect([.errno(1), .errno(22)].contains(run(program, "ioctl", [0, 0x5412 | high])))
        #expect(run(program, "ioctl", [0, 0x5401 | high]) == .errno(22))
        #expect(run(program, "ioctl", [0, 0x5401]) == .allow)
        #expect(run(program, "ioctl", [0x5412, 0x5401]) == .allow)
        // Without network: pairs for the tool's own processes only.
        let offline = network == .none
        #expect(run(program, "bind", [3, 0, 0]) == (offline ? .errno(1) : .allow))
        #expect(run(program, "connect", [3, 0, 0]) == (offline ? .errno(1) : .allow))
        #expect(run(program, "listen", [3, 1]) == (offline ? .errno(1) : .allow))
        #expect(run(program, "accept4", [3, 0, 0, 0]) == (offline ? .errno(1) : .allow))
        if allowSocketpair {
            let sockCloexec: UInt64 = 0o2000000
            #expect(run(program, "socketpair", [afUnix, 1 | sockCloexec, 0]) == .allow)
            #expect(run(program, "socketpair", [afUnix, 5, 0]) == .allow)  // SOCK_SEQPACKET
            #expect(run(program, "socketpair", [afUnix, 2 | sockCloexec, 0]) == (offline ? .errno(1) : .allow))
            #expect(run(program, "socketpair", [afUnix, 1, 0]) == .allow)
            #expect([.errno(22), .errno(97)].contains(run(program, "socketpair", [afUnix | high, 1, 0])))
            // Pairs are AF_UNIX only: other families' code is never reached.
            for family: UInt64 in [0, 2, 10, 16, 40] {
                #expect(run(program, "socketpair", [family, 1, 0]) == .errno(97), "family \(family)")
            }
        } else {
            #expect(run(program, "socketpair", [afUnix, 1, 0]) == .errno(1))
        }
        // Only the native ABI: 32-bit and x32 syscalls end the process.
        #expect(run(program, "read", arch: Arch.i386, nr: 3) == .killProcess)
        #expect(run(program, "read", nr: 0x4000_0000) == .killProcess)
    }

    @Test func baselineForAToolInAUserNamespaceRefusesMounts() throws {
        let program = try SeccompCompiler.baseline(network: .none, allowSocketpair: true, userNamespace: true)
        for name in ["mount", "umount2", "pivot_root", "unshare", "setns", "open_tree", "move_mount", "fsopen"] {
            #expect(run(program, name) == .errno(1), "\(name)")
        }
        let rootHost = try SeccompCompiler.baseline(network: .none, allowSocketpair: true, userNamespace: false)
        #expect(run(rootHost, "mount") == .allow)  // the profile's own filter decides there
    }

    @Test func cacheReturnsTheSameProgram() throws {
        let policy = SeccompPolicy(
            defaultAction: .allow, syscalls: [SeccompRule(names: ["ptrace"], action: .killProcess)])
        let first = try SeccompCompiler.compile(policy)
        let clock = ContinuousClock()
        var second = first
        let elapsed = try clock.measure { second = try SeccompCompiler.compile(policy) }
        #expect(first == second)
        #expect(elapsed < .milliseconds(50))
        #expect(run(first, "ptrace") == .killProcess)
    }

    @Test func actionsMapToKernelValues() throws {
        let policy = SeccompPolicy(
            defaultAction: .errno, defaultErrnoRet: 13,
            syscalls: [
                SeccompRule(names: ["read"], action: .allow),
                SeccompRule(names: ["write"], action: .killThread),
                SeccompRule(names: ["close"], action: .killThreadExplicit),
                SeccompRule(names: ["getpid"], action: .trap),
                SeccompRule(names: ["getppid"], action: .log),
                SeccompRule(names: ["gettid"], action: .trace, errnoRet: 7),
                SeccompRule(names: ["getuid"], action: .errno),
                SeccompRule(names: ["getgid"], action: .errno, errnoRet: 2),
                SeccompRule(names: ["mount"], action: .killProcess),
                SeccompRule(names: ["mseal"], action: .allow),  // unknown to libseccomp 2.5.4: skipped
            ])
        let program = try SeccompCompiler.compile(policy)
        #expect(run(program, "read") == .allow)
        #expect(run(program, "write") == .killThread)
        #expect(run(program, "close") == .killThread)
        #expect(run(program, "getpid") == .trap)
        #expect(run(program, "getppid") == .log)
        #expect(run(program, "gettid") == .trace(7))
        #expect(run(program, "getuid") == .errno(13))  // an equal-to-default rule is dropped
        #expect(run(program, "getgid") == .errno(2))
        #expect(run(program, "mount") == .killProcess)
        #expect(run(program, "lseek") == .errno(13))
        #expect(SeccompCompiler.skippedSyscalls(in: policy) == ["mseal"])
    }

    @Test func refusesWhatItCannotEnforce() {
        #expect(throws: SeccompError.self) {
            try SeccompCompiler.compile(SeccompPolicy(defaultAction: .notify))
        }
        do {
            _ = try SeccompCompiler.compile(
                SeccompPolicy(defaultAction: .allow, syscalls: [SeccompRule(names: ["mseal"], action: .killProcess)]))
            Issue.record("a deny rule for an unknown syscall must not be skipped")
        } catch {
            #expect(error.code == .unknownSyscall)
        }
        do {
            _ = try SeccompCompiler.compile(
                SeccompPolicy(
                    defaultAction: .allow,
                    syscalls: [
                        SeccompRule(names: ["read"], action: .errno, args: [SeccompArg(index: 7, value: 0, op: .equal)])
                    ]))
            Issue.record("argument index 7 must be refused")
        } catch {
            #expect(error.code == .invalidRule)
        }
    }

    @Test func repeatedArgumentIndexMeansOr() throws {
        let policy = SeccompPolicy(
            defaultAction: .allow,
            syscalls: [
                SeccompRule(
                    names: ["personality"], action: .errno, errnoRet: 5,
                    args: [SeccompArg(index: 0, value: 1, op: .equal), SeccompArg(index: 0, value: 2, op: .equal)]),
                SeccompRule(
                    names: ["kill"], action: .errno, errnoRet: 6,
                    args: [SeccompArg(index: 0, value: 1, op: .equal), SeccompArg(index: 1, value: 9, op: .equal)]),
            ])
        let program = try SeccompCompiler.compile(policy)
        #expect(run(program, "personality", [1]) == .errno(5))
        #expect(run(program, "personality", [2]) == .errno(5))
        #expect(run(program, "personality", [3]) == .allow)
        #expect(run(program, "kill", [1, 9]) == .errno(6))  // different indexes: AND
        #expect(run(program, "kill", [1, 15]) == .allow)
        #expect(run(program, "kill", [2, 9]) == .allow)
    }

    @Test func syscallNamesAndNumbers() {
        #expect(SeccompCompiler.syscallNumber("read") == 0)
        #expect(SeccompCompiler.syscallNumber("openat") == 257)
        #expect(SeccompCompiler.syscallNumber("no_such_call") == nil)
        #expect(SeccompCompiler.syscallNumber("_llseek") == nil)  // exists on other architectures only
        #expect(SeccompCompiler.syscallName(59) == "execve")
        #expect(SeccompCompiler.syscallName(435) == "clone3")
        #expect(SeccompCompiler.syscallName(100_000) == nil)
        #expect(SeccompCompiler.isKnownSyscall("_llseek"))
        #expect(SeccompCompiler.isKnownSyscall("mseal"))
        #expect(!SeccompCompiler.isKnownSyscall("raed"))
    }
}

@Suite struct ProfileRunAsTests {
    @Test(arguments: ["root", "0"])
    func rootIsRefusedByCheck(user: String) {
        let issues = Profile.check(bytes: Array("{\"runAs\": \"\(user)\"}".utf8))
        #expect(issues.contains { $0.path == "$.runAs" }, "\(issues)")
    }
}

/// A long-lived host reuses a profile file's parse only while the file is unchanged.
@Suite struct ProfileFileCacheTests {
    @Test func anEditedProfileFileTakesEffectOnTheNextLoad() throws {
        var template = Array("/tmp/airlock-profile-cache-XXXXXX".utf8CString)
        let dir = try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
        defer { _ = system("rm -rf '\(dir)'") }
        let path = dir + "/p.json"
        func write(_ seconds: Int) {
            let text = "{\"limits\": {\"wallTimeSeconds\": \(seconds)}}"
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
            close(fd)
        }
        write(5)
        #expect(try Profile.named(path).limits.wallTimeMs == 5000)
        #expect(try Profile.named(path).limits.wallTimeMs == 5000)
        write(7)  // same size, new content
        #expect(try Profile.named(path).limits.wallTimeMs == 7000)
        unlink(path)
        #expect(throws: ProfileError.self) { _ = try Profile.named(path) }
    }
}
