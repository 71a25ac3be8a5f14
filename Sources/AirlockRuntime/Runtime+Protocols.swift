import AirlockJournal
import AirlockSandbox
import CAirlockSandbox
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One conversation with an MCP server run in the sandbox.
struct Conversation: Sendable {
    var report: SandboxReport?
    var hostFailure: String?
    var value: JSONValue?
    var error: MCPSessionError?
    /// What the server wrote on its stdout, in bytes.
    var bytesReceived = 0
}

/// Deadlines of one conversation, in CLOCK_MONOTONIC nanoseconds.
struct ConversationDeadlines: Sendable {
    var initialize: UInt64
    var end: UInt64
}

extension Runtime {
    /// How long a server may take to answer `initialize` in a call (its wall-time limit when
    /// shorter). Listing at `tools add` gives it the whole listing budget instead: an operator
    /// waits for that once, and a loaded machine can take long to start an interpreter.
    static let initializeTimeoutMs: UInt64 = 15_000
    /// How long a server may take to exit once its stdin is closed, before it is killed.
    static let serverExitGraceMs: UInt64 = 2_000

    /// Starts `argv` in the sandbox with its stdin and stdout connected to an MCP session, runs
    /// `body` on its own thread, then closes the server's stdin and waits (briefly) for it to
    /// exit. Never throws: every failure is in the answer.
    static func converse(
        argv: [String], profile: Profile, host: [String: String], extra: [String: String], descriptors: [Int32: Int32],
        initializeTimeoutMs: UInt64 = Runtime.initializeTimeoutMs, body: @escaping @Sendable (inout MCPStdioSession, ConversationDeadlines) throws(MCPSessionError) -> JSONValue
    ) async -> Conversation {
        var conversation = Conversation()
        var toServer: [Int32] = [-1, -1]
        var fromServer: [Int32] = [-1, -1]
        guard airlock_pipe_cloexec(&toServer) == 0 else {
            conversation.hostFailure = "cannot create a pipe: \(String(cString: strerror(errno)))"
            return conversation
        }
        guard airlock_pipe_cloexec(&fromServer) == 0 else {
            conversation.hostFailure = "cannot create a pipe: \(String(cString: strerror(errno)))"
            close(toServer[0])
            close(toServer[1])
            return conversation
        }
        // The sandbox takes the child's ends (and closes them once the child has its copies).
        let request = SandboxRequest(
            argv: argv, profile: profile, hostEnvironment: host, extraEnvironment: extra,
            stdin: .descriptor(toServer[0]), stdout: .descriptor(fromServer[1]), stderr: .capture,
            extraDescriptors: descriptors)
        let run = Task { try await Sandbox.run(request) }
        let now = Sandbox.monotonicNanoseconds()
        let wallMs = profile.limits.wallTimeMs ?? 600_000
        let deadlines = ConversationDeadlines(
            initialize: now + min(wallMs, initializeTimeoutMs) * 1_000_000, end: now + wallMs * 1_000_000)
        let ours = (write: toServer[1], read: fromServer[0])
        let (outcome, received): (Result<JSONValue, MCPSessionError>, Int) = await withCheckedContinuation { continuation in
            DetachedThread.start {
                var session = MCPStdioSession(toServer: ours.write, fromServer: ours.read)
                let result: Result<JSONValue, MCPSessionError>
                do throws(MCPSessionError) {
                    result = .success(try body(&session, deadlines))
                } catch {
                    result = .failure(error)
                }
                session.close()
                continuation.resume(returning: (result, session.bytesReceived))
            }
        }
        conversation.bytesReceived = received
        switch outcome {
        case .success(let value): conversation.value = value
        case .failure(let error): conversation.error = error
        }
        // Its stdin is closed: a well-behaved server exits now; one that does not is stopped.
        let grace = Task {
            try await Task.sleep(nanoseconds: serverExitGraceMs * 1_000_000)
            run.cancel()
        }
        do {
            conversation.report = try await run.value
        } catch {
            conversation.hostFailure = "\(error)"
        }
        grace.cancel()
        return conversation
    }

