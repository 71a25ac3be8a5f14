import AirlockRuntime
import AirlockSandbox
import CAirlockSandbox
import Glibc
import Testing

// The host side of the mcp-stdio conversation, against the real reference server and against
// hostile fakes. The servers run outside the sandbox: these tests are about the protocol.

@Suite("MCPStdio session")
struct MCPStdioSessionTests {
    static let timeServer = "/opt/airlock/plugins-venv/bin/mcp-server-time"

    // MARK: - The real reference server

    struct TimeServerTranscript: Sendable {
        var initialize: JSONValue
        var tools: [JSONValue]
        var paris: JSONValue
        var badZone: JSONValue
        var protocolVersion: String?
    }

    @Test("the real mcp-server-time: initialize, tools/list, tools/call")
    func realTimeServer() async throws {
        guard access(Self.timeServer, X_OK) == 0 else {
            Issue.record("\(Self.timeServer) is missing: run scripts/lib.sh airlock_install_plugins (the reference MCP server is not installed)")
            return
        }
        let child = try MCPTestChild.spawn([Self.timeServer])
        let transcript: TimeServerTranscript
        do throws(MCPSessionError) {
            transcript = try await MCPStdioSession.onThread { () throws(MCPSessionError) -> TimeServerTranscript in
                var session = MCPStdioSession(toServer: child.toServer, fromServer: child.fromServer)
                defer { session.close() }
                let deadline = MCPStdioSession.deadline(afterMilliseconds: 30_000)
                let initialize = try session.initialize(deadline: deadline)
                let tools = try session.listTools(deadline: deadline)
                let paris = try session.callTool(
                    name: "get_current_time", arguments: ["timezone": "Europe/Paris"], deadline: deadline)
                let bad = try session.callTool(
                    name: "get_current_time", arguments: ["timezone": "Not/AZone"], deadline: deadline)
                return TimeServerTranscript(
                    initialize: initialize, tools: tools, paris: paris, badZone: bad, protocolVersion: session.protocolVersion)
            }
        } catch {
            _ = child.reap(grace: 0)
            Issue.record("the conversation with mcp-server-time failed: \(error.kind): \(error)")
            return
        }
        // It exits by itself once its input is closed.
        let reaped = child.reap(grace: 5)
        #expect(reaped.exitedByItself, "mcp-server-time did not exit on end of input")

        #expect(transcript.protocolVersion == "2025-06-18")
        #expect(transcript.initialize["capabilities"]?["tools"]?.objectValue != nil)
        #expect(transcript.initialize["serverInfo"]?["name"]?.stringValue != nil)

        let names = transcript.tools.compactMap { $0["name"]?.stringValue }
        #expect(names.contains("get_current_time"))
        #expect(names.contains("convert_time"))
        for tool in transcript.tools {
            #expect(tool["inputSchema"]?["type"]?.stringValue == "object", "\(tool["name"]?.stringValue ?? "?")")
            #expect(tool["annotations"]?["readOnlyHint"]?.boolValue == true, "\(tool["name"]?.stringValue ?? "?")")
        }
        let getTime = transcript.tools.first { $0["name"]?.stringValue == "get_current_time" }
        #expect(getTime?["inputSchema"]?["required"] == ["timezone"])

        #expect(transcript.paris["isError"]?.boolValue != true)
        #expect(transcript.paris["structuredContent"]?["timezone"]?.stringValue == "Europe/Paris")
        #expect(transcript.paris["structuredContent"]?["datetime"]?.stringValue?.isEmpty == false)

        // A bad timezone is a tool error inside a normal result (isError), not a JSON-RPC error.
        #expect(transcript.badZone["isError"]?.boolValue == true)
        let text = transcript.badZone["content"]?.arrayValue?.first?["text"]?.stringValue ?? ""
        #expect(text.contains("Invalid timezone"), "\(text)")
    }

    // MARK: - Hostile servers

