// The cost of the parts of a journaled call, each timed alone in a loop, so the gap between a
// journaled and a bare call can be attributed: host-side checks the Runtime makes per call,
// one journal commit per durability mode, and the disk's own `fdatasync`.
import AirlockJournal
import AirlockRuntime
import AirlockSandbox

#if canImport(Glibc)
import Glibc
#endif

/// Median microseconds of `count` runs of `body` (after one untimed run).
func medianUs(_ count: Int, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var times: [Double] = []
    for _ in 0..<count {
        let t0 = nowUs()
        try body()
        times.append(nowUs() - t0)
    }
    return Summary(times).medianUs
}

/// Median microseconds of `count` sequential journal writes of `body`.
func medianWriteUs(
    _ journal: SQLiteJournal, _ count: Int, _ body: @escaping @Sendable (any JournalTransaction, Int) throws -> Void
) async throws -> Double {
    try await journal.write { tx in try body(tx, -1) }
    var times: [Double] = []
    for i in 0..<count {
        let t0 = nowUs()
        try await journal.write { tx in try body(tx, i) }
        times.append(nowUs() - t0)
    }
    return Summary(times).medianUs
}

/// Median microseconds of appending 4 KiB to a file and `fdatasync`-ing it, in `dir`.
func fdatasyncUs(dir: String, count: Int, overwrite: Bool) throws -> Double {
    let path = dir + "/fdatasync-probe"
    let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw BenchError("cannot create \(path): \(String(cString: strerror(errno)))") }
    defer {
        close(fd)
        unlink(path)
    }
    let page = [UInt8](repeating: 0x5a, count: 4096)
    if overwrite {
        // A file that already has its blocks, as a recycled WAL does.
        for i in 0..<count { _ = page.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, off_t(i) * 4096) } }
        fsync(fd)
    }
    var i = 0
    return try medianUs(count) {
        let n = page.withUnsafeBytes {
            pwrite(fd, $0.baseAddress, 4096, off_t(i % max(1, count)) * 4096 + (overwrite ? 0 : off_t(count) * 4096))
        }
        guard n == 4096, fdatasync(fd) == 0 else {
            throw BenchError("write/fdatasync: \(String(cString: strerror(errno)))")
        }
        i += 1
    }
}

/// SHA-256 of a file's bytes, read in 64 KiB pieces (what an uncached `Executable.digest` does).
func sha256(ofFile path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw BenchError("cannot read \(path)") }
    defer { close(fd) }
    var hasher = SHA256Digest()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }
    return SHA256Digest.hex(of: hasher.finalize())
}

/// `airlock-bench parts --home DIR [--count K] [--profile P] CMD`
func partsBench(_ args: ArraySlice<String>) async throws {
    let flags = try Flags(args, known: ["home", "count", "profile"])
    let home = try flags.string("home")
    let count = max(10, try flags.int("count", 100))
    let argv = flags.positional
    guard let path = argv.first else { throw BenchError("no command given") }
    let spec = try benchTool(argv, profile: try flags.string("profile", "default"), effect: .idempotent)
    if mkdir(home, 0o700) != 0 && errno != EEXIST { throw BenchError("cannot create \(home)") }

    var line = JSONLine()
    // What `Runtime.execute` does on the host before each child, besides the sandbox itself.
    line.add("digestUs", try medianUs(count) { _ = try Executable.digest(path: path) })
    // What the digest costs when it is not cached (the first call, or after the file changed).
    line.add("sha256OfToolUs", try medianUs(max(10, count / 5)) { _ = try sha256(ofFile: path) })
    line.add("resolvedProfileUs", try medianUs(count) { _ = try spec.resolvedProfile() })
    line.add("specFromJSONUs", try medianUs(count) { _ = try ToolSpec(json: spec.json) })
    line.add("processEnvironmentUs", medianUs(count) { _ = Sandbox.processEnvironment() })
    let input: JSONValue = ["n": 12345]
    line.add(
        "fingerprintUs",
        try medianUs(count) { _ = try Runtime.fingerprint(tool: spec, canonicalInput: try input.canonicalized()) })

    // What a registered tool's call adds before its intent: the schema (compiled once per
    // process), the validation of the input, and the whole `prepareCall` (registry read, pin
    // check, validation).
    let (manifestPath, schema, sample) = try benchManifest(argv, home: home + "/registry", profile: "default")
    line.add("schemaCompileUs", try medianUs(max(10, count / 5)) { _ = try JSONSchema(schema) })
    let compiled = try JSONSchema(schema)
    line.add("schemaValidateUs", medianUs(count) { precondition(compiled.validate(sample).isEmpty) })
    let runtime = try Runtime(home: home + "/registry", durability: .process)
    _ = try await runtime.addTools(manifestPath: manifestPath, overrides: ToolOverrides(), by: "bench")
    line.add("prepareCallUs", try medianUs(count) { _ = try runtime.prepareCall(tool: "bench", input: sample) })

    // One small commit, back to back, in each durability mode; and the audit link a commit carries.
    for durability in [Durability.process, .power] {
        let journal = try SQLiteJournal(path: "\(home)/parts-\(durability.rawValue).db", durability: durability)
        line.add(
            "commit\(durability == .power ? "Power" : "Process")Us",
            try await medianWriteUs(journal, count) { tx, i in
                try tx.touchRun(id: "run-parts", at: Int64(i))
            })
        if durability == .process {
            let event: JSONObject = [
                "run": "run-parts", "step": "st-0123456789abcdef", "attempt": 1, "outcome": "exited",
            ]
            let perCommit = 50
            let batch = try await medianWriteUs(journal, max(3, count / 10)) { tx, i in
                for _ in 0..<perCommit { try tx.appendAudit(kind: "receipt", at: Int64(i), event: event) }
            }
            line.add("auditAppendUs", batch / Double(perCommit))
        }
    }
    line.add("fdatasyncAppendUs", try fdatasyncUs(dir: home, count: count, overwrite: false))
    line.add("fdatasyncOverwriteUs", try fdatasyncUs(dir: home, count: count, overwrite: true))
    print(line.text)
}