    /// Starts the server of an mcp-stdio manifest in the sandbox and lists its tools.
    static func listServerTools(_ manifest: ToolManifest, profile: Profile) async throws -> (tools: [JSONValue], server: JSONValue) {
        let host = Sandbox.processEnvironment()
        var extra: [String: String] = [:]
        var secrets = Secrets()
        for name in manifest.env { if let value = host[name] { extra[name] = value } }
        for name in manifest.secrets {
            guard let value = host[name] else {
                throw RuntimeError(.usage, "the secret \(name) the server needs is not set in the host's environment")
            }
            extra[name] = value
            secrets.add(name: name, value: value)
        }
        let box = Mutex<JSONValue?>(nil)
        let conversation = await converse(
            argv: manifest.command, profile: profile, host: host, extra: extra, descriptors: [:],
            initializeTimeoutMs: profile.limits.wallTimeMs ?? Self.listingWallTimeMs
        ) {
            session, deadlines throws(MCPSessionError) in
            let server = try session.initialize(deadline: deadlines.initialize)
            box.withLock { $0 = server }
            return .array(try session.listTools(deadline: deadlines.end))
        }
        if let tools = conversation.value?.arrayValue {
            return (tools, box.withLock { $0 } ?? .null)
        }
        var reason = conversation.error.map { "\($0)" } ?? conversation.hostFailure ?? "no answer"
        if let report = conversation.report {
            if let setup = report.setupFailure { reason = setup.message }
            if let tail = stderrTail(report) { reason += "\nits stderr (tail):\n" + tail }
        }
        throw RuntimeError(.usage, "\(manifest.path): could not list the MCP server's tools: \(secrets.scrub(reason))")
    }
}

/// Text from an MCP CallToolResult's content.
enum MCPText {
    static func firstText(_ result: JSONValue) -> String? {
        for item in result["content"]?.arrayValue ?? [] where item["type"]?.stringValue == "text" {
            if let text = item["text"]?.stringValue { return String(text.prefix(2000)) }
        }
        return nil
    }
}

/// Compiled schemas, by their canonical text: a registered tool's schema is compiled once per process.
enum SchemaCache {
    private static let cache = Mutex<[String: JSONSchema]>([:])

    static func schema(for value: JSONValue) throws(JSONSchemaError) -> JSONSchema {
        let key = value.serialized(sortedKeys: true)
        if let known = cache.withLock({ $0[key] }) { return known }
        let compiled = try JSONSchema(value)
        cache.withLock {
            if $0.count > 1000 { $0.removeAll() }
            $0[key] = compiled
        }
        return compiled
    }
}

/// The values of a call's secrets, to scrub from everything the tool sends back.
struct Secrets {
    private var values: [(name: String, bytes: [UInt8])] = []

    /// Values shorter than this are not scrubbed (they would blank out ordinary text).
    static let minimumLength = 4

    var isEmpty: Bool { values.isEmpty }

    mutating func add(name: String, value: String) {
        guard value.utf8.count >= Self.minimumLength else { return }
        values.append((name, Array(value.utf8)))
        values.sort { $0.bytes.count > $1.bytes.count }  // longest first: no partial leftovers
    }

    func scrub(_ bytes: [UInt8]) -> [UInt8] {
        var output = bytes
        for (name, secret) in values { output = Self.replace(secret, in: output, with: Array("[secret:\(name)]".utf8)) }
        return output
    }

    func scrub(_ text: String) -> String {
        isEmpty ? text : String(decoding: scrub(Array(text.utf8)), as: UTF8.self)
    }

    /// Every string (keys too) with the secrets replaced.
    func scrub(_ value: JSONValue) -> JSONValue {
        if isEmpty { return value }
        switch value {
        case .string(let text): return .string(scrub(text))
        case .array(let items): return .array(items.map { scrub($0) })
        case .object(let object):
            var scrubbed = JSONObject()
            for member in object { scrubbed[scrub(member.key)] = scrub(member.value) }
            return .object(scrubbed)
        default: return value
        }
    }

    private static func replace(_ needle: [UInt8], in haystack: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        guard !needle.isEmpty, haystack.count >= needle.count else { return haystack }
        var output: [UInt8] = []
        output.reserveCapacity(haystack.count)
        var i = 0
        let first = needle[0]
        while i < haystack.count {
            if haystack[i] == first, i + needle.count <= haystack.count, haystack[i..<(i + needle.count)].elementsEqual(needle) {
                output.append(contentsOf: replacement)
                i += needle.count
            } else {
                output.append(haystack[i])
                i += 1
            }
        }
        return output
    }
}
