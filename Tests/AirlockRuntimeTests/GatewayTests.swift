import AirlockCore
import AirlockJournal
import AirlockRuntime
import Glibc
import Logging
import MCP
import Synchronization
import Testing

@testable import AirlockGateway

/// The gateway's parts without a transport: tokens in the journal, admission, keys and results.
@Suite struct GatewayTests {
    // MARK: - Tokens

    @Test func tokensAreStoredHashedAndRevocable() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let issued = try await runtime.createToken(name: "ci-agent", role: .agent, tools: nil, by: "tester")
        #expect(issued.secret.hasPrefix("airlock_") && issued.secret.utf8.count == 8 + 64)
        #expect(try runtime.authenticate(secret: issued.secret)?.name == "ci-agent")
        #expect(try runtime.authenticate(secret: issued.secret + "x") == nil)
        #expect(try runtime.authenticate(secret: "airlock_" + String(repeating: "0", count: 64)) == nil)
        #expect(try runtime.authenticate(secret: "") == nil)

        // Only the digest is in the journal's bytes.
        let bytes = ws.read(ws.home + "/journal.db") ?? ""
        let wal = ws.read(ws.home + "/journal.db-wal") ?? ""
        #expect(!bytes.contains(issued.secret) && !wal.contains(issued.secret))
        #expect(try runtime.tokens().map(\.secretSHA256) == [Runtime.tokenDigest(issued.secret)])
        #expect(issued.record.json["secretSHA256"] == nil && issued.record.json["secret"] == nil)

        await expectRuntimeError(.usage, ["exists already"]) {
            _ = try await runtime.createToken(name: "ci-agent", role: .operator, tools: nil, by: "tester")
        }
        await expectRuntimeError(.usage, ["token name"]) {
            _ = try await runtime.createToken(name: "bad name!", role: .agent, tools: nil, by: "tester")
        }
        await expectRuntimeError(.usage, ["no registered tool named nope"]) {
            _ = try await runtime.createToken(name: "narrow", role: .agent, tools: ["nope"], by: "tester")
        }