    @Test("a server that never answers initialize: timeout near the deadline")
    func neverAnswers() throws {
        let fake = try MCPFakeServer(python: "for _ in sys.stdin: pass")
        defer { fake.finish(grace: 2) }
        var session = fake.session()
        defer { session.close() }
        let started = MCPStdioSession.now()
        let error = expectSessionError { () throws(MCPSessionError) in
            _ = try session.initialize(deadline: MCPStdioSession.deadline(afterMilliseconds: 500))
        }
        let elapsed = Double(MCPStdioSession.now() - started) / 1e9
        #expect(error?.kind == .timeout)
        #expect(error?.phase == "initialize")
        #expect(error?.message.contains("did not answer initialize within 500 ms") == true, "\(error?.message ?? "")")
        #expect(elapsed >= 0.45 && elapsed < 10, "returned after \(elapsed) s")
    }

    @Test("garbage instead of JSON-RPC: malformed, with an excerpt; the session stays failed")
    func garbage() throws {
        let fake = try MCPFakeServer(shell: "read line; echo hello; exec cat >/dev/null")
        defer { fake.finish(grace: 2) }
        var session = fake.session()
        defer { session.close() }
        let error = expectSessionError { () throws(MCPSessionError) in
            _ = try session.initialize(deadline: MCPStdioSession.deadline(afterMilliseconds: 5000))
        }
        #expect(error?.kind == .malformed)
        #expect(error?.message.contains("\"hello\"") == true, "\(error?.message ?? "")")
        let later = expectSessionError { () throws(MCPSessionError) in
            _ = try session.initialize(deadline: MCPStdioSession.deadline(afterMilliseconds: 5000))
        }
        #expect(later?.kind == .malformed)

        // Valid JSON that is not a JSON-RPC 2.0 message is malformed too.
        let other = try MCPFakeServer(shell: #"read line; echo '{"id":1,"result":{}}'; exec cat >/dev/null"#)
        defer { other.finish(grace: 2) }
        var second = other.session()
        defer { second.close() }
        let notRPC = expectSessionError { () throws(MCPSessionError) in
            _ = try second.initialize(deadline: MCPStdioSession.deadline(afterMilliseconds: 5000))
        }
        #expect(notRPC?.kind == .malformed)
        #expect(notRPC?.message.contains("not a JSON-RPC 2.0 message") == true, "\(notRPC?.message ?? "")")
    }

    @Test("a server that exits at once: closed")
    func exitsImmediately() throws {
        let fake = try MCPFakeServer(shell: "exit 0")
        defer { fake.finish(grace: 2) }
        var session = fake.session()
        defer { session.close() }
        let error = expectSessionError { () throws(MCPSessionError) in
            _ = try session.initialize(deadline: MCPStdioSession.deadline(afterMilliseconds: 5000))
        }
        #expect(error?.kind == .closed, "\(error.map { "\($0.kind): \($0)" } ?? "no error")")

        // Exiting in the middle of its answer is the same: closed, not malformed.
        let partial = try MCPFakeServer(shell: #"read line; printf '{"jsonrpc":"2.0","id":1,"res'"#)
        defer { partial.finish(grace: 2) }
        var second = partial.session()
        defer { second.close() }
        let cut = expectSessionError { () throws(MCPSessionError) in
            _ = try second.initialize(deadline: MCPStdioSession.deadline(afterMilliseconds: 5000))
        }
        #expect(cut?.kind == .closed, "\(cut.map { "\($0.kind): \($0)" } ?? "no error")")
        #expect(cut?.message.contains("middle of a message") == true)
    }

    @Test("a 20 MB line with a 1 MiB cap: tooLarge, without reading much past the cap")
    func hugeLine() throws {
        let fake = try MCPFakeServer(python: """
            m = recv()
            sys.stdout.buffer.write(b'{"jsonrpc":"2.0","id":1,"result":"' + b'x' * (20 << 20) + b'"}\\n')
            sys.stdout.flush()
            """)
        defer { fake.finish(grace: 2) }
        var limits = MCPStdioSession.Limits()
        limits.maxMessageBytes = 1 << 20
        var session = fake.session(limits)
        defer { session.close() }
        let error = expectSessionError { () throws(MCPSessionError) in
            _ = try session.initialize(deadline: MCPStdioSession.deadline(afterMilliseconds: 10_000))
        }
        #expect(error?.kind == .tooLarge)
        #expect(session.bytesReceived <= (1 << 20) + (64 << 10), "read \(session.bytesReceived) bytes")
    }

    @Test("server requests, notifications, stray responses, blank lines and batches before the answer")
    func chattyServer() throws {
        let fake = try MCPFakeServer(python: """
            init = recv()
            send({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "hi"}})
            sys.stdout.write("\\n\\r\\n   \\n"); sys.stdout.flush()
            send({"jsonrpc": "2.0", "id": 99, "result": {}})
            send({"jsonrpc": "2.0", "id": "r1", "method": "roots/list"})
            roots = recv()
            send([{"jsonrpc": "2.0", "method": "notifications/progress", "params": {}},
                  {"jsonrpc": "2.0", "id": 5, "method": "ping"}])
            pings = recv()
            sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": init["id"], "result": {"protocolVersion": "2025-03-26",
                "capabilities": {"tools": {}}, "serverInfo": {"name": "fake", "version": "0"}}}) + "\\r\\n")
            sys.stdout.flush()
            initialized = recv()
            seen = []
            while True:
                m = recv()
                seen.append(m)
                if m["method"] == "tools/list":
                    cursor = (m.get("params") or {}).get("cursor")
                    send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
                    if cursor is None:
                        send({"jsonrpc": "2.0", "id": m["id"], "result": {"tools": [{"name": "a", "inputSchema": {"type": "object"}}], "nextCursor": "p2"}})
                    else:
                        send({"jsonrpc": "2.0", "id": m["id"], "result": {"tools": [{"name": "b", "inputSchema": {"type": "object"}}], "cursor": cursor}})
                else:
                    send({"jsonrpc": "2.0", "id": m["id"], "result": {"content": [{"type": "text", "text": "ok"}],
                        "structuredContent": {"roots": roots, "pings": pings, "initialized": initialized, "seen": seen}}})
            """)
        defer { fake.finish(grace: 2) }
        var session = fake.session()
        defer { session.close() }
        let deadline = MCPStdioSession.deadline(afterMilliseconds: 10_000)
        do throws(MCPSessionError) {
            let initialize = try session.initialize(deadline: deadline)
            #expect(initialize["protocolVersion"] == "2025-03-26")
            #expect(session.protocolVersion == "2025-03-26")
            #expect(session.serverInfo?["name"] == "fake")
            let tools = try session.listTools(deadline: deadline)
            #expect(tools.compactMap { $0["name"]?.stringValue } == ["a", "b"])
            let result = try session.callTool(name: "echo", arguments: ["n": .number(JSONNumber(UInt64(12_345_678_901_234_567_890)))], deadline: deadline)
            let seen = result["structuredContent"]
            let roots = seen?["roots"]
            #expect(roots?["id"] == "r1")
            #expect(roots?["error"]?["code"] == -32601)
            #expect(roots?["error"]?["message"] == "method not supported by Airlock")
            #expect(roots?["result"] == nil)
            #expect(seen?["pings"] == [["jsonrpc": "2.0", "id": 5, "result": [:]]])
            #expect(seen?["initialized"]?["method"] == "notifications/initialized")
            #expect(seen?["initialized"]?["id"] == nil)
            let requests = seen?["seen"]?.arrayValue ?? []
            #expect(requests.map { $0["id"] } == [2, 3, 4])
            #expect(requests.first?["params"] == nil)
            #expect(requests.dropFirst().first?["params"] == ["cursor": "p2"])
            #expect(requests.last?["params"]?["name"] == "echo")
            // Python reads the numbers back and writes them again: the exact text survives.
            #expect(requests.last?["params"]?["arguments"]?["n"]?.numberValue?.text == "12345678901234567890")
            #expect(session.notificationsIgnored == 4)
            #expect(session.serverRequestsAnswered == 2)
            #expect(session.strayResponses == 1)
        } catch {
            Issue.record("\(error.kind): \(error)")
        }
    }

    @Test("a server that never reads its input while we write 4 MB: timeout, not a hang")
    func neverReads() throws {
        let fake = try MCPFakeServer(python: """
            m = recv()
            send({"jsonrpc": "2.0", "id": m["id"], "result": {"protocolVersion": "2025-06-18", "capabilities": {}}})
            recv()
            time.sleep(30)
            """)
        defer { fake.finish(grace: 0) }
        var session = fake.session()
        defer { session.close() }
        do throws(MCPSessionError) {
            _ = try session.initialize(deadline: MCPStdioSession.deadline(afterMilliseconds: 10_000))
        } catch {
            Issue.record("\(error.kind): \(error)")
            return
        }
        let big = JSONValue.string(String(repeating: "a", count: 4 << 20))
        let started = MCPStdioSession.now()
        let error = expectSessionError { () throws(MCPSessionError) in
            _ = try session.callTool(name: "t", arguments: ["blob": big], deadline: MCPStdioSession.deadline(afterMilliseconds: 500))
        }
        let elapsed = Double(MCPStdioSession.now() - started) / 1e9
        #expect(error?.kind == .timeout)
        #expect(error?.phase == "tools/call")
        #expect(error?.message.contains("did not read the tools/call request") == true, "\(error?.message ?? "")")
        #expect(elapsed < 10, "returned after \(elapsed) s")
    }

    @Test("a JSON-RPC error answer to tools/call: rpcError with its code; the session goes on")
    func rpcError() throws {
        let fake = try MCPFakeServer(python: """
            m = recv()
            send({"jsonrpc": "2.0", "id": m["id"], "result": {"protocolVersion": "2024-11-05", "capabilities": {"tools": {}}}})
            recv()
            while True:
                m = recv()
                if m["params"]["name"] == "nope":
                    send({"jsonrpc": "2.0", "id": m["id"], "error": {"code": -32602, "message": "Unknown tool: nope"}})
                else:
                    send({"jsonrpc": "2.0", "id": m["id"], "result": {"content": [], "isError": False}})
            """)
        defer { fake.finish(grace: 2) }
        var session = fake.session()
        defer { session.close() }
        let deadline = MCPStdioSession.deadline(afterMilliseconds: 10_000)
        let error = expectSessionError { () throws(MCPSessionError) in
            _ = try session.initialize(deadline: deadline)
            _ = try session.callTool(name: "nope", arguments: [:], deadline: deadline)
        }
        #expect(error?.kind == .rpcError)
        #expect(error?.rpcCode == -32602)
        #expect(error?.phase == "tools/call")
        #expect(error?.message.contains("Unknown tool: nope") == true, "\(error?.message ?? "")")
        do throws(MCPSessionError) {
            let next = try session.callTool(name: "fine", arguments: [:], deadline: deadline)
            #expect(next["isError"] == false)
        } catch {
            Issue.record("after an rpcError the session should go on: \(error.kind): \(error)")
        }
    }

    @Test("an unknown protocol version: protocolMismatch")
    func unknownVersion() throws {
        let fake = try MCPFakeServer(python: """
            m = recv()
            send({"jsonrpc": "2.0", "id": m["id"], "result": {"protocolVersion": "1999-01-01", "capabilities": {}}})
            for _ in sys.stdin: pass
            """)
        defer { fake.finish(grace: 2) }
        var session = fake.session()
        defer { session.close() }
        let error = expectSessionError { () throws(MCPSessionError) in
            _ = try session.initialize(deadline: MCPStdioSession.deadline(afterMilliseconds: 10_000))
        }
        #expect(error?.kind == .protocolMismatch)
        #expect(error?.message.contains("1999-01-01") == true, "\(error?.message ?? "")")
    }
}

// MARK: - Support

/// Runs `body` and returns the session error it threw; records an issue when it threw none.
private func expectSessionError(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws(MCPSessionError) -> Void
) -> MCPSessionError? {
    do throws(MCPSessionError) {
        try body()
    } catch {
        return error
    }
    Issue.record("expected an MCPSessionError, got none", sourceLocation: sourceLocation)
    return nil
}

/// A child started with posix_spawn, its stdin and stdout on pipes, in its own process group.
private struct MCPTestChild: Sendable {
    let pid: pid_t
    let toServer: Int32
    let fromServer: Int32

    static func spawn(_ argv: [String]) throws -> MCPTestChild {
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        try #require(airlock_pipe_cloexec(&input) == 0)
        try #require(airlock_pipe_cloexec(&output) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The host ignores SIGPIPE; the child gets the default back, and a group of its own.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, environ)
        close(input[0])
        close(output[1])
        guard result == 0 else {
            close(input[1])
            close(output[0])
            throw MCPTestFailure("posix_spawn \(argv[0]) failed: errno \(result)")
        }
        return MCPTestChild(pid: pid, toServer: input[1], fromServer: output[0])
    }

    /// Waits up to `grace` seconds for the child to exit by itself, then kills its group.
    func reap(grace: Double) -> (exitedByItself: Bool, status: Int32) {
        var status: Int32 = 0
        let limit = MCPStdioSession.now() + UInt64(grace * 1e9)
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid {
                kill(-pid, SIGKILL)
                return (true, status)
            }
            if done < 0 && errno != EINTR { return (false, status) }
            if MCPStdioSession.now() >= limit { break }
            usleep(10_000)
        }
        kill(-pid, SIGKILL)
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (false, status)
    }
}

private struct MCPTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fake MCP server: a script in a temporary directory of its own, already started.
private final class MCPFakeServer {
    let directory: String
    let child: MCPTestChild

