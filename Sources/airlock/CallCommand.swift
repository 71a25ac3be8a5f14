import AirlockJournal
import AirlockRuntime
import AirlockSandbox
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

struct Call: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make one journaled, sandboxed tool call.",
        discussion: """
            The intent (key, input fingerprint) is committed before the tool starts and the receipt \
            before the answer. Exit status: 0 success (the result on stdout); 1 the tool failed (its \
            receipt is recorded); 2 usage or input error; 3 awaiting approval (the step id on stdout); \
            4 refused: in doubt; 5 refused: key conflict; 6 denied; 7 in progress elsewhere; 8 Airlock \
            itself failed (damaged journal, full disk); 9 refused: the registered tool's executable \
            or scripts changed since `airlock tools add` (add it again to approve the change).
            TOOL is a registered tool (`airlock tools list`): its input is validated against its \
            input schema before anything is journaled, and it runs with its registered policy. \
            With --exec, the command after -- is run as an ad-hoc tool instead, with the policy \
            given by the flags.
            """)

    @OptionGroup var options: HomeOptions

    @Argument(help: "The tool's name (journaled; with --exec, any name matching [a-zA-Z0-9_-]{1,64}).")
    var tool: String

    @Option(name: .long, help: "The input: JSON text, or @FILE to read it from FILE (default {}).")
    var input: String?

    @Option(name: .long, help: "Idempotency key: the same key returns the recorded result instead of running again.")
    var key: String?

    @Option(name: .customLong("run"), help: "The run this step belongs to (default: a new run).")
    var runId: String?

    @Flag(name: .long, help: "Run the command given after -- as the tool.")
    var exec = false

    @Option(name: .long, help: "Effect class of the --exec tool: read-only, idempotent or non-idempotent.")
    var effect: String?

    @Option(name: .long, help: "Profile name or JSON file (default: default).")
    var profile: String = "default"

    @Option(name: .long, help: "Wall-clock limit per attempt in seconds.")
    var timeout: Double?

    @Option(name: .long, help: "Memory limit in bytes (K, M, G suffixes allowed).")
    var memory: String?

    @Option(name: .customLong("allow-read"), help: "Also allow reading PATH (repeatable).")
    var allowRead: [String] = []

    @Option(name: .customLong("allow-write"), help: "Also allow reading and writing PATH (repeatable).")
    var allowWrite: [String] = []

    @Option(name: .long, help: "Network: none, loopback or host.")
    var net: String?

    @Option(name: .long, help: "Pass the host variable NAME to the tool (repeatable).")
    var env: [String] = []

    @Flag(name: .customLong("require-approval"), help: "The step waits for `airlock approve` before it runs.")
    var requireApproval = false

    @Option(name: .customLong("approval-ttl"), help: "An approval lapses after this many seconds.")
    var approvalTTL: UInt64?

    @Option(name: .customLong("max-attempts"), help: "Attempts in all, the first included (default 1).")
    var maxAttempts: Int = 1

    @Option(name: .customLong("retry-interval"), help: "Seconds before the first retry (default 0.2).")
    var retryInterval: Double = 0.2

    @Option(name: .long, help: "Factor between successive retry intervals (default 2).")
    var backoff: Double = 2

    @Option(name: .customLong("max-interval"), help: "Longest retry interval in seconds (default 30).")
    var maxInterval: Double = 30

    @Option(name: .long, help: "Random spread of each interval, 0 to 1 (default 0.2).")
    var jitter: Double = 0.2

    @Option(name: .customLong("non-retryable-exit"), help: "An exit code that is never retried (repeatable).")
    var nonRetryableExit: [Int32] = []

    @Option(name: .customLong("no-effect-exit"), help: "An exit code meaning 'failed before any effect' (repeatable): the only ones after which a non-idempotent tool is retried.")
    var noEffectExit: [Int32] = []

    @Option(name: .long, help: "A reconcile probe: a command line (split on spaces) that answers {\"happened\": true|false, \"result\": ...} for the key in $AIRLOCK_IDEMPOTENCY_KEY.")
    var reconcile: String?

    @Argument(parsing: .postTerminator, help: "With --exec: the command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        guard !tool.isEmpty, tool.count <= 64, tool.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            throw ValidationError("the tool name must match [a-zA-Z0-9_-]{1,64}, not '\(tool)'")
        }
        if !exec {
            if !command.isEmpty { throw ValidationError("a command after -- needs --exec (a registered tool runs its own command)") }
            if effect != nil { throw ValidationError("--effect is for --exec tools; a registered tool's effect class is set by `airlock tools add`") }
            if let key, key.isEmpty || key.utf8.count > 512 { throw ValidationError("--key must be 1 to 512 bytes") }
            if let runId, runId.isEmpty || runId.utf8.count > 128 { throw ValidationError("--run must be 1 to 128 bytes") }
            return
        }
        if command.isEmpty { throw ValidationError("--exec needs a command after --") }
        guard let effect else { throw ValidationError("--exec needs --effect read-only, idempotent or non-idempotent") }
        if EffectClass(rawValue: effect) == nil {
            throw ValidationError("--effect must be read-only, idempotent or non-idempotent, not '\(effect)'")
        }
        if let timeout, !(timeout > 0 && timeout <= 1e9) { throw ValidationError("--timeout must be a positive number of seconds, at most 1e9") }
        if let net, NetworkMode(rawValue: net) == nil { throw ValidationError("--net must be none, loopback or host, not '\(net)'") }
        if !(1...1000).contains(maxAttempts) { throw ValidationError("--max-attempts must be between 1 and 1000") }
        if !(retryInterval >= 0 && retryInterval <= 86400) { throw ValidationError("--retry-interval must be between 0 and 86400 seconds") }
        if !(maxInterval >= 0 && maxInterval <= 86400) { throw ValidationError("--max-interval must be between 0 and 86400 seconds") }
        if !(backoff >= 1 && backoff <= 100) { throw ValidationError("--backoff must be between 1 and 100") }
        if !(jitter >= 0 && jitter <= 1) { throw ValidationError("--jitter must be between 0 and 1") }
        if let key, key.isEmpty || key.utf8.count > 512 { throw ValidationError("--key must be 1 to 512 bytes") }
        if let runId, runId.isEmpty || runId.utf8.count > 128 { throw ValidationError("--run must be 1 to 128 bytes") }
        if let reconcile, reconcile.split(separator: " ").isEmpty { throw ValidationError("--reconcile needs a command") }
        for name in env where name.isEmpty || name.contains("=") {
            throw ValidationError("--env takes a variable name to pass from the host, not '\(name)'")
        }
    }

    /// Reads `--input`: JSON text or @FILE, at most 16 MiB.
    func readInput() throws -> JSONValue {
        guard let text = input else { return .object([:]) }
        var bytes = Array(text.utf8)
        if text.hasPrefix("@") {
            // Parsed as bytes, so invalid UTF-8 in the file is an error, not U+FFFD.
            guard let contents = readWholeFile(String(text.dropFirst()), limit: 16 << 20) else {
                throw ValidationError("--input \(text): cannot read it (missing, unreadable, or over 16 MiB)")
            }
            bytes = contents
        } else if bytes.count > 16 << 20 {
            throw ValidationError("--input is over 16 MiB")
        }
        do {
            return try JSONValue.parse(bytes)
        } catch {
            throw ValidationError("--input is not valid JSON: \(error)")
        }
    }

    func toolSpec() throws -> ToolSpec {
        let resolved = try Executable.resolve(command[0], environment: Sandbox.processEnvironment())
        let digest = try Executable.digest(path: resolved)
        var spec = ToolSpec(name: tool, version: "exec", digest: digest, command: command, effect: EffectClass(rawValue: effect!)!)
        spec.profile = profile
        if let timeout { spec.timeoutMs = UInt64((timeout * 1000).rounded(.up)) }
        if let memory { spec.memoryBytes = try ExecOptions.parseBytes(memory, flag: "--memory") }
        let cwd = Sandbox.currentDirectory()
        spec.allowRead = try allowRead.map { try ExecOptions.absoluteExisting($0, cwd: cwd, flag: "--allow-read") }
        spec.allowWrite = try allowWrite.map { try ExecOptions.absoluteExisting($0, cwd: cwd, flag: "--allow-write") }
        spec.network = net.flatMap(NetworkMode.init(rawValue:))
        spec.env = env
        spec.approval = requireApproval ? .always : .never
        spec.approvalTTLSeconds = approvalTTL
        spec.retry.maxAttempts = maxAttempts
        spec.retry.initialIntervalMs = UInt64((retryInterval * 1000).rounded())
        spec.retry.backoff = backoff
        spec.retry.maxIntervalMs = UInt64((maxInterval * 1000).rounded())
        spec.retry.jitter = jitter
        spec.retry.nonRetryableExitCodes = nonRetryableExit
        spec.noEffectExitCodes = noEffectExit
        spec.reconcile = reconcile.map { $0.split(separator: " ").map(String.init) }
        // The profile must load now: a bad profile is a usage error, not a failed step.
        _ = try spec.resolvedProfile()
        return spec
    }

    func run() throws {
        let value: JSONValue
        let spec: ToolSpec
        let runtime: Runtime
        do {
            value = try readInput()
            let adHoc = exec ? try toolSpec() : nil
            runtime = try options.openRuntime()
            spec = try adHoc ?? runtime.prepareCall(tool: tool, input: value)
        } catch let error as ValidationError {
            printError("airlock call: \(error.message)")
            throw ExitCode(JournalExit.usage)
        } catch let error as RuntimeError {
            throw fail("call", error)
        } catch let error as JournalError {
            throw fail("call", error)
        } catch {
            printError("airlock call: \(error)")
            throw ExitCode(JournalExit.usage)
        }
        let answer: CallAnswer
        do {
            let request = CallRequest(tool: spec, input: value, key: key, run: runId)
            answer = try blocking { try await runtime.call(request) }
        } catch { throw fail("call", error) }
        if options.json {
            printOut(answer.json.serialized(pretty: true))
        } else {
            switch answer.status {
            case .succeeded:
                if case .string(let text)? = answer.result {
                    if !text.isEmpty { printOut(text) }
                } else {
                    printOut((answer.result ?? .null).serialized())
                }
            case .awaitingApproval:
                printOut(answer.step.id)
                printError("airlock call: \(answer.message)")
            default:
                printError("airlock call: \(answer.message)")
                if answer.status == .failed, let tail = answer.step.error?["stderrTail"]?.stringValue {
                    printError("stderr (tail):\n" + tail)
                }
            }
        }
        throw ExitCode(JournalExit.status(answer.status))
    }
}

