import AirlockJournal
import AirlockSandbox
import AirlockRuntime
import ArgumentParser

struct Tokens: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bearer tokens for `airlock serve --http`: create, list, revoke.",
        discussion: """
            A token's secret is shown once, by `create`; the journal keeps only its SHA-256. An agent \
            token calls tools (all of them, or those --tools names); an operator token also uses the \
            operator API and /metrics. Exit status: 0 done; 2 usage error (a taken name, an unknown \
            tool, no such token); 8 Airlock itself failed.
            """,
        subcommands: [Create.self, List.self, Revoke.self], defaultSubcommand: List.self)

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print its secret (once).")
        @OptionGroup var options: HomeOptions
        @Option(name: .long, help: "The token's name (1-64 letters, digits, '_' or '-'); names stay taken after revoke.")
        var name: String
        @Option(name: .long, help: "agent (calls tools) or operator (also the operator API).") var role: String
        @Option(name: .long, help: "Only these registered tools, comma-separated (default: every tool).") var tools: String?
        @Option(name: .long, help: "Who creates it (default: $AIRLOCK_OPERATOR, else $USER).") var by: String?

        func validate() throws {
            if TokenRole(rawValue: role) == nil { throw ValidationError("--role must be agent or operator, not '\(role)'") }
            if let tools, tools.split(separator: ",").isEmpty { throw ValidationError("--tools names no tool") }
        }

        func run() throws {
            do {
                let runtime = try options.openRuntime()
                let list = tools.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: " ") } }
                let (tokenName, tokenRole, who) = (name, TokenRole(rawValue: role)!, actor(by))
                let issued = try blocking { try await runtime.createToken(name: tokenName, role: tokenRole, tools: list, by: who) }
                if options.json {
                    var object = issued.record.json.objectValue ?? [:]
                    object["secret"] = .string(issued.secret)
                    printOut(JSONValue.object(object).serialized(pretty: true))
                    return
                }
                printOut(issued.secret)
                printError("token \(issued.record.name) (\(issued.record.role.rawValue)) created; the secret above is shown only this once")
            } catch { throw fail("tokens create", error) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var options: HomeOptions

        func run() throws {
            do {
                let tokens = try options.openRuntime().tokens()
                if options.json {
                    printOut(JSONValue.array(tokens.map(\.json)).serialized(pretty: true))
                    return
                }
                if tokens.isEmpty { printOut("no tokens"); return }
                for token in tokens {
                    let tools = token.tools.map { $0.joined(separator: ",") } ?? "all tools"
                    let state = token.revokedAt.map { "revoked \(timestamp($0))" } ?? "live"
                    printOut("\(token.name)  \(token.role.rawValue)  \(tools)  created \(timestamp(token.createdAt))  \(state)")
                }
            } catch { throw fail("tokens list", error) }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: its next request is refused (401).")
        @OptionGroup var options: HomeOptions
        @Argument(help: "The token's name.") var name: String
        @Option(name: .long, help: "Who revokes it (default: $AIRLOCK_OPERATOR, else $USER).") var by: String?

        func run() throws {
            do {
                let runtime = try options.openRuntime()
                let (tokenName, who) = (name, actor(by))
                let record = try blocking { try await runtime.revokeToken(name: tokenName, by: who) }
                if options.json { printOut(record.json.serialized(pretty: true)); return }
                printOut("token \(record.name) revoked")
            } catch { throw fail("tokens revoke", error) }
        }
    }
}
