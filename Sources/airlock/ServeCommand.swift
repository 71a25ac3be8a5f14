import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `airlock serve`: runs `airlock-gateway`, the program beside this one (or
/// `$AIRLOCK_GATEWAY`), with the same arguments. The gateway is a separate program so that
/// `airlock` itself does not load the HTTP and MCP stacks (they doubled `exec`'s start-up).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the registered tools over MCP (stdio or streamable HTTP) and the operator API.",
        discussion: "See `airlock serve --help` for the options (answered by airlock-gateway).")

    @Argument(parsing: .captureForPassthrough, help: "--mcp stdio | --http HOST:PORT, and the gateway's options.")
    var arguments: [String] = []

    func run() throws { Self.execGateway(arguments) }

    /// Replaces this process with the gateway; returns only to exit with a message.
    static func execGateway(_ arguments: [String]) -> Never {
        let path = gatewayPath()
        guard access(path, X_OK) == 0 else {
            printError("airlock serve: the gateway program is missing at \(path) (build it: swift build --product airlock-gateway, or set AIRLOCK_GATEWAY)")
            Glibc.exit(JournalExit.internalFailure)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        execv(path, argv)
        printError("airlock serve: cannot run \(path): \(String(cString: strerror(errno)))")
        Glibc.exit(JournalExit.internalFailure)
    }

    static func gatewayPath() -> String {
        if let chosen = getenv("AIRLOCK_GATEWAY"), chosen.pointee != 0 { return String(cString: chosen) }
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "airlock-gateway" }
        let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = exe.lastIndex(of: "/") else { return "airlock-gateway" }
        return String(exe[..<slash]) + "/airlock-gateway"
    }
}