        let revoked = try await runtime.revokeToken(name: "ci-agent", by: "tester")
        #expect(revoked.revokedAt != nil)
        #expect(try runtime.authenticate(secret: issued.secret) == nil)
        await expectRuntimeError(.notFound, ["no live token"]) {
            _ = try await runtime.revokeToken(name: "ci-agent", by: "tester")
        }
        // Created and revoked are audit entries; the chain holds.
        var kinds: [String] = []
        try runtime.journal.forEachAuditEntry { entry in
            if let kind = try? JSONValue.parse(entry.entry)["kind"]?.stringValue { kinds.append(kind) }
        }
        #expect(kinds == ["token_created", "token_revoked"])
        #expect(try runtime.journal.verifyAudit().ok)
    }

    // MARK: - Admission

    @Test func theLimiterAdmitsQueuesRefusesAndForgetsCancelledWaiters() async throws {
        let limiter = Limiter(global: 2, perTool: 1, queueDepth: 2)
        let depths = Mutex<[Int]>([])
        let record: @Sendable (Int) -> Void = { depth in depths.withLock { $0.append(depth) } }
        #expect(await limiter.acquire(tool: "a", onQueue: record) == .admitted)
        #expect(await limiter.acquire(tool: "b", onQueue: record) == .admitted)
        #expect(limiter.running == 2)

        // Both slots are taken: the next two wait, the one after is busy at once.
        let waiting = Task { await limiter.acquire(tool: "a", onQueue: record) }
        let cancelled = Task { await limiter.acquire(tool: "c", onQueue: record) }
        while limiter.queued < 2 { await Task.yield() }
        #expect(await limiter.acquire(tool: "d", onQueue: record) == .busy)

        // A cancelled waiter leaves the queue and hears `cancelled`.
        cancelled.cancel()
        #expect(await cancelled.value == .cancelled)
        #expect(limiter.queued == 1)

        // Releasing b frees a global slot, but "a" is at its per-tool limit: it keeps waiting.
        limiter.release(tool: "b")
        #expect(limiter.queued == 1 && limiter.running == 1)
        // A call of another tool may take the free slot past the waiting "a".
        #expect(await limiter.acquire(tool: "e", onQueue: record) == .admitted)
        limiter.release(tool: "e")
        // Releasing a admits the waiting a.
        limiter.release(tool: "a")
        #expect(await waiting.value == .admitted)
        #expect(limiter.running == 1 && limiter.queued == 0)
        limiter.release(tool: "a")
        #expect(limiter.running == 0)
        #expect(depths.withLock { $0 }.contains(2))
    }

    @Test func aFloodOfAdmissionsNeverExceedsTheLimits() async throws {
        let limiter = Limiter(global: 3, perTool: 2, queueDepth: 1000)
        final class Tally: Sendable {
            let state = Mutex<(running: Int, byTool: [String: Int], peak: Int, peakByTool: Int)>((0, [:], 0, 0))
        }
        let tally = Tally()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                let tool = "t\(index % 4)"
                group.addTask {
                    guard await limiter.acquire(tool: tool, onQueue: { _ in }) == .admitted else { return }
                    tally.state.withLock { s in
                        s.running += 1
                        s.byTool[tool, default: 0] += 1
                        s.peak = max(s.peak, s.running)
                        s.peakByTool = max(s.peakByTool, s.byTool[tool]!)
                    }
                    await Task.yield()
                    tally.state.withLock { s in
                        s.running -= 1
                        s.byTool[tool, default: 0] -= 1
                    }
                    limiter.release(tool: tool)
                }
            }
        }
        let final = tally.state.withLock { $0 }
        #expect(final.peak <= 3 && final.peakByTool <= 2)
        #expect(limiter.running == 0 && limiter.queued == 0)
    }

    // MARK: - Keys and results

    @Test func derivedKeysDependOnWhoWhatAndInputButNotOnKeyOrder() throws {
        let input: JSONValue = ["account": "acme", "amount": 5]
        let same: JSONValue = try JSONValue.parse(#"{"amount": 5, "account": "acme"}"#)
        let agent = Principal(name: "a", role: .agent, tools: nil, tokenId: "tok_1")
        let key = try Gateway.derivedKey(principal: agent, run: nil, tool: "ledger", effect: .nonIdempotent, input: input)
        #expect(key != nil && key!.hasPrefix("mcp-"))
        #expect(try Gateway.derivedKey(principal: agent, run: nil, tool: "ledger", effect: .nonIdempotent, input: same) == key)
        #expect(try Gateway.derivedKey(principal: agent, run: "r1", tool: "ledger", effect: .nonIdempotent, input: input) != key)
        #expect(try Gateway.derivedKey(principal: .localOperator, run: nil, tool: "ledger", effect: .nonIdempotent, input: input) != key)
        #expect(try Gateway.derivedKey(principal: agent, run: nil, tool: "ledger", effect: .idempotent, input: ["account": "acme", "amount": 6]) != key)
        // A read-only tool runs again: no derived key.
        #expect(try Gateway.derivedKey(principal: agent, run: nil, tool: "count", effect: .readOnly, input: input) == nil)
    }

    @Test func metaValuesMustBeShortStrings() throws {
        #expect(try Gateway.metaString([MetaKey.idempotencyKey: .string("k-1")], MetaKey.idempotencyKey) == "k-1")
        #expect(try Gateway.metaString([:], MetaKey.idempotencyKey) == nil)
        for bad: JSONValue in [3, "", .string(String(repeating: "k", count: 201)), .null, []] {
            #expect(throws: CallFailure.self) { _ = try Gateway.metaString([MetaKey.run: bad], MetaKey.run) }
        }
    }

    @Test func valuesCrossTheEdgeIntact() throws {
        let text = #"{"big": 9007199254740993, "list": [1, 2.5, "x", null, true], "nested": {"é": "data:text/plain;base64,aGk="}}"#
        let json = try JSONValue.parse(text)
        let back = JSONValue(mcp: MCP.Value(json: json))
        // Integers that fit an Int stay exact; the data URL string stays a string.
        #expect(back == (try JSONValue.parse(text)) || back.serialized(sortedKeys: true) == json.serialized(sortedKeys: true))
        #expect(back["big"] == json["big"])
        #expect(back["nested"]?["é"]?.stringValue == "data:text/plain;base64,aGk=")
    }

    @Test func callsThroughTheGatewayAreJournaledAndRetriedByKey() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let dir = ws.path + "/plugins/echo"
        mkdir(ws.path + "/plugins", 0o755)
        mkdir(dir, 0o755)
        let manifest = """
            {"name": "echo", "version": "1", "description": "echo", "protocol": "json-stdio", "command": ["./tool.sh"],
             "effect": "non-idempotent", "inputSchema": {"type": "object", "properties": {"n": {"type": "integer"}, "s": {"type": "string"}}}}
            """
        ws.write(dir + "/airlock-tool.json", manifest)
        ws.write(dir + "/tool.sh", "#!/bin/sh\ncat\n", mode: 0o755)
        try RuntimeWorkspace.makeReadableByAll(ws.path + "/plugins")
        _ = try await runtime.addTools(manifestPath: dir + "/airlock-tool.json", overrides: ToolOverrides(), by: "tester")
        let gateway = Gateway(runtime: runtime, logger: Logger(label: "test"))

        let first = try await gateway.callTool(CallTool.Parameters(name: "echo", arguments: ["n": .int(7)]), principal: .localOperator)
        #expect(first.isError == false && first.structuredContent == .object(["n": .int(7)]))
        let key = try #require(first._meta?[MetaKey.idempotencyKey]?.stringValue)
        #expect(key.hasPrefix("mcp-") && first._meta?[MetaKey.keyDerived] == .bool(true))
        let again = try await gateway.callTool(CallTool.Parameters(name: "echo", arguments: ["n": .int(7)]), principal: .localOperator)
        #expect(again._meta?[MetaKey.replayed] == .bool(true) && again._meta?[MetaKey.idempotencyKey]?.stringValue == key)
        #expect(try ws.stepCount(runtime) == 1)

        let invalid = try await gateway.callTool(CallTool.Parameters(name: "echo", arguments: ["n": .string("x")]), principal: .localOperator)
        #expect(invalid.isError == true && invalid._meta?[MetaKey.status] == .string("invalid_input"))
        await #expect(throws: MCPError.self) {
            _ = try await gateway.callTool(CallTool.Parameters(name: "nope", arguments: [:]), principal: .localOperator)
        }
        let narrow = Principal(name: "n", role: .agent, tools: ["other"], tokenId: "tok_2")
        await #expect(throws: MCPError.self) {
            _ = try await gateway.callTool(CallTool.Parameters(name: "echo", arguments: [:]), principal: narrow)
        }
        #expect(try gateway.listTools(for: narrow).isEmpty)
        #expect(try gateway.listTools(for: .localOperator).map(\.name) == ["echo"])
        #expect(try ws.stepCount(runtime) == 1)

        // Airlock's own transports answer tools/call without the SDK's Value: arguments reach the
        // tool exactly as sent (an integer past 2^64, a data: URL string), and come back so.
        let request = try JSONValue.parse(
            #"{"jsonrpc":"2.0","id":"r-1","method":"tools/call","params":{"name":"echo","arguments":{"n":123456789012345678901234567890,"s":"data:,hi"},"_meta":{"dev.airlock/idempotency-key":"exact-1"}}}"#)
        let response = try #require(await gateway.answer(callRequest: request.objectValue!, principal: .localOperator))
        #expect(response["id"] == "r-1")
        #expect(response["result"]?["structuredContent"]?["n"] == .number(try #require(JSONValue.parse("123456789012345678901234567890").numberValue)))
        #expect(response["result"]?["structuredContent"]?["s"] == "data:,hi")
        #expect(try runtime.journal.step(idOrKey: "exact-1")?.input.contains("123456789012345678901234567890") == true)
        let unknown = try #require(await gateway.answer(callRequest: ["id": 7, "method": "tools/call", "params": ["name": "nope"]], principal: .localOperator))
        #expect(unknown["error"]?["code"] == -32602 && unknown["id"] == 7)
        let noName = try #require(await gateway.answer(callRequest: ["id": 8, "method": "tools/call", "params": [:]], principal: .localOperator))
        #expect(noName["error"]?["code"] == -32602)
        let badMeta = try #require(await gateway.answer(
            callRequest: ["id": 9, "method": "tools/call", "params": ["name": "echo", "_meta": [MetaKey.idempotencyKey: 5]]], principal: .localOperator))
        #expect(badMeta["error"]?["code"] == -32602)

        // A registry row that cannot be read is Airlock's failure, answered as one (not dropped).
        try await runtime.journal.write { tx in try tx.putTool(ToolRecord(name: "broken", text: "{", addedAt: 0, updatedAt: 0)) }
        let broken = try #require(await gateway.answer(callRequest: ["id": 10, "method": "tools/call", "params": ["name": "broken"]], principal: .localOperator))
        #expect(broken["error"]?["code"] == -32603 && broken["id"] == 10)

        // Draining: no new call starts.
        _ = gateway.inFlight(draining: true)
        let refused = try await gateway.callTool(CallTool.Parameters(name: "echo", arguments: ["n": .int(8)]), principal: .localOperator)
        #expect(refused.isError == true && refused._meta?[MetaKey.status] == .string("unavailable"))
        #expect(try ws.stepCount(runtime) == 2)
        let metrics = gateway.metrics.exposition()
        #expect(metrics.contains(#"airlock_tool_calls_total{status="succeeded",tool="echo"}"#) || metrics.contains(#"airlock_tool_calls_total{tool="echo",status="succeeded"}"#))
        #expect(metrics.contains("airlock_steps_in_doubt 0"))
    }
}
