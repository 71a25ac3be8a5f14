import AirlockJournal
import AirlockRuntime
import AirlockSandbox
import GRDB
import Glibc
import Testing

/// A temporary directory for one test: `home` for Airlock, `state` writable by the tool.
final class RuntimeWorkspace {
    let path: String

    init() throws {
        var template = Array("/tmp/airlock-rt-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = try #require(made.map { String(cString: $0) }, "mkdtemp failed")
        chmod(path, 0o755)
        // The tool may run as nobody (root host): its directory is world-writable.
        mkdir(state, 0o777)
        chmod(state, 0o777)
    }

    deinit { remove() }

    var home: String { path + "/home" }
    var state: String { path + "/state" }

    func runtime(_ durability: Durability = .process) throws -> Runtime {
        try Runtime(home: home, durability: durability)
    }

    /// A tool running `script` with /bin/sh, allowed to write `state`.
    func tool(_ name: String, _ effect: EffectClass, _ script: String) throws -> ToolSpec {
        var spec = ToolSpec(
            name: name, version: "1", digest: try Executable.digest(path: "/bin/sh"), command: ["/bin/sh", "-c", script],
            effect: effect)
        spec.allowWrite = [state]
        spec.retry.initialIntervalMs = 5
        spec.retry.maxIntervalMs = 20
        return spec
    }

    /// Lines of a file under `state` (empty when it does not exist).
    func lines(_ name: String) -> [String] {
        guard let text = read(state + "/" + name) else { return [] }
        return text.split(separator: "\n").map(String.init)
    }

    func read(_ file: String) -> String? {
        let fd = open(file, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func write(_ file: String, _ text: String, mode: mode_t = 0o644) {
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, mode)
        precondition(fd >= 0, "cannot write \(file)")
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
        chmod(file, mode)
    }

    func remove() {
        _ = system("rm -rf '\(path)'")
    }
}

/// A step left by a host that died: inserted directly, as a crash would leave it.
func insertOrphan(
    _ runtime: Runtime, spec: ToolSpec, input: JSONValue = [:], key: String, state: StepState = .started
) async throws -> StepRecord {
    let canonical = try input.canonicalized()
    let fingerprint = try Runtime.fingerprint(tool: spec, canonicalInput: canonical)
    return try await runtime.journal.write { tx in
        let now: Int64 = 1_700_000_000_000
        try tx.touchRun(id: "run-orphan", at: now)
        let step = StepRecord(
            id: "st-orphan-\(key)", runId: "run-orphan", key: key, tool: spec.name, toolVersion: spec.version,
            toolDigest: spec.digest, effect: spec.effect, input: canonical, fingerprint: fingerprint, spec: spec.json,
            state: state, attempt: 1, owner: "h-dead-1-00000000", createdAt: now, updatedAt: now)
        try tx.insertStep(step)
        try tx.insertAttempt(AttemptRecord(stepId: step.id, attempt: 1, owner: "h-dead-1-00000000", startedAt: now))
        return step
    }
}

/// Overwrites a step's stored spec with JSON the runtime cannot decode.
func corruptSpec(_ ws: RuntimeWorkspace, stepId: String) throws {
    var config = Configuration()
    config.busyMode = .timeout(10)
    let db = try DatabaseQueue(path: ws.home + "/journal.db", configuration: config)
    try db.write { try $0.execute(sql: "UPDATE steps SET spec = '{\"name\":1}' WHERE id = ?", arguments: [stepId]) }
    try db.close()
}
