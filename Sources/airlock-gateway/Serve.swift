import AirlockGateway
import AirlockJournal
import AirlockRuntime
import AirlockSandbox
import ArgumentParser
import Dispatch
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "airlock serve",
        abstract: "Serve the registered tools over MCP (stdio or streamable HTTP) and the operator API.",
        discussion: """
            --mcp stdio: MCP on stdin/stdout as the local operator; logs go to stderr.
            --http HOST:PORT: MCP at /mcp (streamable HTTP), the operator API at /api/v1, /healthz and
            /metrics; every request but /healthz needs a bearer token (airlock tokens create).
            SIGTERM (or SIGINT) stops taking calls, lets the calls in flight finish for --grace seconds,
            then kills their children and exits 1 (what was cut off is in the journal for `airlock resume`).
            """)

    @Option(name: .long, help: "Airlock's home directory (default: $AIRLOCK_HOME, else ./.airlock).")
    var home: String?
    @Option(name: .long, help: "Commit durability: process or power. Default: $AIRLOCK_DURABILITY, else process.")
    var durability: String?
    @Option(name: .long, help: "Serve MCP over this transport: stdio.") var mcp: String?
    @Option(name: .long, help: "Serve HTTP on HOST:PORT (HOST defaults to 127.0.0.1; PORT 0 picks a free one).") var http: String?
    @Option(name: .long, help: "Calls running at once, over all tools (default 8).") var concurrency: Int = 8
    @Option(name: .customLong("tool-concurrency"), help: "Calls of one tool running at once (default 4).") var toolConcurrency: Int = 4
    @Option(name: .long, help: "Calls waiting for a slot; past it a call is answered busy at once (default 64).") var queue: Int = 64
    @Option(name: .customLong("max-body"), help: "The largest request body (HTTP) or message (stdio), in bytes (default 4194304).")
    var maxBody: Int = 4 << 20
    @Option(name: .long, help: "Seconds SIGTERM waits for calls in flight (default 30).") var grace: Double = 30
    @Option(name: .customLong("allow-host"), help: "Also accept this Host header (host:port) on /mcp; repeatable.") var allowHost: [String] = []
    @Option(name: .customLong("allow-origin"), help: "Also accept this Origin on /mcp; repeatable.") var allowOrigin: [String] = []
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String = "info"

    func validate() throws {
        if (mcp == nil) == (http == nil) { throw ValidationError("give one of --mcp stdio or --http HOST:PORT") }
        if let mcp, mcp != "stdio" { throw ValidationError("--mcp takes stdio (for HTTP, use --http HOST:PORT)") }
        if let http, Self.address(http) == nil { throw ValidationError("--http must be HOST:PORT or PORT, not '\(http)'") }
        if concurrency < 1 || toolConcurrency < 1 { throw ValidationError("--concurrency and --tool-concurrency must be at least 1") }
        if queue < 0 { throw ValidationError("--queue must be 0 or more") }
        if maxBody < 1024 || maxBody > 64 << 20 { throw ValidationError("--max-body must be from 1024 to 67108864 bytes") }
        if !(grace >= 0 && grace <= 86400) { throw ValidationError("--grace must be from 0 to 86400 seconds") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical") }
        if let durability, Durability(rawValue: durability) == nil {
            throw ValidationError("--durability must be process or power, not '\(durability)'")
        }
    }

    /// The home and durability as the other commands resolve them.
    func openRuntime() throws -> Runtime {
        let environment = Sandbox.processEnvironment()
        let home = home ?? environment["AIRLOCK_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ".airlock"
        guard let mode = Durability(rawValue: durability ?? environment["AIRLOCK_DURABILITY"] ?? "process") else {
            throw RuntimeError(.usage, "AIRLOCK_DURABILITY must be process or power")
        }
        return try Runtime(home: home, durability: mode)
    }

    /// `HOST:PORT`, `[V6]:PORT` or `PORT`.
    static func address(_ text: String) -> (host: String, port: Int)? {
        var host = "127.0.0.1"
        var portText = Substring(text)
        if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            if host.isEmpty { return nil }
        }
        guard let port = Int(portText), (0...65535).contains(port) else { return nil }
        return (host, port)
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "airlock.gateway")
        signal(SIGPIPE, SIG_IGN)
        let runtime: Runtime
        do {
            runtime = try openRuntime()
        } catch let error as RuntimeError {
            printError("airlock serve: \(error.message)")
            throw ExitCode(error.code == .usage ? GatewayExit.usage : GatewayExit.internalFailure)
        } catch {
            printError("airlock serve: \(error)")
            throw ExitCode(GatewayExit.internalFailure)
        }
        var limits = GatewayLimits()
        limits.concurrency = concurrency
        limits.perToolConcurrency = toolConcurrency
        limits.queueDepth = queue
        limits.maxBodyBytes = maxBody
        limits.graceSeconds = grace
        let gateway = Gateway(runtime: runtime, limits: limits, logger: logger)
        let shutdown = ShutdownController(gateway: gateway, grace: grace, logger: logger)
        shutdown.install()

        if mcp != nil {
            try blocking { try await gateway.serveStdio() }
            // stdin ended: the client is gone; the calls it started have their receipts.
            Glibc.exit(0)
        }
        let (host, port) = Self.address(http!)!
        let front = HTTPGateway(gateway: gateway, host: host, port: port, allowedHosts: allowHost, allowedOrigins: allowOrigin)
        let bound = Atomic<Int>(port)
        let app = Application(
            router: front.router(boundPort: { bound.load(ordering: .relaxed) }),
            // A connection that sends nothing for 30 s while no request of it runs is closed
            // (a client that never finishes its headers cannot hold a descriptor forever).
            server: .http1(configuration: .init(idleTimeout: .seconds(30))),
            configuration: .init(address: .hostname(host, port: port), serverName: "airlock"),
            onServerRunning: { channel in
                let actual = channel.localAddress?.port ?? port
                bound.store(actual, ordering: .relaxed)
                // Tests and scripts read this line to learn the port.
                printError("airlock serve: listening on http://\(host.contains(":") ? "[\(host)]" : host):\(actual)")
            },
            logger: logger)
        do {
            try blocking {
                let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
                shutdown.onDrain { Task { await group.triggerGracefulShutdown() } }
                try await group.run()
            }
        } catch {
            printError("airlock serve: \(error)")
            throw ExitCode(GatewayExit.internalFailure)
        }
        // The server stopped after SIGTERM; the controller decides the exit.
        shutdown.waitForever()
    }
}

