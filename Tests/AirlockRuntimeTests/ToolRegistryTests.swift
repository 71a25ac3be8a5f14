import AirlockJournal
import AirlockRuntime
import AirlockSandbox
import Foundation
import Glibc
import Testing

/// The example plugins of `examples/tools/`, copied into a test's own directory.
extension RuntimeWorkspace {
    static let repoRoot: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()

    /// Copies `examples/tools/NAME` to `plugins/NAME` (data directories made writable by the
    /// tool's user) and returns the copy's directory.
    func plugin(_ name: String) throws -> String {
        let target = path + "/plugins/" + name
        // In-process, not system(): a shell spawned from this busy, many-threaded test process
        // failed to start once under load (status 127).
        try FileManager.default.createDirectory(atPath: path + "/plugins", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.repoRoot + "/examples/tools/" + name, toPath: target)
        try Self.makeReadableByAll(path + "/plugins")
        for data in ["notes", "ledger"] where name == "note-writer" && data == "notes" || name == "ledger" && data == "ledger" {
            mkdir(target + "/" + data, 0o777)
            chmod(target + "/" + data, 0o777)
        }
        return target
    }

    /// A plugin directory of the test's own, with a manifest and an executable script.
    func customPlugin(_ name: String, manifest: String, script: String, scriptName: String = "tool.sh") -> String {
        let dir = path + "/custom/" + name
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try? Self.makeReadableByAll(path + "/custom")
        write(dir + "/airlock-tool.yaml", manifest)
        write(dir + "/" + scriptName, script, mode: 0o755)
        return dir
    }

    /// `chmod -R a+rX`: the tool's unprivileged user must read the plugin's files.
    static func makeReadableByAll(_ root: String) throws {
        var paths = [root]
        if let walker = FileManager.default.enumerator(atPath: root) {
            for case let relative as String in walker { paths.append(root + "/" + relative) }
        }
        for item in paths {
            var st = stat()
            guard lstat(item, &st) == 0, (st.st_mode & S_IFMT) != S_IFLNK else { continue }
            var mode = st.st_mode & 0o7777 | 0o444
            if (st.st_mode & S_IFMT) == S_IFDIR || st.st_mode & 0o111 != 0 { mode |= 0o111 }
            chmod(item, mode)
        }
    }

    func stepCount(_ runtime: Runtime) throws -> Int { try runtime.journal.steps(StepFilter()).count }
}

