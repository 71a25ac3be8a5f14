import AirlockSandbox
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

@main
struct Airlock: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "airlock",
        abstract: "Run AI agents' tool calls in freshly cloned, confined children.",
        subcommands: [
            Exec.self, Call.self, Tools.self, Serve.self, Tokens.self, Runs.self, Steps.self, Resume.self, Approve.self, Deny.self, Resolve.self, Audit.self,
            Profiles.self, Doctor.self,
        ]
    )

    /// Exit status for Airlock's own failures in `exec` (like timeout(1) and env(1)).
    static let setupFailureStatus: Int32 = 125

    static let journaledCommands: Set<String> = ["call", "serve", "tokens", "runs", "steps", "resume", "approve", "deny", "resolve", "audit"]

    static func main() {
        Sandbox.ensureStandardDescriptors()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "serve" {
            Serve.execGateway(Array(arguments.dropFirst()))
        }
        if arguments.first == "exec", let options = ExecOptions.fastParse(Array(arguments.dropFirst())) {
            do {
                try options.validate()
                try options.run()
            } catch let code as ExitCode {
                Glibc.exit(code.rawValue)
            } catch let error as ValidationError {
                printError("airlock exec: \(error.message)")
                Glibc.exit(setupFailureStatus)
            } catch {
                printError("airlock exec: \(error)")
                Glibc.exit(setupFailureStatus)
            }
            Glibc.exit(0)
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            // `exec` keeps 1-124 and 126+ for the tool: its own usage errors are 125.
            // Help and version requests are not errors; they exit as swift-argument-parser says.
            if arguments.first == "exec", !(error is ExitCode), exitCode(for: error) != .success {
                let message = fullMessage(for: error)
                if !message.isEmpty { printError("airlock exec: \(message)") }
                Glibc.exit(setupFailureStatus)
            }
            // The journaled commands' usage errors are 2, as their exit-status contract says.
            if let first = arguments.first, journaledCommands.contains(first), !(error is ExitCode),
                exitCode(for: error) != .success
            {
                let message = fullMessage(for: error)
                if !message.isEmpty { printError("airlock \(first): \(message)") }
                Glibc.exit(JournalExit.usage)
            }
            exit(withError: error)
        }
    }
}

func printError(_ text: String) {
    var line = text
    if !line.hasSuffix("\n") { line += "\n" }
    line.utf8CString.withUnsafeBufferPointer { buffer in
        _ = write(2, buffer.baseAddress, buffer.count - 1)
    }
}

func printOut(_ text: String, newline: Bool = true) {
    var line = text
    if newline && !line.hasSuffix("\n") { line += "\n" }
    line.utf8CString.withUnsafeBufferPointer { buffer in
        var offset = 0
        let count = buffer.count - 1
        while offset < count {
            let n = write(1, buffer.baseAddress! + offset, count - offset)
            if n <= 0 { return }
            offset += n
        }
    }
}
