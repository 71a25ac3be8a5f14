import AirlockJournal
import AirlockRuntime
import AirlockSandbox
import Glibc
import Testing

/// The durable-step contract, one rule per test, through the Runtime API with real sandboxed tools.
@Suite struct StepSemanticsTests {
    // MARK: - Keys and fingerprints

    @Test func sameKeySameInputFinishedReturnsTheRecordedResultWithoutRunning() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let tool = try ws.tool("count", .nonIdempotent, "echo ran >> \(ws.state)/ledger; echo '{\"n\": 1}'")
        let first = try await runtime.call(CallRequest(tool: tool, input: ["a": 1], key: "k"))
        #expect(first.status == .succeeded, "\(first.message)")
        #expect(!first.replayed)
        #expect(first.result == ["n": 1])
        // The same input written differently is the same canonical input.
        let again = try await runtime.call(CallRequest(tool: tool, input: try JSONValue.parse(#"{ "a" : 1.0 }"#), key: "k"))
        #expect(again.status == .succeeded, "\(again.message)")
        #expect(again.replayed)
        #expect(again.result == ["n": 1])
        #expect(again.step.id == first.step.id)
        #expect(ws.lines("ledger") == ["ran"], "the tool ran again")
    }

    @Test func sameKeyDifferentInputIsAConflictAndNothingRuns() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let tool = try ws.tool("count", .idempotent, "echo ran >> \(ws.state)/ledger")
        _ = try await runtime.call(CallRequest(tool: tool, input: ["a": 1], key: "k"))
        let conflict = try await runtime.call(CallRequest(tool: tool, input: ["a": 2], key: "k"))
        #expect(conflict.status == .conflict)
        #expect(conflict.message.contains("k"))
        // Another tool (other command, so other fingerprint) with the same key conflicts too.
        let other = try ws.tool("count", .idempotent, "echo other >> \(ws.state)/ledger")
        #expect(try await runtime.call(CallRequest(tool: other, input: ["a": 1], key: "k")).status == .conflict)
        #expect(ws.lines("ledger") == ["ran"])
    }

    @Test func fingerprintCoversToolIdentityAndCanonicalInput() throws {
        let ws = try RuntimeWorkspace()
        let tool = try ws.tool("t", .readOnly, "true")
        let a = try Runtime.fingerprint(tool: tool, canonicalInput: try JSONValue.parse(#"{"b":[1,2],"a":"x"}"#).canonicalized())
        let b = try Runtime.fingerprint(tool: tool, canonicalInput: try JSONValue.parse(#"{"a":"x","b":[1.0,2e0]}"#).canonicalized())
        #expect(a == b)
        var newer = tool
        newer.version = "2"
        #expect(try Runtime.fingerprint(tool: newer, canonicalInput: "{}") != Runtime.fingerprint(tool: tool, canonicalInput: "{}"))
        var rebuilt = tool
        rebuilt.digest = String(repeating: "f", count: 64)
        #expect(try Runtime.fingerprint(tool: rebuilt, canonicalInput: "{}") != Runtime.fingerprint(tool: tool, canonicalInput: "{}"))
    }

    @Test func sameKeyWhileALiveOwnerRunsItIsInProgress() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let tool = try ws.tool("slow", .idempotent, "touch \(ws.state)/started; sleep 2; echo done")
        let running = Task { try await runtime.call(CallRequest(tool: tool, input: [:], key: "slow")) }
        var waited = 0
        while access(ws.state + "/started", F_OK) != 0 && waited < 200 {
            try await Task.sleep(nanoseconds: 50_000_000)
            waited += 1
        }
        let second = try await runtime.call(CallRequest(tool: tool, input: [:], key: "slow"))
        #expect(second.status == .inProgress, "\(second.message)")
        // Another host process sees the same: the owner's lock is held.
        let other = try Runtime(home: ws.home)
        let third = try await other.call(CallRequest(tool: tool, input: [:], key: "slow"))
        #expect(third.status == .inProgress, "\(third.message)")
        let first = try await running.value
        #expect(first.status == .succeeded)
        #expect(first.result == .string("done\n"))
    }

    // MARK: - Receipts

    @Test func receiptRecordsOutcomeDigestsAndReportedEffects() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let script = #"""
            cat > /dev/null
            echo '{"kind":"http.post","target":"https://pay.example/charge","externalId":"ch_1"}' >&3
            echo 'not json' >&3
            echo "key=$AIRLOCK_IDEMPOTENCY_KEY attempt=$AIRLOCK_ATTEMPT" >&2
            printf '[1,2]'
            """#
        let tool = try ws.tool("pay", .nonIdempotent, script)
        let answer = try await runtime.call(CallRequest(tool: tool, input: ["amount": 5], key: "pay-1"))
        #expect(answer.status == .succeeded, "\(answer.message)")
        let receipt = try #require(answer.receipt)
        #expect(receipt["outcome"] == "exited")
        #expect(receipt["exitCode"] == 0)
        #expect(receipt["stdoutBytes"] == 5)
        #expect(receipt["stdoutSha256"]?.stringValue == SHA256Digest.hex(of: SHA256Digest.hash(Array("[1,2]".utf8))))
        #expect(receipt["stderrTail"]?.stringValue == "key=pay-1 attempt=1\n")
        #expect(receipt["profileSha256"]?.stringValue?.count == 64)
        let effects = try #require(receipt["effects"]?.arrayValue)
        #expect(effects.count == 2)
        #expect(effects.first == ["kind": "http.post", "target": "https://pay.example/charge", "externalId": "ch_1"])
        #expect(effects.last?["malformed"] == "not json")
        #expect(answer.result == [1, 2])
        // The journal holds the same receipt.
        let attempts = try runtime.journal.attempts(stepId: answer.step.id)
        #expect(attempts.count == 1)
        #expect(attempts.first?.receipt == receipt)
    }

    @Test func aFailedToolIsAFailedStepWithItsStderr() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let tool = try ws.tool("bad", .readOnly, "echo 'no such account' >&2; exit 3")
        let answer = try await runtime.call(CallRequest(tool: tool, input: [:], key: "bad"))
        #expect(answer.status == .failed)
        #expect(answer.step.state == .failed)
        #expect(answer.step.error?["exitCode"] == 3)
        #expect(answer.step.error?["stderrTail"] == "no such account\n")
        // Asked again, the recorded failure comes back; nothing runs.
        let again = try await runtime.call(CallRequest(tool: tool, input: [:], key: "bad"))
        #expect(again.status == .failed)
        #expect(again.replayed)
        #expect(try runtime.journal.attempts(stepId: answer.step.id).count == 1)
    }

    @Test func aChangedExecutableIsNotRun() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        var tool = try ws.tool("pinned", .idempotent, "echo ran >> \(ws.state)/ledger")
        tool.digest = String(repeating: "0", count: 64)
        let answer = try await runtime.call(CallRequest(tool: tool, input: [:], key: "pinned"))
        #expect(answer.status == .failed)
        #expect(answer.step.error?["message"]?.stringValue?.contains("changed since the step was created") == true, "\(answer.step.error ?? nil)")
        #expect(ws.lines("ledger").isEmpty)
    }

    @Test func digestsFollowTheFileContent() throws {
        let ws = try RuntimeWorkspace()
        let file = ws.path + "/tool"
        ws.write(file, "#!/bin/sh\necho one\n", mode: 0o755)
        let first = try Executable.digest(path: file)
        #expect(first == SHA256Digest.hex(of: SHA256Digest.hash(Array("#!/bin/sh\necho one\n".utf8))))
        #expect(try Executable.digest(path: file) == first)
        // Same size, new content: the cached digest must not be reused.
        ws.write(file, "#!/bin/sh\necho two\n", mode: 0o755)
        #expect(try Executable.digest(path: file) == SHA256Digest.hex(of: SHA256Digest.hash(Array("#!/bin/sh\necho two\n".utf8))))
    }

    @Test func oversizeInputIsRefusedBeforeAnythingIsJournaled() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let tool = try ws.tool("big", .readOnly, "cat > /dev/null")
        let big = JSONValue.string(String(repeating: "x", count: Runtime.maxInputBytes + 1))
        await #expect(throws: RuntimeError.self) { _ = try await runtime.call(CallRequest(tool: tool, input: ["data": big], key: "big")) }
        #expect(try runtime.journal.step(idOrKey: "big") == nil)
    }

    // MARK: - Retries

    @Test func idempotentToolIsRetriedPerPolicyWithEveryAttemptJournaled() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        // Fails twice, then succeeds.
        var tool = try ws.tool("flaky", .idempotent, "echo x >> \(ws.state)/tries; [ $(wc -l < \(ws.state)/tries) -ge 3 ] && echo ok || exit 1")
        tool.retry.maxAttempts = 5
        let answer = try await runtime.call(CallRequest(tool: tool, input: [:], key: "flaky"))
        #expect(answer.status == .succeeded, "\(answer.message)")
        #expect(answer.step.attempt == 3)
        let attempts = try runtime.journal.attempts(stepId: answer.step.id)
        #expect(attempts.map(\.attempt) == [1, 2, 3])
        #expect(attempts.map { $0.receipt?["retry"]?["decision"]?.stringValue } == ["retry", "retry", "none"])
        #expect(attempts.allSatisfy { $0.endedAt != nil })
    }

    @Test func retriesStopAtMaxAttemptsAndAtNonRetryableExitCodes() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        var always = try ws.tool("down", .readOnly, "exit 1")
        always.retry.maxAttempts = 3
        let exhausted = try await runtime.call(CallRequest(tool: always, input: [:], key: "down"))
        #expect(exhausted.status == .failed)
        #expect(exhausted.step.attempt == 3)

        var badInput = try ws.tool("strict", .readOnly, "exit 64")
        badInput.retry.maxAttempts = 3
        badInput.retry.nonRetryableExitCodes = [64]
        let final = try await runtime.call(CallRequest(tool: badInput, input: [:], key: "strict"))
        #expect(final.status == .failed)
        #expect(final.step.attempt == 1)
        #expect(final.receipt?["retry"]?["decision"] == "final")
    }

    @Test func nonIdempotentToolRetriesOnlyOnNoEffectExitCodes() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        // 75: "failed before any effect" (declared) -> retried.
        var declared = try ws.tool("pay", .nonIdempotent, "echo try >> \(ws.state)/a; [ $(wc -l < \(ws.state)/a) -ge 2 ] && echo paid || exit 75")
        declared.retry.maxAttempts = 3
        declared.noEffectExitCodes = [75]
        let retried = try await runtime.call(CallRequest(tool: declared, input: [:], key: "a"))
        #expect(retried.status == .succeeded, "\(retried.message)")
        #expect(retried.step.attempt == 2)
        // Any other failure (exit 1, a timeout) may have had its effect: not retried.
        var undeclared = try ws.tool("pay", .nonIdempotent, "echo try >> \(ws.state)/b; exit 1")
        undeclared.retry.maxAttempts = 3
        undeclared.noEffectExitCodes = [75]
        let once = try await runtime.call(CallRequest(tool: undeclared, input: [:], key: "b"))
        #expect(once.status == .failed)
        #expect(once.step.attempt == 1)
        #expect(ws.lines("b").count == 1)
        var slow = try ws.tool("pay", .nonIdempotent, "echo try >> \(ws.state)/c; sleep 5")
        slow.retry.maxAttempts = 3
        slow.noEffectExitCodes = [75]
        slow.timeoutMs = 300
        // Stopped mid-run, its effect may or may not have happened: in doubt, not failed.
        let timedOut = try await runtime.call(CallRequest(tool: slow, input: [:], key: "c"))
        #expect(timedOut.status == .inDoubt, "\(timedOut.message)")
        #expect(timedOut.step.state == .inDoubt)
        #expect(timedOut.receipt?["outcome"] == "timeout")
        #expect(timedOut.receipt?["retry"]?["decision"] == "in_doubt")
        #expect(try await runtime.call(CallRequest(tool: slow, input: [:], key: "c")).status == .inDoubt)
        #expect(ws.lines("c").count == 1)
        #expect(try runtime.journal.verifyAudit().ok)
    }

    @Test func liveOwnersAreAliveAndVanishedOnesDead() throws {
        let ws = try RuntimeWorkspace()
        mkdir(ws.home, 0o700)
        let host = try HostInstance(home: ws.home)
        let other = try HostInstance(home: ws.home)
        #expect(host.isAlive(other.id))
        #expect(other.isAlive(host.id))
        // Gone (no file): dead.
        #expect(!host.isAlive("h-never-existed"))
    }

    @Test func aDamagedSpecDoesNotStopTheRestOfResume() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let good = try ws.tool("good", .idempotent, "sleep 1; echo ok")
        let bad = try ws.tool("bad", .idempotent, "echo never")
        _ = try await insertOrphan(runtime, spec: good, key: "good")
        let broken = try await insertOrphan(runtime, spec: bad, key: "bad")
        // A hand-damaged record: its spec no longer decodes.
        let brokenId = broken.id
        _ = try await runtime.journal.write { tx in
            var step = try #require(try tx.step(id: brokenId))
            step.state = .started
            try tx.updateStep(step)
        }
        try corruptSpec(ws, stepId: brokenId)
        let items = try await runtime.resume()
        #expect(items.first { $0.stepId == brokenId }?.action == "error")
        #expect(items.first { $0.answer.step.key == "good" }?.answer.status == .succeeded)
        #expect(try runtime.journal.step(idOrKey: "good")?.state == .succeeded)
    }

    @Test func retryDelaysBackOffWithinBoundsAndJitter() {
        var policy = RetryPolicy()
        policy.initialIntervalMs = 100
        policy.backoff = 2
        policy.maxIntervalMs = 1000
        policy.jitter = 0
        #expect(policy.delayMs(beforeAttempt: 2, random: 0.5) == 100)
        #expect(policy.delayMs(beforeAttempt: 3, random: 0.5) == 200)
        #expect(policy.delayMs(beforeAttempt: 4, random: 0.5) == 400)
        #expect(policy.delayMs(beforeAttempt: 9, random: 0.5) == 1000)
        policy.jitter = 0.5
        #expect(policy.delayMs(beforeAttempt: 2, random: 0) == 50)
        #expect(policy.delayMs(beforeAttempt: 2, random: 0.999999) == 150)
    }

    // MARK: - Recovery

    @Test func recoveryRerunsRetrySafeStepsOfDeadOwnersAsNewAttempts() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        for effect in [EffectClass.readOnly, .idempotent] {
            let tool = try ws.tool("safe", effect, "echo ran >> \(ws.state)/\(effect.rawValue); echo ok")
            let orphan = try await insertOrphan(runtime, spec: tool, key: "orphan-\(effect.rawValue)")
            let items = try await runtime.resume()
            let item = try #require(items.first { $0.stepId == orphan.id })
            #expect(item.action == "ran")
            #expect(item.answer.status == .succeeded)
            let step = try #require(try runtime.journal.step(idOrKey: orphan.id))
            #expect(step.state == .succeeded)
            #expect(step.attempt == 2)
            let attempts = try runtime.journal.attempts(stepId: orphan.id)
            #expect(attempts.first?.receipt?["outcome"] == "unknown", "the dead host's attempt is closed as unknown")
            #expect(ws.lines(effect.rawValue) == ["ran"])
        }
    }

    @Test func recoveryPutsNonIdempotentStepsInDoubtAndRefusesThem() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let tool = try ws.tool("pay", .nonIdempotent, "echo paid >> \(ws.state)/ledger")
        let orphan = try await insertOrphan(runtime, spec: tool, key: "pay")
        let items = try await runtime.resume()
        #expect(items.first?.action == "in_doubt")
        #expect(try runtime.journal.step(idOrKey: "pay")?.state == .inDoubt)
        // A call with the key is refused, and says how to resolve it.
        let refused = try await runtime.call(CallRequest(tool: tool, input: [:], key: "pay"))
        #expect(refused.status == .inDoubt)
        #expect(refused.message.contains("airlock resolve \(orphan.id)"))
        // Resume again does not run it either.
        _ = try await runtime.resume()
        #expect(ws.lines("ledger").isEmpty)
        #expect(try runtime.journal.step(idOrKey: "pay")?.state == .inDoubt)
    }

    @Test func aCallWithTheKeyRecoversADeadOwnersStepToo() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let safe = try ws.tool("safe", .idempotent, "echo ok")
        _ = try await insertOrphan(runtime, spec: safe, key: "safe")
        let rerun = try await runtime.call(CallRequest(tool: safe, input: [:], key: "safe"))
        #expect(rerun.status == .succeeded)
        #expect(rerun.step.attempt == 2)
        let pay = try ws.tool("pay", .nonIdempotent, "echo paid >> \(ws.state)/ledger")
        _ = try await insertOrphan(runtime, spec: pay, key: "pay")
        #expect(try await runtime.call(CallRequest(tool: pay, input: [:], key: "pay")).status == .inDoubt)
        #expect(ws.lines("ledger").isEmpty)
    }

    @Test func reconcileProbeAnswersAreRecordedAndActedOn() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        func payTool(_ probe: String) throws -> ToolSpec {
            var tool = try ws.tool("pay", .nonIdempotent, "echo \"$AIRLOCK_IDEMPOTENCY_KEY\" >> \(ws.state)/ledger; echo '{\"paid\":true}'")
            tool.reconcile = ["/bin/sh", "-c", probe]
            return tool
        }
        // The probe finds the effect: succeeded with the probe's result, nothing re-run.
        let happened = try payTool(#"echo '{"happened": true, "result": {"paid": "found"}}'"#)
        _ = try await insertOrphan(runtime, spec: happened, key: "p1")
        _ = try await runtime.resume()
        let p1 = try #require(try runtime.journal.step(idOrKey: "p1"))
        #expect(p1.state == .succeeded)
        #expect(p1.result == ["paid": "found"])
        let p1Decisions = try runtime.journal.decisions(stepId: p1.id)
        #expect(p1Decisions.map(\.kind) == [.reconcile])
        #expect(p1Decisions.first?.detail?["answer"]?["happened"] == true)
        // The probe finds no effect: a new attempt runs once.
        let notHappened = try payTool(#"echo '{"happened": false}'"#)
        _ = try await insertOrphan(runtime, spec: notHappened, key: "p2")
        _ = try await runtime.resume()
        let p2 = try #require(try runtime.journal.step(idOrKey: "p2"))
        #expect(p2.state == .succeeded)
        #expect(p2.attempt == 2)
        // A probe that cannot tell leaves the step in doubt.
        let unsure = try payTool("echo 'maybe'; exit 0")
        _ = try await insertOrphan(runtime, spec: unsure, key: "p3")
        _ = try await runtime.resume()
        #expect(try runtime.journal.step(idOrKey: "p3")?.state == .inDoubt)
        #expect(ws.lines("ledger") == ["p2"])
    }

    // MARK: - Resolve

    @Test func resolveIsTheOnlyWayOutOfDoubtAndIsJournaled() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        let tool = try ws.tool("pay", .nonIdempotent, "echo paid >> \(ws.state)/ledger; echo '{\"again\":true}'")
        let a = try await insertOrphan(runtime, spec: tool, key: "a")
        let b = try await insertOrphan(runtime, spec: tool, input: ["n": 2], key: "b")
        let c = try await insertOrphan(runtime, spec: tool, input: ["n": 3], key: "c")
        _ = try await runtime.resume()
        // Not in doubt yet: refused.
        let fresh = try await runtime.call(CallRequest(tool: tool, input: ["n": 4], key: "d"))
        await #expect(throws: RuntimeError.self) {
            _ = try await runtime.resolve(fresh.step.id, as: .failed, reason: "x", result: nil, by: "ops")
        }
        _ = try await runtime.resolve(a.id, as: .succeeded, reason: "the bank shows the charge", result: ["charge": "ch_9"], by: "ana")
        let replay = try await runtime.call(CallRequest(tool: tool, input: [:], key: "a"))
        #expect(replay.status == .succeeded)
        #expect(replay.result == ["charge": "ch_9"])
        _ = try await runtime.resolve(b.id, as: .failed, reason: "no charge", result: nil, by: "ana")
        #expect(try await runtime.call(CallRequest(tool: tool, input: ["n": 2], key: "b")).status == .failed)
        _ = try await runtime.resolve(c.id, as: .retry, reason: "no charge; try again", result: nil, by: "ana")
        #expect(try runtime.journal.step(idOrKey: "c")?.state == .pending)
        let items = try await runtime.resume()
        #expect(items.contains { $0.stepId == c.id && $0.answer.status == .succeeded })
        let decision = try #require(try runtime.journal.decisions(stepId: a.id).first)
        #expect(decision.kind == .resolve)
        #expect(decision.by == "ana")
        #expect(decision.reason == "the bank shows the charge")
        #expect(decision.fingerprint == a.fingerprint)
        #expect(ws.lines("ledger").count == 2, "fresh step d and the retried c ran; a and b did not")
        #expect(try runtime.journal.verifyAudit().ok)
    }

    // MARK: - Approvals

    @Test func approvalWaitsDurablyAndRunsOnceApproved() async throws {
        let ws = try RuntimeWorkspace()
        var tool = try ws.tool("deploy", .nonIdempotent, "echo deployed >> \(ws.state)/ledger")
        tool.approval = .always
        var stepId = ""
        do {
            let runtime = try ws.runtime()
            let waiting = try await runtime.call(CallRequest(tool: tool, input: ["env": "prod"], key: "deploy"))
            #expect(waiting.status == .awaitingApproval)
            #expect(waiting.step.state == .awaitingApproval)
            #expect(try await runtime.call(CallRequest(tool: tool, input: ["env": "prod"], key: "deploy")).status == .awaitingApproval)
            stepId = waiting.step.id
        }
        #expect(ws.lines("ledger").isEmpty)
        // Another host process (after a restart) sees it waiting, approves it, and runs it.
        let runtime = try ws.runtime()
        #expect(try runtime.journal.step(idOrKey: stepId)?.state == .awaitingApproval)
        _ = try await runtime.approve(stepId, by: "lead", reason: "release window")
        let ran = try await runtime.call(CallRequest(tool: tool, input: ["env": "prod"], key: "deploy"))
        #expect(ran.status == .succeeded, "\(ran.message)")
        #expect(ws.lines("ledger") == ["deployed"])
        // Approval applies once: the finished step replays.
        #expect(try await runtime.call(CallRequest(tool: tool, input: ["env": "prod"], key: "deploy")).replayed)
        let decisions = try runtime.journal.decisions(stepId: stepId)
        #expect(decisions.map(\.kind) == [.approve])
        #expect(decisions.first?.by == "lead")
    }

    @Test func approvedStepsRunOnResume() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        var tool = try ws.tool("deploy", .nonIdempotent, "echo deployed >> \(ws.state)/ledger")
        tool.approval = .always
        let waiting = try await runtime.call(CallRequest(tool: tool, input: [:], key: "deploy"))
        #expect(try await runtime.resume().first?.action == "skipped")
        _ = try await runtime.approve(waiting.step.id, by: "lead", reason: nil)
        let items = try await runtime.resume()
        #expect(items.first?.answer.status == .succeeded)
        #expect(ws.lines("ledger") == ["deployed"])
    }

    @Test func denialFailsTheStepWithoutRunningIt() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        var tool = try ws.tool("drop", .nonIdempotent, "echo dropped >> \(ws.state)/ledger")
        tool.approval = .always
        let waiting = try await runtime.call(CallRequest(tool: tool, input: [:], key: "drop"))
        let denied = try await runtime.deny(waiting.step.id, by: "dba", reason: "not on prod")
        #expect(denied.state == .failed)
        let again = try await runtime.call(CallRequest(tool: tool, input: [:], key: "drop"))
        #expect(again.status == .denied)
        #expect(again.message.contains("not on prod"))
        #expect(ws.lines("ledger").isEmpty)
        await #expect(throws: RuntimeError.self) { _ = try await runtime.approve(waiting.step.id, by: "x", reason: nil) }
    }

    @Test func anApprovalHoldsOnlyForItsFingerprintAndMayExpire() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        var tool = try ws.tool("deploy", .nonIdempotent, "echo deployed >> \(ws.state)/ledger")
        tool.approval = .always
        // An approval that has expired does not let the step run.
        let expiring = try await runtime.call(CallRequest(tool: tool, input: [:], key: "expiring"))
        _ = try await runtime.approve(expiring.step.id, by: "lead", reason: nil, expiresInSeconds: 0)
        let late = try await runtime.call(CallRequest(tool: tool, input: [:], key: "expiring"))
        #expect(late.status == .awaitingApproval)
        #expect(late.message.contains("expired"))
        // The tool's own approval TTL applies when the operator gives none.
        var shortLived = tool
        shortLived.approvalTTLSeconds = 0
        let policy = try await runtime.call(CallRequest(tool: shortLived, input: [:], key: "policy"))
        let approved = try await runtime.approve(policy.step.id, by: "lead", reason: nil)
        #expect(try runtime.journal.decisions(stepId: approved.id).first?.expiresAt != nil)
        #expect(try await runtime.call(CallRequest(tool: shortLived, input: [:], key: "policy")).status == .awaitingApproval)
        // An approval recorded for another fingerprint does not count.
        let other = try await runtime.call(CallRequest(tool: tool, input: ["x": 1], key: "other"))
        let stepId = other.step.id
        _ = try await runtime.journal.write { tx in
            try tx.insertDecision(DecisionRecord(stepId: stepId, kind: .approve, fingerprint: String(repeating: "a", count: 64), by: "x", reason: nil, at: 1))
        }
        #expect(try await runtime.call(CallRequest(tool: tool, input: ["x": 1], key: "other")).status == .awaitingApproval)
        #expect(ws.lines("ledger").isEmpty)
    }

    // MARK: - Audit

    @Test func everyTransitionIsInTheAuditChain() async throws {
        let ws = try RuntimeWorkspace()
        let runtime = try ws.runtime()
        var tool = try ws.tool("deploy", .nonIdempotent, "echo deployed")
        tool.approval = .always
        let waiting = try await runtime.call(CallRequest(tool: tool, input: [:], key: "k"))
        _ = try await runtime.approve(waiting.step.id, by: "lead", reason: "ok")
        _ = try await runtime.call(CallRequest(tool: tool, input: [:], key: "k"))
        var kinds: [String] = []
        try runtime.journal.forEachAuditEntry { entry in
            kinds.append(try JSONValue.parse(entry.entry)["kind"]?.stringValue ?? "?")
        }
        #expect(kinds == ["approval_requested", "approve", "intent", "receipt"])
        #expect(try runtime.journal.verifyAudit().ok)
    }
}
