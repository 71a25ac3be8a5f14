import AirlockCore
import AirlockRuntime
import Foundation
import Logging
import MCP

#if canImport(Glibc)
import Glibc
#endif

extension Gateway {
    public static let serverName = "airlock"
    public static let serverVersion = "0.5.0"

    /// An MCP server (one per stdio connection or HTTP session) whose calls are `principal`'s.
    func makeServer(principal: Principal, run: String) async -> Server {
        let server = Server(
            name: Self.serverName, version: Self.serverVersion, title: "Airlock",
            instructions: """
                Tools run sandboxed and journaled. Pass _meta["\(MetaKey.idempotencyKey)"] to make a retry \
                return the recorded result instead of running again (without one, a key is derived from the \
                arguments for tools that change things, and returned in the result's _meta).
                """,
            capabilities: Server.Capabilities(tools: .init(listChanged: false)))
        await server.withMethodHandler(ListTools.self) { [self] _ in
            try await handling {
                do {
                    return ListTools.Result(tools: try listTools(for: principal))
                } catch {
                    throw MCPError.internalError("cannot read the tool registry: \(error)")
                }
            }
        }
        await server.withMethodHandler(CallTool.self) { [self] params in
            try await handling { try await callTool(params, principal: principal, defaultRun: run) }
        }
        return server
    }

    /// `airlock serve --mcp stdio`: the protocol on stdout, logs on stderr, calls as the local
    /// operator. Returns when stdin ends (after the calls in flight have their receipts) or
    /// after SIGTERM (see `ShutdownSignal`).
    public func serveStdio() async throws {
        let run = Self.newRunID()
        let server = await makeServer(principal: .localOperator, run: run)
        let transport = LineTransport(
            maxLineBytes: limits.maxBodyBytes, logger: logger, interceptor: CallInterceptor(gateway: self, principal: .localOperator, run: run))
        try await server.start(transport: transport)
        logger.info("serving MCP on stdio")
        await server.waitUntilCompleted()
        // stdin ended. The requests read before it are answered (a client may close its end
        // after writing), and calls already admitted run to their receipts.
        // Calls are counted as they are read; a request the SDK handles is counted once its
        // task starts, so the count must stay at zero for a moment to be trusted.
        repeat {
            await waitForHandlers(upTo: 24 * 3600)
            try? await Task.sleep(nanoseconds: 100_000_000)
        } while handlers.withLock({ $0 }) > 0
    }
}