/// Kept alive for the life of the process; written once, from the main thread, by `install`.
nonisolated(unsafe) private var signalSources: [any DispatchSourceSignal] = []

/// SIGTERM and SIGINT: refuse new calls, stop accepting connections, give the calls in flight
/// `grace` seconds, then exit: 0 when none was cut off, else 1 after naming them (the process's
/// exit takes their children with it: each child dies with its parent's thread and its pid
/// namespace, and its step stays `started` in the journal for `resume`).
final class ShutdownController: Sendable {
    let gateway: Gateway
    let grace: Double
    let logger: Logger
    private let drainHandlers = Mutex<[@Sendable () -> Void]>([])

    init(gateway: Gateway, grace: Double, logger: Logger) {
        self.gateway = gateway
        self.grace = grace
        self.logger = logger
    }

    func onDrain(_ handler: @escaping @Sendable () -> Void) { drainHandlers.withLock { $0.append(handler) } }

    func install() {
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in self.shutDown(signal: number) }
            source.resume()
            signalSources.append(source)
        }
    }

    func shutDown(signal number: Int32) {
        let wasDraining = gateway.inFlight(draining: true)
        if wasDraining {
            // A second signal: do not wait any longer.
            exitNow(gateway.callsInFlight)
        }
        let running = gateway.callsInFlight
        logger.notice("signal \(number): no new calls; waiting up to \(grace) s for \(running.count) in flight")
        for handler in drainHandlers.withLock({ $0 }) { handler() }
        Task.detached { [self] in
            let left = await gateway.waitForCalls(upTo: grace)
            exitNow(left)
        }
    }

    func exitNow(_ left: [String]) -> Never {
        if left.isEmpty {
            logger.notice("every call in flight finished; exiting")
            // Let the answers just written reach their clients.
            usleep(200_000)
            Glibc.exit(0)
        }
        printError("airlock serve: grace period over; killing the children of \(left.count) call(s) still running: \(left.joined(separator: "; ")). Their steps stay started in the journal: `airlock resume` re-runs what is safe and puts the rest in doubt.")
        Glibc._exit(1)
    }

    func waitForever() -> Never {
        while true { pause() }
    }
}
