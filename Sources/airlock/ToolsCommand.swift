import AirlockJournal
import AirlockRuntime
import AirlockSandbox
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

struct Tools: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The tool registry: register plugins by manifest, pin their digests, list and export them.",
        discussion: """
            Exit status: 0 done; 1 `verify` found a changed or missing file; 2 usage error or \
            invalid manifest; 8 Airlock itself failed.
            """,
        subcommands: [Add.self, List.self, Show.self, Remove.self, Verify.self, Export.self], defaultSubcommand: List.self)

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register the plugin a manifest (JSON or YAML) describes, or approve it again after a change.",
            discussion: """
                Pins the SHA-256 of the executable, of the plugin's scripts named in the command, and \
                of the manifest. An mcp-stdio manifest starts its server in the sandbox, lists its \
                tools, and registers each as NAME__TOOL. The flags override what the plugin declares; \
                overrides given at an earlier `add` are kept unless --reset-overrides.
                """)

        @OptionGroup var options: HomeOptions

        @Argument(help: "The manifest file.")
        var manifest: String

        @Option(name: .long, help: "Override the effect class: read-only, idempotent or non-idempotent.")
        var effect: String?

        @Option(name: .long, help: "Override approval: never or always.")
        var approval: String?

        @Option(name: .customLong("approval-ttl"), help: "An approval lapses after this many seconds.")
        var approvalTTL: UInt64?

        @Option(name: .long, help: "Override the wall-clock limit per attempt, in seconds.")
        var timeout: Double?

        @Option(name: .long, help: "Override the memory limit in bytes (K, M, G suffixes allowed).")
        var memory: String?

        @Option(name: .long, help: "Override the CPU-time limit per attempt, in seconds.")
        var cpu: Double?

        @Option(name: .long, help: "Override the limit on live processes and threads.")
        var pids: UInt64?

        @Option(name: .long, help: "Override the cap on each of stdout and stderr in bytes (K, M, G suffixes allowed).")
        var output: String?

        @Option(name: .customLong("max-attempts"), help: "Override the attempts in all, the first included.")
        var maxAttempts: Int?

        @Option(name: .long, help: "Override the profile (a name or a JSON file).")
        var profile: String?

        @Option(name: .long, help: "Override the network: none, loopback or host.")
        var net: String?

        @Flag(name: .customLong("reset-overrides"), help: "Drop the overrides of earlier `add`s of these tools.")
        var resetOverrides = false

        @Option(name: .long, help: "Who approves (default: $AIRLOCK_OPERATOR, else $USER).")
        var by: String?

        func overrides() throws -> ToolOverrides {
            var o = ToolOverrides()
            if let effect {
                guard let value = EffectClass(rawValue: effect) else { throw ValidationError("--effect must be read-only, idempotent or non-idempotent, not '\(effect)'") }
                o.effect = value
            }
            if let approval {
                guard let value = ApprovalPolicy(rawValue: approval) else { throw ValidationError("--approval must be never or always, not '\(approval)'") }
                o.approval = value
            }
            o.approvalTTLSeconds = approvalTTL
            if let timeout {
                guard timeout > 0 && timeout <= 86400 else { throw ValidationError("--timeout must be a number of seconds above 0 and at most 86400") }
                o.wallTimeMs = UInt64((timeout * 1000).rounded(.up))
            }
            if let memory { o.memoryBytes = try ExecOptions.parseBytes(memory, flag: "--memory") }
            if let cpu {
                guard cpu > 0 && cpu <= 86400 else { throw ValidationError("--cpu must be a number of seconds above 0 and at most 86400") }
                o.cpuTimeMs = UInt64((cpu * 1000).rounded(.up))
            }
            if let pids {
                guard pids > 0 else { throw ValidationError("--pids must be at least 1") }
                o.processes = pids
            }
            if let output { o.outputBytes = try ExecOptions.parseBytes(output, flag: "--output") }
            if let maxAttempts {
                guard (1...1000).contains(maxAttempts) else { throw ValidationError("--max-attempts must be between 1 and 1000") }
                o.maxAttempts = maxAttempts
            }
            if var profile {
                // A file is stored by its absolute path (and pinned by `add`), never relative to
                // the directory of a later call.
                if profile.contains("/") {
                    guard let real = realpath(profile, nil) else { throw ValidationError("--profile \(profile): \(String(cString: strerror(errno)))") }
                    profile = String(cString: real)
                    free(real)
                }
                do { _ = try Profile.named(profile) } catch { throw ValidationError("--profile: \(error)") }
                o.profile = profile
            }
            if let net {
                guard let value = NetworkMode(rawValue: net) else { throw ValidationError("--net must be none, loopback or host, not '\(net)'") }
                o.network = value
            }
            return o
        }

        func run() throws {
            let chosen: ToolOverrides
            do { chosen = try overrides() } catch let error as ValidationError {
                printError("airlock tools add: \(error.message)")
                throw ExitCode(JournalExit.usage)
            }
            let added: [ToolRegistration]
            do {
                let runtime = try options.openRuntime()
                let who = actor(by)
                let path = manifest
                let reset = resetOverrides
                added = try blocking { try await runtime.addTools(manifestPath: path, overrides: chosen, replaceOverrides: reset, by: who) }
            } catch { throw fail("tools add", error) }
            if options.json {
                printOut(JSONValue.array(added.map(\.json)).serialized(pretty: true))
            } else {
                for tool in added {
                    printOut("registered \(tool.name): \(tool.spec.protocolKind.rawValue), \(tool.spec.effect.rawValue), approval \(tool.spec.approval.rawValue), sha256 \(tool.spec.digest.prefix(16))…")
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the registered tools.")

        @OptionGroup var options: HomeOptions

        func run() throws {
            let tools: [ToolRegistration]
            do {
                tools = try options.openRuntime().registeredTools()
            } catch { throw fail("tools list", error) }
            if options.json {
                printOut(JSONValue.array(tools.map(\.json)).serialized(pretty: true))
                return
            }
            if tools.isEmpty {
                printError("no tools registered (add one with `airlock tools add MANIFEST`)")
                return
            }
            let rows = tools.map { [$0.name, $0.spec.protocolKind.rawValue, $0.spec.effect.rawValue, $0.spec.approval.rawValue, String($0.spec.digest.prefix(12)), $0.description] }
            printTable(["NAME", "PROTOCOL", "EFFECT", "APPROVAL", "SHA256", "DESCRIPTION"], rows)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one tool's registration (JSON): manifest, pins, schemas, overrides, effective spec.")

        @OptionGroup var options: HomeOptions

        @Argument(help: "The tool's name.")
        var name: String

        func run() throws {
            let tool: ToolRegistration?
            do {
                tool = try options.openRuntime().registeredTool(name)
            } catch { throw fail("tools show", error) }
            guard let tool else {
                printError("airlock tools show: no tool named \(name) (see `airlock tools list`)")
                throw ExitCode(JournalExit.usage)
            }
            var document = tool.json.objectValue ?? [:]
            document["annotations"] = .object(tool.annotations)
            printOut(JSONValue.object(document).serialized(pretty: true))
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a tool from the registry (its steps stay in the journal).")

        @OptionGroup var options: HomeOptions

        @Argument(help: "The tool's name.")
        var name: String

        @Option(name: .long, help: "Who removes it (default: $AIRLOCK_OPERATOR, else $USER).")
        var by: String?

        func run() throws {
            do {
                let runtime = try options.openRuntime()
                let tool = name
                let who = actor(by)
                try blocking { try await runtime.removeTool(name: tool, by: who) }
            } catch { throw fail("tools remove", error) }
            if !options.json { printOut("removed \(name)") } else { printOut(#"{"removed": \#(JSONValue.string(name).serialized())}"#) }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-hash every registered tool's executable, scripts and manifest; exit 1 if any changed.")

        @OptionGroup var options: HomeOptions

        func run() throws {
            let results: [ToolVerification]
            do {
                results = try options.openRuntime().verifyTools()
            } catch { throw fail("tools verify", error) }
            if options.json {
                printOut(JSONValue.array(results.map(\.json)).serialized(pretty: true))
            } else {
                for result in results {
                    printOut("\(result.name): \(result.status.rawValue)")
                    for problem in result.problems { printOut("  " + problem) }
                }
            }
            if results.contains(where: { $0.status != .ok }) { throw ExitCode(1) }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the registered tools as MCP (tools/list result, with annotations) or OpenAI function definitions.")

        @OptionGroup var options: HomeOptions

        @Option(name: .long, help: "mcp or openai.")
        var format: String = "mcp"

        func run() throws {
            do {
                let tools = try options.openRuntime().registeredTools()
                printOut(try Runtime.export(tools, format: format).serialized(pretty: true))
            } catch { throw fail("tools export", error) }
        }
    }
}

/// Columns padded to their widest cell.
func printTable(_ header: [String], _ rows: [[String]]) {
    let all = [header] + rows
    var widths = [Int](repeating: 0, count: header.count)
    for row in all { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
    for row in all {
        var line = ""
        for (i, cell) in row.enumerated() {
            line += i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 2)
        }
        printOut(line)
    }
}