/// Expects `body` to throw a RuntimeError whose message contains every fragment.
func expectRuntimeError(_ code: RuntimeError.Code, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected a \(code.rawValue) error containing \(fragments)", sourceLocation: sourceLocation)
    } catch let error as RuntimeError {
        #expect(error.code == code, "\(error.code): \(error.message)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(error.message.contains(fragment), "missing \(fragment.debugDescription) in: \(error.message)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct ToolRegistryTests {
    // MARK: - Manifests

    @Test func readOnlyYAMLPluginRegistersValidatesAndRuns() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let dir = try ws.plugin("word-count")
        let added = try await runtime.addTools(manifestPath: dir + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "test")
        #expect(added.map(\.name) == ["word-count"])
        let tool = try #require(try runtime.registeredTool("word-count"))
        #expect(tool.spec.effect == .readOnly)
        #expect(tool.spec.protocolKind == .jsonStdio)
        #expect(tool.spec.command == [dir + "/tool.py"])
        #expect(tool.spec.digest == (try Executable.digest(path: dir + "/tool.py")))
        #expect(tool.annotations["readOnlyHint"] == true && tool.annotations["openWorldHint"] == false)

        let answer = try await runtime.callTool("word-count", input: ["text": "one two three\nfour"], key: "wc-1")
        #expect(answer.status == .succeeded, "\(answer.message) \(answer.step.error ?? .null)")
        #expect(answer.result == ["words": 4, "lines": 2, "characters": 18])
        // Replayed by key, not run again.
        let again = try await runtime.callTool("word-count", input: ["text": "one two three\nfour"], key: "wc-1")
        #expect(again.replayed && again.result == answer.result)
    }

    @Test func invalidInputIsRefusedWithEveryPathAndKeywordBeforeAnythingIsJournaled() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let dir = try ws.plugin("ledger")
        _ = try await runtime.addTools(manifestPath: dir + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "test")
        await expectRuntimeError(.invalidInput, ["/amount", "type", "/account", "pattern", "extra", "additionalProperties"]) {
            _ = try await runtime.callTool("ledger", input: ["account": "NOT VALID", "amount": "5", "extra": true])
        }
        await expectRuntimeError(.invalidInput, ["required", "amount"]) {
            _ = try await runtime.callTool("ledger", input: ["account": "alice"])
        }
        await expectRuntimeError(.notFound, ["no tool named nope"]) {
            _ = try await runtime.callTool("nope", input: [:])
        }
        #expect(try ws.stepCount(runtime) == 0, "a refused input was journaled")
        #expect(ws.read(dir + "/ledger/ledger.txt") == nil, "a refused input ran the tool")
    }

    @Test func manifestErrorsNameTheirJSONPath() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let script = "#!/bin/sh\necho '{}'\n"
        func manifest(_ body: String) -> String {
            "name: t\nversion: '1'\ndescription: d\nprotocol: json-stdio\ncommand: [./tool.sh]\neffect: read-only\ninputSchema: {type: object}\n" + body
        }
        let cases: [(String, String, [String])] = [
            ("unknown", manifest("colour: red\n"), ["/colour", "unknown key"]),
            ("badretry", manifest("retry: {maxAtempts: 2}\n"), ["/retry/maxAtempts", "unknown key"]),
            ("badlimit", manifest("limits: {wallTimeSeconds: -1}\n"), ["/limits/wallTimeSeconds"]),
            ("schema", manifest("outputSchema: {type: 12}\n"), ["/outputSchema", "invalid JSON Schema"]),
            ("write-etc", manifest("filesystem: {write: [/etc]}\n"), ["/filesystem/write/0", "system directory"]),
            ("secrets", manifest("secrets: [AIRLOCK_X, 'bad name']\n"), ["/secrets/0", "/secrets/1"]),
            ("norway", manifest("approval: no\n"), ["/approval", "never, always", "\"no\""]),
            ("escape", "name: t\nversion: '1'\ndescription: d\nprotocol: json-stdio\ncommand: [../outside/tool.sh]\neffect: read-only\ninputSchema: {type: object}\n", ["/command/0", "outside the manifest's directory"]),
            ("noexec", "name: t\nversion: '1'\ndescription: d\nprotocol: json-stdio\ncommand: [./data.txt]\neffect: read-only\ninputSchema: {type: object}\n", ["/command/0", "not executable"]),
            ("missing", "name: t\nversion: '1'\ndescription: d\nprotocol: json-stdio\ncommand: [./nope]\neffect: read-only\ninputSchema: {type: object}\n", ["/command/0", "No such file"]),
            ("badname", "name: 'has space'\nversion: '1'\ndescription: d\nprotocol: json-stdio\ncommand: [./tool.sh]\neffect: sometimes\ninputSchema: {type: array}\n", ["/name", "/effect", "/inputSchema/type"]),
            ("noschema", "name: t\nversion: '1'\ndescription: d\nprotocol: json-stdio\ncommand: [./tool.sh]\neffect: read-only\n", ["/inputSchema", "required"]),
            ("protocol", "name: t\nversion: '1'\ndescription: d\nprotocol: grpc\ncommand: [./tool.sh]\n", ["/protocol", "json-stdio or mcp-stdio"]),
            ("bomb", manifest("x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + (1...6).map { "x\($0): &a\($0) [" + Array(repeating: $0 == 1 ? "*a" : "*a\($0 - 1)", count: 10).joined(separator: ", ") + "]\n" }.joined()), ["more than 100000 YAML nodes"]),
            ("duplicate", manifest("name: again\n"), ["duplicated key"]),
        ]
        _ = system("mkdir -p '\(ws.path)/custom/outside' && printf '#!/bin/sh\\n' > '\(ws.path)/custom/outside/tool.sh' && chmod 755 '\(ws.path)/custom/outside/tool.sh'")
        for (name, text, fragments) in cases {
            let dir = ws.customPlugin(name, manifest: text, script: script)
            ws.write(dir + "/data.txt", "not a program")
            await expectRuntimeError(.usage, fragments) {
                _ = try await runtime.addTools(manifestPath: dir + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "test")
            }
        }
        // The home itself is off limits.
        let home = ws.customPlugin("home", manifest: manifest("filesystem: {read: ['\(ws.home)']}\n"), script: script)
        await expectRuntimeError(.usage, ["/filesystem/read/0", "Airlock's own home"]) {
            _ = try await runtime.addTools(manifestPath: home + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "test")
        }
        let json = ws.customPlugin("json", manifest: "", script: script)
        ws.write(json + "/m.json", #"{"name": "t", "version": "1", "description": "d", "protocol": "json-stdio", "command": ["./tool.sh"], "effect": "read-only", "inputSchema": {"type": "object"}, "env": [1]}"#)
        await expectRuntimeError(.usage, ["/env/0", "must be a string"]) {
            _ = try await runtime.addTools(manifestPath: json + "/m.json", overrides: ToolOverrides(), by: "test")
        }
        ws.write(json + "/broken.json", #"{"name": "t", "#)
        await expectRuntimeError(.usage, ["not valid JSON"]) {
            _ = try await runtime.addTools(manifestPath: json + "/broken.json", overrides: ToolOverrides(), by: "test")
        }
        #expect(try runtime.registeredTools().isEmpty)
    }

    // MARK: - Pinned digests and overrides

    @Test func aChangedBinaryIsRefusedUntilAddedAgainAndEveryChangeIsAudited() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let dir = try ws.plugin("word-count")
        let manifest = dir + "/airlock-tool.yaml"
        _ = try await runtime.addTools(manifestPath: manifest, overrides: ToolOverrides(), by: "alice")
        #expect(try runtime.verifyTools().map(\.status) == [.ok])
        // The plugin is swapped for something else.
        ws.write(dir + "/tool.py", "#!/usr/bin/python3 -I\nprint('{\"words\": 0, \"lines\": 0, \"characters\": 0}')\n", mode: 0o755)
        await expectRuntimeError(.untrusted, ["tool.py changed", "airlock tools add"]) {
            _ = try await runtime.callTool("word-count", input: ["text": "a b"])
        }
        #expect(try ws.stepCount(runtime) == 0)
        let verification = try runtime.verifyTools()
        #expect(verification.first?.status == .changed)
        #expect(verification.first?.problems.contains { $0.contains("tool.py changed") } == true)
        // A step created before the change is refused at run time too (resume path).
        // The operator looks at it and approves the new binary.
        _ = try await runtime.addTools(manifestPath: manifest, overrides: ToolOverrides(), by: "alice")
        let answer = try await runtime.callTool("word-count", input: ["text": "a b"])
        #expect(answer.status == .succeeded && answer.result == ["words": 0, "lines": 0, "characters": 0])
        // The manifest itself is pinned too.
        ws.write(manifest, (ws.read(manifest) ?? "") + "\n# edited\n")
        #expect(try runtime.verifyTools().first?.problems.contains { $0.contains("manifest") } == true)
        try await runtime.removeTool(name: "word-count", by: "bob")
        #expect(try runtime.registeredTools().isEmpty)
        var kinds: [String] = []
        try runtime.journal.forEachAuditEntry { entry in
            if let kind = (try? JSONValue.parse(entry.entry))?["kind"]?.stringValue { kinds.append(kind) }
        }
        #expect(kinds.filter { $0.hasPrefix("tool_") } == ["tool_added", "tool_replaced", "tool_removed"])
        #expect(try runtime.journal.verifyAudit().ok)
    }

    @Test func theOperatorOverridesThePluginsWordAndTheOverrideSurvivesReAdding() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let dir = try ws.plugin("word-count")
        var overrides = ToolOverrides()
        overrides.approval = .always
        overrides.effect = .idempotent
        _ = try await runtime.addTools(manifestPath: dir + "/airlock-tool.yaml", overrides: overrides, by: "ops")
        var tool = try #require(try runtime.registeredTool("word-count"))
        #expect(tool.spec.effect == .idempotent && tool.declared["effect"] == "read-only")
        let waiting = try await runtime.callTool("word-count", input: ["text": "x"], key: "needs-ok")
        #expect(waiting.status == .awaitingApproval)
        _ = try await runtime.approve(waiting.step.id, by: "ops", reason: "fine", expiresInSeconds: nil)
        let ran = try await runtime.callTool("word-count", input: ["text": "x"], key: "needs-ok")
        #expect(ran.status == .succeeded, "\(ran.message)")
        // Re-adding (say, after a plugin update) keeps the operator's overrides.
        _ = try await runtime.addTools(manifestPath: dir + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "ops")
        tool = try #require(try runtime.registeredTool("word-count"))
        #expect(tool.spec.approval == .always && tool.spec.effect == .idempotent)
        _ = try await runtime.addTools(manifestPath: dir + "/airlock-tool.yaml", overrides: ToolOverrides(), replaceOverrides: true, by: "ops")
        tool = try #require(try runtime.registeredTool("word-count"))
        #expect(tool.spec.approval == .never && tool.spec.effect == .readOnly)
    }

    // MARK: - json-stdio

    @Test func idempotentWriterReportsItsEffectAndNonIdempotentLedgerReconcilesAfterACrash() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let notes = try ws.plugin("note-writer")
        _ = try await runtime.addTools(manifestPath: notes + "/airlock-tool.json", overrides: ToolOverrides(), by: "t")
        let written = try await runtime.callTool("note-writer", input: ["name": "todo", "content": "milk"], key: "n1")
        #expect(written.status == .succeeded, "\(written.message) \(written.step.error ?? .null)")
        #expect(ws.read(notes + "/notes/todo.txt") == "milk")
        #expect(written.receipt?["effects"] == [["kind": "file.write", "target": "notes/todo.txt"]])

        let ledger = try ws.plugin("ledger")
        _ = try await runtime.addTools(manifestPath: ledger + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        let spec = try #require(try runtime.registeredTool("ledger")).spec
        #expect(spec.reconcile == [ledger + "/reconcile.py"])
        #expect(spec.pins.keys.contains(ledger + "/reconcile.py"))
        // A host died after the payment was appended: the probe finds it, nothing runs twice.
        let orphan = try await insertOrphan(runtime, spec: spec, input: ["account": "alice", "amount": 5], key: "pay-1")
        ws.write(ledger + "/ledger/ledger.txt", "pay-1 alice 5\n", mode: 0o666)
        _ = try await runtime.resume()
        let step = try #require(try runtime.journal.step(idOrKey: orphan.id))
        #expect(step.state == .succeeded)
        #expect(step.result?["reference"] == "pay-1")
        #expect(ws.read(ledger + "/ledger/ledger.txt") == "pay-1 alice 5\n")
        // Exit 3 is declared "nothing written": retried; the retry pays once.
        ws.write(ledger + "/ledger/closed", "")
        chmod(ledger + "/ledger/closed", 0o666)
        let closed = try await runtime.callTool("ledger", input: ["account": "bob", "amount": 7], key: "pay-2")
        #expect(closed.status == .failed)
        #expect(try runtime.journal.attempts(stepId: closed.step.id).count == 2)
        #expect(ws.read(ledger + "/ledger/ledger.txt") == "pay-1 alice 5\n")
    }

    @Test func badOutputsAndHostilePluginsEndAsReceiptsAndTheHostCarriesOn() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        func plugin(_ name: String, effect: String = "idempotent", extra: String = "", _ script: String) async throws {
            let manifest = "name: \(name)\nversion: '1'\ndescription: d\nprotocol: json-stdio\ncommand: [./tool.sh]\neffect: \(effect)\ninputSchema: {type: object}\n\(extra)"
            let dir = ws.customPlugin(name, manifest: manifest, script: "#!/bin/sh\n" + script)
            _ = try await runtime.addTools(manifestPath: dir + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        }
        try await plugin("notjson", "cat >/dev/null; echo 'hello, not JSON'")
        try await plugin("twovalues", "cat >/dev/null; echo '{} {}'")
        try await plugin("silent", "cat >/dev/null")
        try await plugin("wrongshape", extra: "outputSchema: {type: object, required: [n]}\n", "cat >/dev/null; echo '{\"m\": 1}'")
        try await plugin("garbagefd3", "cat >/dev/null; printf 'not json\\n{\"kind\":\"x\",\"target\":\"t\"}\\n\\377\\376\\n' >&3; echo '{\"ok\": true}'")
        try await plugin("nostdin", extra: "limits: {wallTimeSeconds: 20}\n", "echo '{\"ignored\": true}'")
        try await plugin("crash", "sh -c 'kill -SEGV $$'")
        for name in ["notjson", "twovalues", "silent", "wrongshape"] {
            let answer = try await runtime.callTool(name, input: [:])
            #expect(answer.status == .failed, "\(name): \(answer.message)")
            #expect(answer.step.error?["code"] == "bad_output", "\(name): \(answer.step.error ?? .null)")
            #expect(try runtime.journal.attempts(stepId: answer.step.id).last?.receipt?["outputProblem"] != nil)
        }
        let fd3 = try await runtime.callTool("garbagefd3", input: [:])
        #expect(fd3.status == .succeeded)
        let effects = fd3.receipt?["effects"]?.arrayValue ?? []
        #expect(effects.count == 3)
        #expect(effects.filter { $0["malformed"] != nil }.count == 2)
        #expect(effects.contains(["kind": "x", "target": "t"]))
        // A plugin that never reads its stdin, given an 8 MiB input: it answers and is done.
        let big = JSONValue.object(["blob": .string(String(repeating: "x", count: 8 << 20))])
        let nostdin = try await runtime.callTool("nostdin", input: big)
        #expect(nostdin.status == .succeeded, "\(nostdin.message)")
        let crash = try await runtime.callTool("crash", input: [:])
        #expect(crash.status == .failed && crash.step.error?["exitCode"] == 139, "\(crash.step.error ?? .null)")
        // An input over the limit is refused before the journal.
        let huge = JSONValue.object(["blob": .string(String(repeating: "x", count: 17 << 20))])
        await expectRuntimeError(.usage, ["MiB"]) { _ = try await runtime.callTool("nostdin", input: huge) }
        // And the host still works.
        #expect(try await runtime.callTool("garbagefd3", input: ["again": true]).status == .succeeded)
    }

    @Test func secretsReachTheToolButNeverTheJournal() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let secret = "s3cr3t-\(getpid())-value"
        setenv("AIRLOCK_TEST_API_TOKEN_\(getpid())", secret, 1)
        defer { unsetenv("AIRLOCK_TEST_API_TOKEN_\(getpid())") }
        let variable = "AIRLOCK_TEST_API_TOKEN_\(getpid())"
        // AIRLOCK_* names are the host's own: a manifest may not ask for them.
        let refused = ws.customPlugin("refused", manifest: "name: t\nversion: '1'\ndescription: d\nprotocol: json-stdio\ncommand: [./tool.sh]\neffect: read-only\ninputSchema: {type: object}\nsecrets: [\(variable)]\n", script: "#!/bin/sh\n")
        await expectRuntimeError(.usage, ["/secrets/0"]) {
            _ = try await runtime.addTools(manifestPath: refused + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        }
        setenv("TEST_API_TOKEN", secret, 1)
        defer { unsetenv("TEST_API_TOKEN") }
        let dir = ws.customPlugin("leaky", manifest: "name: leaky\nversion: '1'\ndescription: d\nprotocol: json-stdio\ncommand: [./tool.sh]\neffect: read-only\ninputSchema: {type: object}\nsecrets: [TEST_API_TOKEN]\n", script: """
            #!/bin/sh
            cat >/dev/null
            echo "token is $TEST_API_TOKEN" >&2
            echo "{\\"kind\\":\\"api.call\\",\\"target\\":\\"$TEST_API_TOKEN\\"}" >&3
            echo "{\\"echo\\": \\"$TEST_API_TOKEN\\", \\"length\\": ${#TEST_API_TOKEN}}"
            """)
        _ = try await runtime.addTools(manifestPath: dir + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        let answer = try await runtime.callTool("leaky", input: [:])
        #expect(answer.status == .succeeded, "\(answer.message)")
        #expect(answer.result?["echo"] == "[secret:TEST_API_TOKEN]")
        #expect(answer.result?["length"] == .number(JSONNumber(secret.count)), "the tool did not get the secret")
        #expect(answer.receipt?["stderrTail"]?.stringValue?.contains("[secret:TEST_API_TOKEN]") == true)
        #expect(answer.receipt?["effects"] == [["kind": "api.call", "target": "[secret:TEST_API_TOKEN]"]])
        // Not in the journal's bytes at all (the database file and its WAL).
        for file in ["/journal.db", "/journal.db-wal"] {
            let bytes = Array((ws.read(ws.home + file) ?? "").utf8)
            #expect(!bytes.isEmpty || file.hasSuffix("wal"))
            let needle = Array(secret.utf8)
            let found = bytes.count >= needle.count && (0...(bytes.count - needle.count)).contains { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
            #expect(!found, "the secret is in \(file)")
        }
        // A secret written escaped inside JSON is scrubbed too (the parsed result is scrubbed).
        setenv("TEST_UNICODE_TOKEN", "pässwörd-Xyz9", 1)
        defer { unsetenv("TEST_UNICODE_TOKEN") }
        let escaped = ws.customPlugin("escaped", manifest: "name: escaped\nversion: '1'\ndescription: d\nprotocol: json-stdio\ncommand: [./tool.py]\neffect: read-only\ninputSchema: {type: object}\nsecrets: [TEST_UNICODE_TOKEN]\n", script: "#!/usr/bin/python3 -I\nimport json, os, sys\nsys.stdin.read()\nprint(json.dumps({'t': os.environ['TEST_UNICODE_TOKEN']}))\n", scriptName: "tool.py")
        _ = try await runtime.addTools(manifestPath: escaped + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        let scrubbed = try await runtime.callTool("escaped", input: [:])
        #expect(scrubbed.result == ["t": "[secret:TEST_UNICODE_TOKEN]"], "\(scrubbed.result ?? .null)")
        // A missing secret is refused before anything is journaled: the key is not spent.
        unsetenv("TEST_API_TOKEN")
        let before = try ws.stepCount(runtime)
        await expectRuntimeError(.usage, ["TEST_API_TOKEN", "not set"]) { _ = try await runtime.callTool("leaky", input: ["n": 2], key: "later") }
        #expect(try ws.stepCount(runtime) == before)
        setenv("TEST_API_TOKEN", secret, 1)
        #expect(try await runtime.callTool("leaky", input: ["n": 2], key: "later").status == .succeeded)
        // An MCP server that echoes the secret in its error: scrubbed there too.
        setenv("TEST_MCP_TOKEN", "mcp-token-\(getpid())-abcdef", 1)
        defer { unsetenv("TEST_MCP_TOKEN") }
        let mcp = ws.customPlugin("mcpleak", manifest: "name: mcpleak\nversion: '1'\ndescription: d\nprotocol: mcp-stdio\ncommand: [./server.py]\neffect: read-only\nsecrets: [TEST_MCP_TOKEN]\nlimits: {wallTimeSeconds: 30}\n", script: "#!/usr/bin/python3 -I\nimport json, os, sys, time\n" + MCPPluginTests.handshake + "send({'jsonrpc': '2.0', 'id': r['id'], 'error': {'code': -32000, 'message': 'auth failed with ' + os.environ['TEST_MCP_TOKEN']}})\n", scriptName: "server.py")
        _ = try await runtime.addTools(manifestPath: mcp + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        let leaked = try await runtime.callTool("mcpleak__act", input: [:])
        #expect(leaked.status == .failed)
        let message = leaked.step.error?["message"]?.stringValue ?? ""
        #expect(message.contains("auth failed with [secret:TEST_MCP_TOKEN]"), "\(message)")
        #expect(leaked.receipt?["stdoutBytes"]?.numberValue?.int64 ?? 0 > 0, "the conversation's size is in the receipt")
        for file in ["/journal.db", "/journal.db-wal"] {
            let text = ws.read(ws.home + file) ?? ""
            #expect(!text.contains("mcp-token-\(getpid())-abcdef"), "the MCP secret is in \(file)")
            #expect(!text.contains("pässwörd") && !text.contains("p\\u00e4ssw"), "the escaped secret is in \(file)")
        }
    }

    // MARK: - Grants and pins a plugin could abuse

    @Test func grantsInsideWritableGrantsAreRefusedAndASwappedGrantIsNotFollowed() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let base = "name: t\nversion: '1'\ndescription: d\nprotocol: json-stdio\ncommand: [./tool.sh]\neffect: read-only\ninputSchema: {type: object}\n"
        let nested = ws.customPlugin("nested", manifest: base + "filesystem: {write: [./box], read: [./box/inner]}\n", script: "#!/bin/sh\n")
        _ = system("mkdir -p '\(nested)/box/inner'")
        await expectRuntimeError(.usage, ["/filesystem/read/0", "inside the writable"]) {
            _ = try await runtime.addTools(manifestPath: nested + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        }
        // A granted directory replaced by a symlink after `add` (by anyone) is refused at run time.
        let swapped = ws.customPlugin("swapped", manifest: base.replacing("name: t", with: "name: swapped") + "filesystem: {read: [./data]}\n", script: "#!/bin/sh\necho '{}'\n")
        _ = system("mkdir -p '\(swapped)/data'")
        _ = try await runtime.addTools(manifestPath: swapped + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        #expect(try await runtime.callTool("swapped", input: [:]).status == .succeeded)
        _ = system("rmdir '\(swapped)/data' && ln -s '\(ws.home)' '\(swapped)/data'")
        let answer = try await runtime.callTool("swapped", input: ["again": true])
        #expect(answer.status == .failed)
        #expect(answer.step.error?["message"]?.stringValue?.contains("now resolves to") == true, "\(answer.step.error ?? .null)")
    }

    @Test func profileFilesAbsoluteScriptsAndLimitsAreHeldToTheRegistration() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        // A plugin's profile file: pinned, and its grants obey the manifest rules.
        let dir = ws.customPlugin("prof", manifest: "name: prof\nversion: '1'\ndescription: d\nprotocol: json-stdio\ncommand: [/bin/sh, \(ws.path)/custom/prof/tool.sh]\neffect: read-only\ninputSchema: {type: object}\nprofile: ./p.json\nlimits: {processes: 1000000, wallTimeSeconds: 86400}\n", script: "echo '{\"v\": 1}'\n")
        let strict = ws.read(RuntimeWorkspace.repoRoot + "/sandbox-profiles/strict.json") ?? ""
        ws.write(dir + "/p.json", strict)
        _ = try await runtime.addTools(manifestPath: dir + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        let tool = try #require(try runtime.registeredTool("prof"))
        #expect(tool.spec.pins.keys.contains(dir + "/p.json"), "\(tool.spec.pins)")
        #expect(tool.spec.pins.keys.contains(dir + "/tool.sh"), "an absolute script path inside the plugin is pinned: \(tool.spec.pins)")
        // The plugin asked for more than its profile gives: it gets the profile's.
        let profile = try Profile.named(dir + "/p.json")
        #expect(tool.spec.processes == profile.limits.processes && tool.spec.timeoutMs == profile.limits.wallTimeMs, "\(tool.spec.json)")
        #expect(try await runtime.callTool("prof", input: [:]).result == ["v": 1])
        // The script changes: refused.
        ws.write(dir + "/tool.sh", "echo '{\"v\": 2}'\n", mode: 0o755)
        await expectRuntimeError(.untrusted, ["tool.sh changed"]) { _ = try await runtime.callTool("prof", input: [:]) }
        _ = try await runtime.addTools(manifestPath: dir + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        // The profile file changes: refused.
        ws.write(dir + "/p.json", strict.replacing("Untrusted code", with: "Edited"))
        await expectRuntimeError(.untrusted, ["p.json changed"]) { _ = try await runtime.callTool("prof", input: [:]) }
        // The operator may raise a limit the profile sets.
        ws.write(dir + "/p.json", strict)
        var more = ToolOverrides()
        more.processes = 500
        _ = try await runtime.addTools(manifestPath: dir + "/airlock-tool.yaml", overrides: more, by: "t")
        #expect(try runtime.registeredTool("prof")?.spec.processes == 500)
        // A profile file that grants Airlock's home is refused.
        let bad = ws.customPlugin("badprof", manifest: "name: badprof\nversion: '1'\ndescription: d\nprotocol: json-stdio\ncommand: [./tool.sh]\neffect: read-only\ninputSchema: {type: object}\nprofile: ./p.json\n", script: "#!/bin/sh\n")
        guard case .object(var document) = try JSONValue.parse(strict), case .object(var filesystem)? = document["filesystem"] else {
            Issue.record("the strict profile is not an object with a filesystem")
            return
        }
        filesystem["read"] = .array((filesystem["read"]?.arrayValue ?? []) + [.string(ws.home)])
        document["filesystem"] = .object(filesystem)
        ws.write(bad + "/p.json", JSONValue.object(document).serialized())
        await expectRuntimeError(.usage, ["/profile", "Airlock's own home"]) {
            _ = try await runtime.addTools(manifestPath: bad + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        }
    }

    // MARK: - Export

    @Test func exportGivesMCPAndOpenAIShapesWithAnnotationsFromTheEffectClass() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        for (name, file) in [("word-count", "airlock-tool.yaml"), ("note-writer", "airlock-tool.json"), ("ledger", "airlock-tool.yaml")] {
            _ = try await runtime.addTools(manifestPath: try ws.plugin(name) + "/" + file, overrides: ToolOverrides(), by: "t")
        }
        let tools = try runtime.registeredTools()
        let mcp = try Runtime.export(tools, format: "mcp")
        let listed = try #require(mcp["tools"]?.arrayValue)
        #expect(listed.compactMap { $0["name"]?.stringValue } == ["ledger", "note-writer", "word-count"])
        func hints(_ name: String) -> JSONValue? { listed.first { $0["name"]?.stringValue == name }?["annotations"] }
        #expect(hints("word-count") == ["readOnlyHint": true, "idempotentHint": true, "destructiveHint": false, "openWorldHint": false])
        #expect(hints("note-writer") == ["readOnlyHint": false, "idempotentHint": true, "destructiveHint": true, "openWorldHint": false])
        #expect(hints("ledger") == ["readOnlyHint": false, "idempotentHint": false, "destructiveHint": true, "openWorldHint": false])
        #expect(listed.first { $0["name"] == "word-count" }?["outputSchema"]?["required"] == ["words", "lines", "characters"])
        let openai = try Runtime.export(tools, format: "openai")
        let first = try #require(openai.arrayValue?.first)
        #expect(first["type"] == "function")
        #expect(first["function"]?["name"] == "ledger")
        #expect(first["function"]?["parameters"]?["required"] == ["account", "amount"])
        await expectRuntimeError(.usage, ["--format"]) { _ = try Runtime.export(tools, format: "xml") }
    }
}

/// mcp-stdio plugins: the reference server from PyPI and hostile servers, each in the sandbox.
@Suite struct MCPPluginTests {
    static let timeServer = "/opt/airlock/plugins-venv/bin/mcp-server-time"

    @Test func theReferenceTimeServerIsRegisteredToolByToolAndCalledInTheSandbox() async throws {
        try #require(access(Self.timeServer, X_OK) == 0, "mcp-server-time is missing at \(Self.timeServer): scripts/test installs it (scripts/lib.sh airlock_install_plugins)")
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let dir = try ws.plugin("time")
        let added = try await runtime.addTools(manifestPath: dir + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        #expect(added.map(\.name).sorted() == ["time__convert_time", "time__get_current_time"])
        let tool = try #require(try runtime.registeredTool("time__get_current_time"))
        // The server's annotations are the defaults: readOnlyHint makes it read-only.
        #expect(tool.spec.effect == .readOnly)
        #expect(tool.serverAnnotations["readOnlyHint"] == true)
        #expect(tool.spec.mcpTool == "get_current_time")
        #expect(tool.inputSchema["required"] == ["timezone"])

        let now = try await runtime.callTool("time__get_current_time", input: ["timezone": "Europe/Paris"], key: "paris")
        #expect(now.status == .succeeded, "\(now.message) \(now.step.error ?? .null)")
        #expect(now.result?["structuredContent"]?["timezone"] == "Europe/Paris")
        #expect(now.result?["isError"] == false)
        let receipt = try #require(now.receipt)
        #expect(receipt["layers"]?.arrayValue?.contains("seccomp") == true)
        #expect(receipt["profile"] == "default")
        let replay = try await runtime.callTool("time__get_current_time", input: ["timezone": "Europe/Paris"], key: "paris")
        #expect(replay.replayed && replay.result == now.result)

        let converted = try await runtime.callTool("time__convert_time", input: ["source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"])
        #expect(converted.status == .succeeded, "\(converted.message)")
        #expect(converted.result?["structuredContent"]?["target"]?["datetime"]?.stringValue?.contains("T21:00:00") == true)

        // The server's own error is a failed step whose error carries the server's text.
        let bad = try await runtime.callTool("time__get_current_time", input: ["timezone": "Mars/Olympus_Mons"])
        #expect(bad.status == .failed)
        #expect(bad.step.error?["code"] == "tool_error", "\(bad.step.error ?? .null)")
        #expect(bad.step.error?["message"]?.stringValue?.contains("Mars/Olympus_Mons") == true, "\(bad.step.error ?? .null)")
        // Schema validation happens before the server is even started.
        await expectRuntimeError(.invalidInput, ["timezone", "required"]) {
            _ = try await runtime.callTool("time__get_current_time", input: [:])
        }
    }

    /// A hostile "MCP server" written in Python, run in the sandbox.
    /// (A generous wall-time limit unless the test is about a stall: a loaded CI machine can
    /// take seconds to start Python.)
    func hostile(_ ws: RuntimeWorkspace, _ runtime: Runtime, _ name: String, effect: String = "idempotent", wall: Int = 30, _ body: String) async throws -> String {
        let dir = ws.customPlugin(name, manifest: """
            name: \(name)
            version: '1'
            description: a hostile server
            protocol: mcp-stdio
            command: [./server.py]
            effect: \(effect)
            limits: {wallTimeSeconds: \(wall)}
            """, script: "#!/usr/bin/python3 -I\nimport json, sys, time\n" + body, scriptName: "server.py")
        return dir + "/airlock-tool.yaml"
    }

    static let handshake = """
        def send(m): sys.stdout.write(json.dumps(m) + "\\n"); sys.stdout.flush()
        def read(): return json.loads(sys.stdin.readline())
        r = read(); send({"jsonrpc": "2.0", "id": r["id"], "result": {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "h", "version": "1"}}})
        read()
        r = read()
        if r["method"] == "tools/list":
            send({"jsonrpc": "2.0", "id": r["id"], "result": {"tools": [{"name": "act", "inputSchema": {"type": "object"}}]}}); sys.exit(0)

        """

    @Test func draft07SchemasFromAServerAreReadAs2020OnlyWhenNothingChangesMeaning() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        func server(_ name: String, _ schema: String) async throws -> String {
            try await hostile(ws, runtime, name, """
                def send(m): sys.stdout.write(json.dumps(m) + "\\n"); sys.stdout.flush()
                r = json.loads(sys.stdin.readline()); send({"jsonrpc": "2.0", "id": r["id"], "result": {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "h", "version": "1"}}})
                sys.stdin.readline()
                r = json.loads(sys.stdin.readline())
                send({"jsonrpc": "2.0", "id": r["id"], "result": {"tools": [{"name": "act", "inputSchema": json.loads(r'''\(schema)''')}]}})

                """)
        }
        let plain = try await server("plain", #"{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": false}"#)
        _ = try await runtime.addTools(manifestPath: plain, overrides: ToolOverrides(), by: "t")
        let tool = try #require(try runtime.registeredTool("plain__act"))
        #expect(tool.inputSchema["$schema"] == "https://json-schema.org/draft/2020-12/schema")
        await expectRuntimeError(.invalidInput, ["/n", "type"]) { _ = try await runtime.callTool("plain__act", input: ["n": "x"]) }
        let tuple = try await server("tuple", #"{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"p": {"type": "array", "items": [{"type": "string"}], "additionalItems": false}}}"#)
        await expectRuntimeError(.usage, ["draft-07", "/properties/p/items is an array", "additionalItems"]) {
            _ = try await runtime.addTools(manifestPath: tuple, overrides: ToolOverrides(), by: "t")
        }
    }

    @Test func toolNamesThatCollideAreRefusedAndToolsTheServerDropsGo() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        func server(_ name: String, _ tools: String) -> String {
            ws.customPlugin(name, manifest: "name: \(name)\nversion: '1'\ndescription: d\nprotocol: mcp-stdio\ncommand: [./server.py]\nfilesystem: {read: [.]}\nlimits: {wallTimeSeconds: 30}\n", script: """
                #!/usr/bin/python3 -I
                import json, os, sys
                def send(m): sys.stdout.write(json.dumps(m) + "\\n"); sys.stdout.flush()
                r = json.loads(sys.stdin.readline()); send({"jsonrpc": "2.0", "id": r["id"], "result": {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "h", "version": "1"}}})
                sys.stdin.readline()
                r = json.loads(sys.stdin.readline())
                names = \(tools)
                if os.path.exists(os.path.join(os.path.dirname(__file__), "fewer")): names = names[:1]
                send({"jsonrpc": "2.0", "id": r["id"], "result": {"tools": [{"name": n, "inputSchema": {"type": "object"}} for n in names]}})

                """, scriptName: "server.py")
        }
        let clash = server("clash", #"["pay.x", "pay_x"]"#)
        await expectRuntimeError(.usage, ["pay_x and pay.x would both be registered as clash__pay_x"]) {
            _ = try await runtime.addTools(manifestPath: clash + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        }
        let shrinking = server("shrink", #"["a", "b"]"#)
        _ = try await runtime.addTools(manifestPath: shrinking + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        #expect(try runtime.registeredTools().map(\.name) == ["shrink__a", "shrink__b"])
        ws.write(shrinking + "/fewer", "")
        _ = try await runtime.addTools(manifestPath: shrinking + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        #expect(try runtime.registeredTools().map(\.name) == ["shrink__a"])
    }

    @Test func aServerThatNeverAnswersInitializeFailsToolsAddClearly() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let mute = try await hostile(ws, runtime, "mute", "time.sleep(60)\n")
        let started = Sandbox.monotonicNanoseconds()
        await expectRuntimeError(.usage, ["did not answer initialize"]) {
            _ = try await runtime.addTools(manifestPath: mute, overrides: ToolOverrides(), by: "t")
        }
        #expect(Double(Sandbox.monotonicNanoseconds() - started) / 1e9 < 40, "bounded by the initialize deadline")
        #expect(try runtime.registeredTools().isEmpty)
    }

    @Test func garbageInsteadOfJSONRPCFailsToolsAddAndTheHostCarriesOn() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let garbage = try await hostile(ws, runtime, "garbage", "print('hello, I am not MCP', flush=True); time.sleep(30)\n")
        await expectRuntimeError(.usage, ["not", "hello, I am not MCP"]) {
            _ = try await runtime.addTools(manifestPath: garbage, overrides: ToolOverrides(), by: "t")
        }
        let fine = try await hostile(ws, runtime, "fine", Self.handshake + "send({'jsonrpc': '2.0', 'id': r['id'], 'result': {'content': [{'type': 'text', 'text': 'ok'}]}})\n")
        _ = try await runtime.addTools(manifestPath: fine, overrides: ToolOverrides(), by: "t")
        let ok = try await runtime.callTool("fine__act", input: [:])
        #expect(ok.status == .succeeded, "\(ok.message)")
        #expect(ok.result?["content"] == [["type": "text", "text": "ok"]])
    }

    /// A server that registers fine, then misbehaves at the call.
    struct Misbehaviour: Sendable, CustomTestStringConvertible {
        var name: String
        var effect: String
        var after: String
        var status: CallStatus
        var code: String
        var wall: Int
        var testDescription: String { name }
    }

    static let misbehaviours = [
        Misbehaviour(name: "junk", effect: "idempotent", after: "print('{not json', flush=True); time.sleep(30)\n", status: .failed, code: "mcp_malformed", wall: 30),
        Misbehaviour(name: "stall", effect: "idempotent", after: "time.sleep(60)\n", status: .failed, code: "mcp_timeout", wall: 10),
        Misbehaviour(name: "dies", effect: "idempotent", after: "sys.exit(0)\n", status: .failed, code: "mcp_closed", wall: 30),
        Misbehaviour(name: "refuses", effect: "non-idempotent", after: "send({'jsonrpc': '2.0', 'id': r['id'], 'error': {'code': -32602, 'message': 'no such thing'}}); time.sleep(30)\n", status: .failed, code: "mcp_rpcError", wall: 30),
        Misbehaviour(name: "stallpay", effect: "non-idempotent", after: "time.sleep(60)\n", status: .inDoubt, code: "in_doubt", wall: 10),
    ]

    @Test(arguments: misbehaviours) func aServerThatMisbehavesAtTheCallEndsInAReceipt(_ m: Misbehaviour) async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let path = try await hostile(ws, runtime, m.name, effect: m.effect, wall: m.wall, Self.handshake + m.after)
        _ = try await runtime.addTools(manifestPath: path, overrides: ToolOverrides(), by: "t")
        let started = Sandbox.monotonicNanoseconds()
        let answer = try await runtime.callTool(m.name + "__act", input: [:])
        let seconds = Double(Sandbox.monotonicNanoseconds() - started) / 1e9
        #expect(answer.status == m.status, "\(m.name): \(answer.status) \(answer.message)")
        #expect(answer.step.error?["code"]?.stringValue == m.code, "\(m.name): \(answer.step.error ?? .null)")
        #expect(seconds < Double(m.wall) + 15, "\(m.name) took \(seconds) s: the wall-time limit is \(m.wall) s")
        let receipt = try #require(try runtime.journal.attempts(stepId: answer.step.id).last?.receipt, "\(m.name): no receipt")
        #expect(receipt["outcome"] != nil)
    }

    @Test func aServerThatGoesQuietAtInitializeFailsTheCallWithoutDoubt() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        // Answers while being registered, then never answers initialize at call time.
        let shyDir = ws.customPlugin("shy", manifest: """
            name: shy
            version: '1'
            description: goes quiet
            protocol: mcp-stdio
            command: [./server.py]
            effect: non-idempotent
            filesystem: {read: [.]}
            limits: {wallTimeSeconds: 10}
            """, script: "#!/usr/bin/python3 -I\nimport json, os, sys, time\nif os.path.exists(os.path.join(os.path.dirname(__file__), 'mute')): time.sleep(60)\n" + Self.handshake, scriptName: "server.py")
        _ = try await runtime.addTools(manifestPath: shyDir + "/airlock-tool.yaml", overrides: ToolOverrides(), by: "t")
        ws.write(shyDir + "/mute", "")
        let shy = try await runtime.callTool("shy__act", input: [:])
        // Nothing was sent to the tool yet, so even a non-idempotent step is not in doubt.
        #expect(shy.status == .failed, "\(shy.message)")
        #expect(shy.step.error?["code"] == "mcp_timeout", "\(shy.step.error ?? .null)")
        let shyReceipt = try #require(try runtime.journal.attempts(stepId: shy.step.id).last?.receipt)
        #expect(shyReceipt["mcpError"]?["phase"] == "initialize", "\(shyReceipt)")
    }
}

/// The registry from the command line: the names, flags and exit codes users script against.
@Suite struct ToolsCLITests {
    @Test func toolsCommandsAndCallExitCodes() throws {
        let ws = try CrashWorkspace()
        defer { ws.remove() }
        let plugins = ws.path + "/plugins"
        #expect(system("mkdir -p '\(plugins)' && cp -r '\(RuntimeWorkspace.repoRoot)/examples/tools/word-count' '\(RuntimeWorkspace.repoRoot)/examples/tools/ledger' '\(plugins)/' && mkdir -m 777 '\(plugins)/ledger/ledger' && chmod -R a+rX '\(plugins)'") == 0)
        func airlock(_ arguments: [String]) throws -> CrashResult {
            try CrashHost.run(arguments + ["--home", ws.home], in: ws)
        }
        let add = try airlock(["tools", "add", plugins + "/word-count/airlock-tool.yaml", "--approval", "never", "--by", "ops"])
        #expect(add.status == 0, "\(add)")
        #expect(add.stdout.contains("registered word-count"))
        let addLedger = try airlock(["tools", "add", plugins + "/ledger/airlock-tool.yaml", "--max-attempts", "1", "--json"])
        #expect(addLedger.status == 0, "\(addLedger)")
        #expect(addLedger.json?.arrayValue?.first?["overrides"]?["maxAttempts"] == 1)
        let list = try airlock(["tools", "list"])
        #expect(list.status == 0 && list.stdout.contains("word-count") && list.stdout.contains("non-idempotent"), "\(list)")
        let show = try airlock(["tools", "show", "ledger"])
        #expect(show.json?["spec"]?["reconcile"]?.arrayValue?.count == 1, "\(show)")
        #expect(show.json?["annotations"]?["readOnlyHint"] == false)
        let export = try airlock(["tools", "export", "--format", "openai"])
        #expect(export.json?.arrayValue?.count == 2, "\(export)")
        #expect(try airlock(["tools", "export", "--format", "yaml"]).status == 2)

        let ok = try airlock(["call", "word-count", "--input", #"{"text": "a b c"}"#])
        #expect(ok.status == 0 && ok.json == ["words": 3, "lines": 1, "characters": 5], "\(ok)")
        let invalid = try airlock(["call", "ledger", "--input", #"{"account": "x", "amount": 0}"#])
        #expect(invalid.status == 2, "\(invalid)")
        #expect(invalid.stderr.contains("/amount") && invalid.stderr.contains("minimum"), "\(invalid)")
        #expect(try airlock(["call", "nope"]).status == 2)
        #expect(try airlock(["call", "word-count", "--effect", "read-only"]).status == 2)

        // A swapped plugin: verify exits 1, the call is refused with 9, re-adding approves it.
        ws.touch(plugins + "/word-count/extra")
        #expect(system("echo '# changed' >> '\(plugins)/word-count/tool.py'") == 0)
        let verify = try airlock(["tools", "verify"])
        #expect(verify.status == 1 && verify.stdout.contains("word-count: changed"), "\(verify)")
        let refused = try airlock(["call", "word-count", "--input", #"{"text": "a"}"#])
        #expect(refused.status == 9, "\(refused)")
        #expect(refused.stderr.contains("airlock tools add"))
        #expect(try airlock(["tools", "add", plugins + "/word-count/airlock-tool.yaml"]).status == 0)
        #expect(try airlock(["tools", "verify"]).status == 0)
        #expect(try airlock(["call", "word-count", "--input", #"{"text": "a"}"#]).status == 0)

        // Bad manifests: exit 2 with the JSON path.
        ws.touch(plugins + "/bad.yaml")
        #expect(system("printf 'name: x\\nversion: 1\\n' > '\(plugins)/bad.yaml'") == 0)
        let bad = try airlock(["tools", "add", plugins + "/bad.yaml"])
        #expect(bad.status == 2 && bad.stderr.contains("/description: required") && bad.stderr.contains("/version: must be a string"), "\(bad)")
        #expect(try airlock(["tools", "add", plugins + "/missing.yaml"]).status == 2)
        #expect(try airlock(["tools", "add", plugins + "/word-count/airlock-tool.yaml", "--effect", "maybe"]).status == 2)

        #expect(try airlock(["tools", "remove", "ledger"]).status == 0)
        #expect(try airlock(["tools", "remove", "ledger"]).status == 2)
        #expect(try airlock(["tools", "show", "ledger"]).status == 2)
        let audit = try airlock(["audit", "verify"])
        #expect(audit.status == 0, "\(audit)")
    }
}

@Suite struct ExactInputTests {
    @Test func theToolGetsBigIntegersExactlyWhileTheFingerprintStaysCanonical() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let tool = try ws.tool("echo", .readOnly, "cat")
        let input = try JSONValue.parse(#"{"id": 12345678901234567890123, "b": 1.50, "a": "x"}"#)
        let answer = try await runtime.call(CallRequest(tool: tool, input: input, key: "big"))
        #expect(answer.status == .succeeded)
        #expect(answer.step.input == #"{"a":"x","b":1.50,"id":12345678901234567890123}"#)
        #expect(answer.result?["id"]?.numberValue?.text == "12345678901234567890123")
        // The same input written otherwise is the same step.
        let again = try await runtime.call(CallRequest(tool: tool, input: try JSONValue.parse(#"{"a":"x","b":1.5,"id":12345678901234567890123}"#), key: "big"))
        #expect(again.replayed && again.step.id == answer.step.id)
    }
}