    static let pythonPrelude = """
        import sys, json, time
        def send(o):
            sys.stdout.write(json.dumps(o) + "\\n")
            sys.stdout.flush()
        def recv():
            line = sys.stdin.readline()
            if not line:
                sys.exit(0)
            return json.loads(line)

        """

    convenience init(python body: String) throws {
        try self.init(script: Self.pythonPrelude + body + "\n", argv: { Self.python + [$0] })
    }

    convenience init(shell body: String) throws {
        try self.init(script: body + "\n", argv: { ["/bin/sh", $0] })
    }

    init(script: String, argv: (String) -> [String]) throws {
        var template = Array("/tmp/airlock-mcp-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        directory = try #require(made.map { String(cString: $0) }, "mkdtemp failed")
        let path = directory + "/server"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        let bytes = Array(script.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        try #require(written == bytes.count)
        child = try MCPTestChild.spawn(argv(path))
    }

    /// python3 without a version-manager shim in front when the system one is there.
    static let python: [String] = {
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] where access(candidate, X_OK) == 0 {
            return [candidate]
        }
        return ["/usr/bin/env", "python3"]
    }()

    func session(_ limits: MCPStdioSession.Limits = .init()) -> MCPStdioSession {
        MCPStdioSession(toServer: child.toServer, fromServer: child.fromServer, limits: limits)
    }

    /// Reaps the child (killing it after `grace` seconds) and removes the directory.
    func finish(grace: Double) {
        _ = child.reap(grace: grace)
        _ = system("rm -rf '\(directory)'")
    }
}
