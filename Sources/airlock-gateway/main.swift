import AirlockJournal
import AirlockRuntime
import AirlockSandbox
import ArgumentParser
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// `airlock serve` runs this program (it sits next to `airlock`): the gateway links SwiftNIO,
// Hummingbird, the MCP SDK and, through FoundationNetworking, libcurl and its ~30 libraries;
// linked into `airlock` they doubled every `airlock exec`'s start-up (9 -> 19 ms).

Sandbox.ensureStandardDescriptors()
do {
    var command = try Serve.parseAsRoot(Array(CommandLine.arguments.dropFirst()))
    try command.run()
} catch let code as ExitCode {
    exit(code.rawValue)
} catch {
    if Serve.exitCode(for: error) == .success {
        Serve.exit(withError: error)  // --help
    }
    let message = Serve.fullMessage(for: error)
    if !message.isEmpty { printError("airlock serve: \(message)") }
    exit(GatewayExit.usage)
}

/// The exit statuses `airlock serve` shares with the journaled commands.
enum GatewayExit {
    static let usage: Int32 = 2
    static let internalFailure: Int32 = 8
}

func printError(_ text: String) {
    var line = text
    if !line.hasSuffix("\n") { line += "\n" }
    line.utf8CString.withUnsafeBufferPointer { buffer in
        _ = write(2, buffer.baseAddress, buffer.count - 1)
    }
}
