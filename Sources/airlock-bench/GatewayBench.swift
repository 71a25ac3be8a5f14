// What the MCP gateway adds to a call: the registered json-stdio tool of the `registered` line
// called, in one invocation and in interleaved rounds,
//   (a) through the Swift API (`Runtime.callTool`, in this process),
//   (b) as MCP `tools/call` over stdio to `airlock serve --mcp stdio`,
//   (c) as MCP `tools/call` over streamable HTTP to `airlock serve --http 127.0.0.1:0`
//       (a keep-alive HTTP/1.1 client on a POSIX socket, its SSE answer parsed),
//   (d) at concurrency 8: HTTP (8 connections, one session each) next to the Swift API,
// plus, to see where the time goes: `Gateway.callTool` in this process (the gateway's own layer
// without a transport) and MCP `ping` over stdio and HTTP (the transport without a call).
// Every call carries a fresh idempotency key in `_meta`, so every call runs the tool.
import AirlockCore
import AirlockGateway
import AirlockRuntime
import AirlockSandbox
import Foundation
import Logging
import MCP
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `airlock-bench gateway --home DIR [--rounds R] [--calls N] [--c8-calls M] [--concurrency C]
/// [--warmup W] [--airlock PATH] [--profile P] [--markdown 1] /abs/path/jsonecho`
func gatewayBench(_ args: ArraySlice<String>) async throws {
    let flags = try Flags(
        args, known: ["home", "rounds", "calls", "c8-calls", "concurrency", "warmup", "airlock", "profile", "markdown"])
    let home = try flags.string("home")
    let rounds = max(1, try flags.int("rounds", 5))
    let calls = max(1, try flags.int("calls", 200))
    let concurrency = max(1, try flags.int("concurrency", 8))
    let c8Calls = max(concurrency, try flags.int("c8-calls", 2 * calls))
    let warmup = try flags.int("warmup", 20)
    let profile = try flags.string("profile", "default")
    let airlock = try flags.string("airlock", directoryOf(try selfExecutable()) + "/airlock")
    let markdown = try flags.int("markdown", 0) != 0
    let argv = flags.positional
    guard !argv.isEmpty else { throw BenchError("no command given") }
    guard access(airlock, X_OK) == 0 else { throw BenchError("no airlock binary at \(airlock) (give --airlock PATH)") }
    signal(SIGPIPE, SIG_IGN)

    // Three homes with the same manifest: this process's, the stdio server's and the HTTP server's.
    if mkdir(home, 0o700) != 0 && errno != EEXIST { throw BenchError("cannot create \(home)") }
    let apiHome = home + "/api"
    let stdioHome = home + "/stdio"
    let httpHome = home + "/http"
    let runtime = try Runtime(home: apiHome, durability: .process)
    let (apiManifest, _, sample) = try benchManifest(argv, home: apiHome, profile: profile)
    _ = try await runtime.addTools(manifestPath: apiManifest, overrides: ToolOverrides(), by: "bench")
    // The servers' homes are set up with the CLI, as an operator would.
    for serverHome in [stdioHome, httpHome] {
        let (manifest, _, _) = try benchManifest(argv, home: serverHome, profile: profile)
        _ = try runCapturing([airlock, "tools", "add", "--home", serverHome, manifest], stderrPath: serverHome + "/setup.log")
    }
    let tokenOut = try runCapturing(
        [airlock, "tokens", "create", "--home", httpHome, "--name", "bench", "--role", "agent"], stderrPath: httpHome + "/setup.log")
    guard let secret = tokenOut.split(separator: "\n").map({ $0.trimmingSpaces }).last(where: { $0.hasPrefix(Runtime.tokenPrefix) }) else {
        throw BenchError("no secret in the output of `airlock tokens create`: \(tokenOut)")
    }
    let limitFlags = ["--concurrency", "\(concurrency)", "--tool-concurrency", "\(concurrency)"]

    let stdio = try MCPStdioClient(
        argv: [airlock, "serve", "--home", stdioHome, "--mcp", "stdio"] + limitFlags, stderrPath: stdioHome + "/serve.log")
    let httpServer = try ChildProcess(
        argv: [airlock, "serve", "--home", httpHome, "--http", "127.0.0.1:0"] + limitFlags, stdin: nil, stdout: nil,
        stderrPath: httpHome + "/serve.log")
    defer {
        // Only the two servers this mode started, by pid: end of input for one, SIGTERM for the other.
        stdio.closeInput()
        kill(httpServer.pid, SIGTERM)
        _ = stdio.child.wait()
        _ = httpServer.wait()
    }
    let port = try waitForPort(logPath: httpHome + "/serve.log", server: httpServer)

    let argsText = sample.serialized()
    let mcpArguments = try mcpObject(sample)
    let pid = getpid()
    let ids = Counter()  // JSON-RPC ids and key numbers, unique over the invocation
    let body: @Sendable (Int, String) -> String = { id, line in
        #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"bench","arguments":\#(argsText),"_meta":{"dev.airlock/idempotency-key":"gw-\#(pid)-\#(line)-\#(id)","dev.airlock/run":"run-gw-\#(line)"}}}"#
    }
    let pingBody: @Sendable (Int) -> String = { id in #"{"jsonrpc":"2.0","id":\#(id),"method":"ping"}"# }

    // The HTTP clients: one for the C=1 lines, `concurrency` for the C=8 line, a session each.
    let http = try MCPHTTPClient(port: port, secret: secret)
    try http.initialize()
    var pool: [MCPHTTPClient] = []
    for _ in 0..<concurrency {
        let client = try MCPHTTPClient(port: port, secret: secret)
        try client.initialize()
        pool.append(client)
    }
    let poolClients = pool
    try stdio.initialize()

    var limits = GatewayLimits()
    limits.concurrency = concurrency
    limits.perToolConcurrency = concurrency
    let gateway = Gateway(runtime: runtime, limits: limits, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))

    // MARK: the lines

    /// C=1 lines: `n` calls one after another; latencies in µs.
    func runLine(_ name: String, _ n: Int) async throws -> [Double] {
        switch name {
        case "api":
            var times: [Double] = []
            for _ in 0..<n {
                let i = ids.next()
                let t0 = nowUs()
                let answer = try await runtime.callTool("bench", input: sample, key: "gw-\(pid)-api-\(i)", run: "run-gw-api")
                let t1 = nowUs()
                guard answer.status == .succeeded, !answer.replayed else {
                    throw BenchError("api call \(i): \(answer.status.rawValue), replayed \(answer.replayed): \(answer.message)")
                }
                times.append(t1 - t0)
            }
            return times
        case "gateway-inproc":
            var times: [Double] = []
            for _ in 0..<n {
                let i = ids.next()
                let params = CallTool.Parameters(
                    name: "bench", arguments: mcpArguments,
                    meta: Metadata(additionalFields: [
                        MetaKey.idempotencyKey: .string("gw-\(pid)-inproc-\(i)"), MetaKey.run: .string("run-gw-inproc"),
                    ]))
                let t0 = nowUs()
                let result = try await gateway.callTool(params, principal: .localOperator)
                let t1 = nowUs()
                guard result.isError == false, result._meta?[MetaKey.replayed] == .bool(false) else {
                    throw BenchError("in-process gateway call \(i) failed: \(result.content)")
                }
                times.append(t1 - t0)
            }
            return times
        case "stdio", "stdio-ping":
            let ping = name == "stdio-ping"
            return try await onThread {
                try (0..<n).map { _ in
                    let i = ids.next()
                    return try stdio.call(ping ? pingBody(i) : body(i, "stdio"), id: i, isCall: !ping)
                }
            }
        case "http", "http-ping":
            let ping = name == "http-ping"
            return try await onThread {
                try (0..<n).map { _ in
                    let i = ids.next()
                    return try http.call(ping ? pingBody(i) : body(i, "http"), id: i, isCall: !ping).totalUs
                }
            }
        default:
            throw BenchError("no line \(name)")
        }
    }

    /// C=8 lines: `n` calls with `concurrency` in flight; latencies and wall time in µs.
    func runConcurrent(_ name: String, _ n: Int) async throws -> (latencies: [Double], wallUs: Double) {
        switch name {
        case "api-c8":
            let result = await drive(count: n, concurrency: concurrency, offset: 0) { _ in
                let i = ids.next()
                do {
                    let answer = try await runtime.callTool("bench", input: sample, key: "gw-\(pid)-api8-\(i)", run: "run-gw-api8")
                    return answer.status == .succeeded && !answer.replayed ? nil : "\(answer.status.rawValue): \(answer.message)"
                } catch {
                    return "\(error)"
                }
            }
            if result.failures > 0 { throw BenchError("api C=\(concurrency): \(result.firstFailure)") }
            return (result.latenciesUs, result.wallUs)
        case "http-c8":
            let counter = Counter()
            let start = nowUs()
            let parts = try await withThrowingTaskGroup(of: [Double].self) { group in
                for client in poolClients {
                    group.addTask {
                        try await onThread {
                            var times: [Double] = []
                            while counter.next() < n {
                                let i = ids.next()
                                times.append(try client.call(body(i, "http8"), id: i, isCall: true).totalUs)
                            }
                            return times
                        }
                    }
                }
                var all: [Double] = []
                for try await part in group { all += part }
                return all
            }
            return (parts, nowUs() - start)
        default:
            throw BenchError("no line \(name)")
        }
    }

    // MARK: warm-up

    let latencyLines = ["api", "gateway-inproc", "stdio", "http", "stdio-ping", "http-ping"]
    let concurrentLines = ["api-c8", "http-c8"]
    for line in latencyLines { _ = try await runLine(line, warmup) }
    for line in concurrentLines { _ = try await runConcurrent(line, max(2 * concurrency, warmup)) }
    let rssAfterWarmup = (stdio: procStatusKiB(pid: stdio.child.pid, "VmRSS"), http: procStatusKiB(pid: httpServer.pid, "VmRSS"))

    // MARK: rounds

    var samples: [String: [[Double]]] = [:]
    var cpu: [String: CPUShare] = [:]
    var throughput: [String: [Double]] = [:]
    var httpToMessage: [Double] = []
    var httpToHead: [Double] = []
    let serverOf: [String: pid_t] = [
        "stdio": stdio.child.pid, "stdio-ping": stdio.child.pid, "http": httpServer.pid, "http-ping": httpServer.pid,
        "http-c8": httpServer.pid,
    ]
    for round in 0..<rounds {
        fail("gateway: round \(round + 1)/\(rounds)\n")
        for k in 0..<latencyLines.count {
            let line = latencyLines[(k + round) % latencyLines.count]
            _ = try await runLine(line, 2)  // the line's own warm-up after the others ran
            http.clearMessageTimes()
            let before = CPUShare.now(server: serverOf[line])
            let times = try await runLine(line, calls)
            cpu[line, default: CPUShare()].add(CPUShare.now(server: serverOf[line]).minus(before), calls: calls)
            samples[line, default: []].append(times)
            if line == "http" {
                httpToMessage += http.messageTimes
                httpToHead += http.headTimes
            }
        }
        for k in 0..<concurrentLines.count {
            let line = concurrentLines[(k + round) % concurrentLines.count]
            let before = CPUShare.now(server: serverOf[line])
            let (times, wall) = try await runConcurrent(line, c8Calls)
            cpu[line, default: CPUShare()].add(CPUShare.now(server: serverOf[line]).minus(before), calls: c8Calls)
            samples[line, default: []].append(times)
            throughput[line, default: []].append(Double(c8Calls) / (wall / 1e6))
        }
    }
    let rssAtEnd = (stdio: procStatusKiB(pid: stdio.child.pid, "VmRSS"), http: procStatusKiB(pid: httpServer.pid, "VmRSS"))
    let idsIssued = ids.next()

    // Parts, in this process: what the MCP SDK does with every string it decodes into a `Value`
    // (`Data.isDataURL`), and one tools/call request decoded as the SDK's `Value` against
    // Airlock's own parser.
    let requestBody = Data(body(0, "parts").utf8)
    let requestBytes = Array(requestBody)
    func timed(_ n: Int, _ work: () throws -> Void) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<n {
            let t0 = nowUs()
            try work()
            times.append(nowUs() - t0)
        }
        return percentile(times, 0.5)
    }
    var sink = 0
    // A real answer to encode, from the in-process gateway.
    let sampleResult = try await gateway.callTool(
        CallTool.Parameters(
            name: "bench", arguments: mcpArguments,
            meta: Metadata(additionalFields: [MetaKey.idempotencyKey: .string("gw-\(pid)-parts"), MetaKey.run: .string("run-gw-parts")])),
        principal: .localOperator)
    let parts: [(key: String, title: String, us: Double)] = [
        ("sdkCodecPerCall", "the MCP SDK's own decoding and encoding of one tools/call (the server's message loop, its typed handler and the answer), replayed", try timed(300) { sink += try sdkRoundTrip(requestBody, result: sampleResult) }),
        ("isDataURL", "`Data.isDataURL(string: \"value-0\")` (MCP SDK; run on every string `Value` decoded)", timed(300) { sink += Data.isDataURL(string: "value-0") ? 1 : 0 }),
        ("requestAsSDKValue", "this tools/call request decoded as the SDK's `Value` (`JSONDecoder`)", try timed(300) { sink += try JSONDecoder().decode(Value.self, from: requestBody).objectValue?.count ?? 0 }),
        ("requestAsJSONValue", "the same request parsed by Airlock's `JSONValue.parse`", try timed(300) { sink += try JSONValue.parse(requestBytes).objectValue?.count ?? 0 }),
    ]
    if sink < 0 { print(sink) }

    // MARK: report

    let report = GatewayReport(
        rounds: rounds, calls: calls, c8Calls: c8Calls, concurrency: concurrency, warmup: warmup, samples: samples, cpu: cpu,
        throughput: throughput, httpToMessage: httpToMessage, httpToHead: httpToHead, parts: parts)
    var json = report.json
    json.add("serverRssKiB", raw: "{\"stdio\": [\(rssAfterWarmup.stdio), \(rssAtEnd.stdio)], \"http\": [\(rssAfterWarmup.http), \(rssAtEnd.http)]}")
    json.add("idsIssued", idsIssued)
    json.add("httpReconnects", ([http] + poolClients).reduce(0) { $0 + $1.reconnects })
    print(json.text)
    if markdown {
        print()
        print(report.markdown)
        print()
        print(
            "Server resident memory (VmRSS) after the warm-up -> at the end: stdio \(rssAfterWarmup.stdio / 1024) -> \(rssAtEnd.stdio / 1024) MiB, HTTP \(rssAfterWarmup.http / 1024) -> \(rssAtEnd.http / 1024) MiB."
        )
    }
}

// MARK: - Report

/// CPU time of a line: this process (the Swift API's host, or the clients), its reaped children
/// (the Swift API's tools), and the server (the gateway's host) with its reaped children (its tools).
struct CPUShare {
    var benchUs = 0.0
    var benchChildrenUs = 0.0
    var serverUs = 0.0
    var serverChildrenUs = 0.0
    var calls = 0

    static func now(server: pid_t?) -> CPUShare {
        let own = cpuUs()
        let other: (own: Double, children: Double) = server.map(procCpuUs) ?? (own: 0, children: 0)
        return CPUShare(benchUs: own.own, benchChildrenUs: own.children, serverUs: other.own, serverChildrenUs: other.children)
    }

    func minus(_ earlier: CPUShare) -> CPUShare {
        CPUShare(
            benchUs: benchUs - earlier.benchUs, benchChildrenUs: benchChildrenUs - earlier.benchChildrenUs,
            serverUs: serverUs - earlier.serverUs, serverChildrenUs: serverChildrenUs - earlier.serverChildrenUs)
    }

    mutating func add(_ other: CPUShare, calls n: Int) {
        benchUs += other.benchUs
        benchChildrenUs += other.benchChildrenUs
        serverUs += other.serverUs
        serverChildrenUs += other.serverChildrenUs
        calls += n
    }

    func perCall(_ value: Double) -> Double { calls == 0 ? 0 : value / Double(calls) }
}

struct GatewayReport {
    let rounds: Int
    let calls: Int
    let c8Calls: Int
    let concurrency: Int
    let warmup: Int
    let samples: [String: [[Double]]]
    let cpu: [String: CPUShare]
    let throughput: [String: [Double]]
    let httpToMessage: [Double]
    let httpToHead: [Double]
    let parts: [(key: String, title: String, us: Double)]

    static let names: [(String, String)] = [
        ("api", "(a) Swift API: `Runtime.callTool`, in process"),
        ("gateway-inproc", "`Gateway.callTool` in process (the gateway's layer, no transport)"),
        ("stdio", "(b) MCP `tools/call` over stdio (`serve --mcp stdio`)"),
        ("http", "(c) MCP `tools/call` over HTTP (`serve --http`), keep-alive, SSE answer"),
        ("stdio-ping", "MCP `ping` over stdio (transport only, no call)"),
        ("http-ping", "MCP `ping` over HTTP (transport only, no call)"),
    ]

    func roundMedians(_ line: String) -> [Double] { (samples[line] ?? []).map { percentile($0, 0.5) } }
    func pooled(_ line: String) -> [Double] { (samples[line] ?? []).flatMap { $0 } }

    /// Per-round values of f(line's round median, api's round median).
    func perRound(_ line: String, vs base: String = "api", _ f: (Double, Double) -> Double) -> [Double] {
        zip(roundMedians(line), roundMedians(base)).map { f($0, $1) }
    }

    func ratioOfThroughput() -> [Double] {
        zip(throughput["http-c8"] ?? [], throughput["api-c8"] ?? []).map { $0 / $1 }
    }

    var json: JSONLine {
        var line = JSONLine()
        line.add("mode", "gateway")
        line.add("rounds", rounds)
        line.add("callsPerLinePerRound", calls)
        line.add("c8CallsPerRound", c8Calls)
        line.add("concurrency", concurrency)
        var lines: [String] = []
        for (name, _) in Self.names + [("api-c8", ""), ("http-c8", "")] {
            var member = JSONLine()
            member.add("medianUs", percentile(roundMedians(name), 0.5))
            member.add("roundMediansUs", raw: "[" + roundMedians(name).map { String(Int($0.rounded())) }.joined(separator: ", ") + "]")
            member.add("pooledMedianUs", percentile(pooled(name), 0.5))
            member.add("p99Us", percentile(pooled(name), 0.99))
            if name != "api" && !name.hasSuffix("c8") {
                member.add("addedUs", percentile(perRound(name, -), 0.5))
                member.add("ratio", percentile(perRound(name, /), 0.5))
            }
            if let share = cpu[name] {
                member.add("benchCpuUsPerCall", share.perCall(share.benchUs))
                member.add("benchChildrenCpuUsPerCall", share.perCall(share.benchChildrenUs))
                member.add("serverCpuUsPerCall", share.perCall(share.serverUs))
                member.add("serverChildrenCpuUsPerCall", share.perCall(share.serverChildrenUs))
            }
            if let rates = throughput[name] {
                member.add("callsPerSecond", percentile(rates, 0.5))
                member.add("roundCallsPerSecond", raw: "[" + rates.map { String(Int($0.rounded())) }.joined(separator: ", ") + "]")
            }
            lines.append("\"\(name)\": \(member.text)")
        }
        line.add("lines", raw: "{" + lines.joined(separator: ", ") + "}")
        line.add("httpC8OverApiC8", percentile(ratioOfThroughput(), 0.5))
        line.add("httpTimeToMessageMedianUs", percentile(httpToMessage, 0.5))
        line.add("httpTimeToHeadMedianUs", percentile(httpToHead, 0.5))
        var partsLine = JSONLine()
        for part in parts { partsLine.add(part.key, part.us) }
        line.add("partsMedianUs", raw: partsLine.text)
        return line
    }

    var markdown: String {
        func us(_ v: Double) -> String { String(Int(v.rounded())) }
        func ms(_ v: Double) -> String { String(format2(v / 1000)) }
        func range(_ values: [Double], _ show: (Double) -> String) -> String {
            guard let lo = values.min(), let hi = values.max() else { return "-" }
            return "\(show(percentile(values, 0.5))) [\(show(lo)) to \(show(hi))]"
        }
        var out: [String] = []
        out.append(
            "\(rounds) interleaved rounds; each round \(calls) calls per C=1 line, one after another (\(warmup) warm-up calls per line before the rounds, 2 more at each line's start), and \(c8Calls) calls per C=\(concurrency) line. Latency: median of the per-round medians; p99 over all \(rounds * calls) calls; added and ratio: median [lowest to highest] of per-round differences and ratios against the Swift API line of the same round."
        )
        out.append("")
        out.append("| line | median µs | p99 µs | added over (a), ms | ratio to (a) |")
        out.append("|---|---:|---:|---:|---:|")
        for (name, title) in Self.names {
            let isBase = name == "api"
            out.append(
                "| \(title) | \(us(percentile(roundMedians(name), 0.5))) | \(us(percentile(pooled(name), 0.99))) | \(isBase ? "-" : range(perRound(name, -), ms)) | \(isBase ? "1.00x" : range(perRound(name, /), { format2($0) + "x" })) |"
            )
        }
        out.append("")
        out.append("| C=\(concurrency) line | calls/s: median [range] | median µs per call | p99 µs |")
        out.append("|---|---:|---:|---:|")
        out.append(
            "| Swift API, \(concurrency) tasks | \(range(throughput["api-c8"] ?? [], us)) | \(us(percentile(pooled("api-c8"), 0.5))) | \(us(percentile(pooled("api-c8"), 0.99))) |")
        out.append(
            "| HTTP, \(concurrency) connections with a session each | \(range(throughput["http-c8"] ?? [], us)) | \(us(percentile(pooled("http-c8"), 0.5))) | \(us(percentile(pooled("http-c8"), 0.99))) |"
        )
        out.append("| HTTP / Swift API (per-round ratio) | \(range(ratioOfThroughput(), { format2($0) + "x" })) | | |")
        out.append("")
        out.append("| CPU µs per call | this process (host of (a), else the client) | its tools | server process | server's tools |")
        out.append("|---|---:|---:|---:|---:|")
        for name in ["api", "gateway-inproc", "stdio", "http", "stdio-ping", "http-ping", "api-c8", "http-c8"] {
            guard let share = cpu[name] else { continue }
            out.append(
                "| \(name) | \(us(share.perCall(share.benchUs))) | \(us(share.perCall(share.benchChildrenUs))) | \(us(share.perCall(share.serverUs))) | \(us(share.perCall(share.serverChildrenUs))) |"
            )
        }
        out.append("")
        let stdioAdded = percentile(perRound("stdio", -), 0.5)
        let httpAdded = percentile(perRound("http", -), 0.5)
        out.append(
            "Target (the gateway adds at most 1 ms at the median over the Swift API call): stdio +\(ms(stdioAdded)) ms, \(stdioAdded <= 1000 ? "met" : "**not met**"); HTTP +\(ms(httpAdded)) ms, \(httpAdded <= 1000 ? "met" : "**not met**")."
        )
        out.append(
            "HTTP (c), medians over all calls: request written -> status line read \(us(percentile(httpToHead, 0.5))) µs, -> SSE message event read \(us(percentile(httpToMessage, 0.5))) µs, -> end of the response \(us(percentile(pooled("http"), 0.5))) µs."
        )
        out.append("")
        out.append("| part, timed alone in this process | median µs |")
        out.append("|---|---:|")
        for part in parts { out.append("| \(part.title) | \(format2(part.us)) |") }
        return out.joined(separator: "\n")
    }
}

/// The `q` quantile (nearest rank) of `values`; 0 when empty.
func percentile(_ values: [Double], _ q: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    if q == 0.5 {
        let n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
    let rank = Int((q * Double(sorted.count)).rounded(.up))
    return sorted[min(sorted.count - 1, max(0, rank - 1))]
}

func format2(_ v: Double) -> String {
    let scaled = (v * 100).rounded()
    let sign = scaled < 0 ? "-" : ""
    let a = Int(abs(scaled))
    return "\(sign)\(a / 100).\(a % 100 < 10 ? "0" : "")\(a % 100)"
}

// MARK: - The MCP SDK's codec work for one call

/// `Request<AnyMethod>` of the SDK (whose `AnyMethod` is internal): parameters and result as `Value`.
struct BenchAnyMethod: MCP.Method {
    static var name: String { "" }
    typealias Parameters = Value
    typealias Result = Value
}

/// What the SDK's `Server` does with the bytes of one tools/call and its answer, step by step
/// (swift-sdk `Server.start`'s message loop, `TypedRequestHandler.callAsFunction`, `Server.send`):
/// the request tried as a response, decoded as a request of `Value` parameters, encoded again
/// and decoded as `Request<CallTool>`; the result encoded and decoded as a `Value`; the response
/// encoded. (The loop's first attempt, as a batch, is left out: its type is internal.)
func sdkRoundTrip(_ data: Data, result: CallTool.Result) throws -> Int {
    let decoder = JSONDecoder()
    let encoder = JSONEncoder()
    var count = 0
    if (try? decoder.decode(Response<BenchAnyMethod>.self, from: data)) != nil { count += 1 }
    let untyped = try decoder.decode(Request<BenchAnyMethod>.self, from: data)
    let typed = try decoder.decode(Request<CallTool>.self, from: try encoder.encode(untyped))
    count += typed.params.arguments?.count ?? 0
    let value = try decoder.decode(Value.self, from: try encoder.encode(result))
    let response = BenchAnyMethod.response(id: typed.id, result: value)
    count += try encoder.encode(response).count
    return count
}

// MARK: - Processes

/// The running benchmark binary's absolute path.
func selfExecutable() throws -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { throw BenchError("cannot read /proc/self/exe") }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A child started with `posix_spawn`: stdin and stdout from the given descriptors (else
/// /dev/null), stderr to a file.
final class ChildProcess: Sendable {
    let pid: pid_t

    init(argv: [String], stdin: Int32?, stdout: Int32?, stderrPath: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin { posix_spawn_file_actions_adddup2(&actions, stdin, 0) } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        if let stdout { posix_spawn_file_actions_adddup2(&actions, stdout, 1) } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
        guard rc == 0 else { throw BenchError("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    /// Waits for the child; its wait status.
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        return status
    }
}

/// A pipe whose two ends are close-on-exec (a child gets only what `posix_spawn` dups for it).
func cloexecPipe(_ fds: inout [Int32]) -> Bool {
    guard pipe(&fds) == 0 else { return false }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return true
}

/// Runs `argv` to its end; its stdout (an error unless it exits 0).
func runCapturing(_ argv: [String], stderrPath: String) throws -> String {
    var fds: [Int32] = [0, 0]
    guard cloexecPipe(&fds) else { throw BenchError("pipe: \(String(cString: strerror(errno)))") }
    let child: ChildProcess
    do {
        child = try ChildProcess(argv: argv, stdin: nil, stdout: fds[1], stderrPath: stderrPath)
    } catch {
        close(fds[0])
        close(fds[1])
        throw error
    }
    close(fds[1])
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        output += chunk[0..<n]
    }
    close(fds[0])
    let status = child.wait()
    guard status == 0 else { throw BenchError("\(argv.joined(separator: " ")) failed (wait status \(status)); see \(stderrPath)") }
    return String(decoding: output, as: UTF8.self)
}

/// The port `airlock serve --http 127.0.0.1:0` reports on stderr.
func waitForPort(logPath: String, server: ChildProcess) throws -> Int {
    let marker = "listening on http://127.0.0.1:"
    let deadline = nowUs() + 60e6
    while nowUs() < deadline {
        if let text = try? readWhole(logPath), let range = text.range(of: marker) {
            let digits = text[range.upperBound...].prefix { $0.isNumber }
            if let port = Int(digits) { return port }
        }
        var status: Int32 = 0
        if waitpid(server.pid, &status, WNOHANG) == server.pid {
            throw BenchError("airlock serve --http exited (wait status \(status)); see \(logPath)")
        }
        usleep(20_000)
    }
    throw BenchError("airlock serve --http did not report its port within 60 s; see \(logPath)")
}

func readWhole(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw BenchError("cannot open \(path)") }
    defer { close(fd) }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        output += chunk[0..<n]
    }
    return String(decoding: output, as: UTF8.self)
}

/// CPU time (user + system, µs) of another process and of its reaped children, from /proc/PID/stat.
func procCpuUs(_ pid: pid_t) -> (own: Double, children: Double) {
    guard let text = try? readWhole("/proc/\(pid)/stat"), let paren = text.lastIndex(of: ")") else { return (0, 0) }
    // After the command's closing parenthesis: state (field 3), ... utime (14), stime (15), cutime (16), cstime (17).
    let fields = text[text.index(after: paren)...].split(separator: " ")
    guard fields.count > 14 else { return (0, 0) }
    let tick = 1e6 / Double(sysconf(Int32(_SC_CLK_TCK)))
    func f(_ i: Int) -> Double { Double(fields[i]) ?? 0 }
    return ((f(11) + f(12)) * tick, (f(13) + f(14)) * tick)
}

/// A `kB` field of /proc/PID/status; -1 when absent.
func procStatusKiB(pid: pid_t, _ field: String) -> Int {
    guard let text = try? readWhole("/proc/\(pid)/status") else { return -1 }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        return Int(line.dropFirst(field.count + 1).filter { $0.isNumber }) ?? -1
    }
    return -1
}

/// Runs blocking work on a POSIX thread of its own (never on the small cooperative pool).
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        DetachedThread.start {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\r" || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\r" || $0 == "\t" }.reversed())
    }
}

/// The sample input as MCP arguments (strings and integers only, as `benchManifest` makes it).
func mcpObject(_ value: JSONValue) throws -> [String: Value] {
    guard let object = value.objectValue else { throw BenchError("the sample input is not an object") }
    var out: [String: Value] = [:]
    for member in object {
        switch member.value {
        case .string(let text): out[member.key] = .string(text)
        case .number(let number):
            guard let int = Int(number.text) else { throw BenchError("not an integer: \(number.text)") }
            out[member.key] = .int(int)
        default: throw BenchError("unexpected member \(member.key)")
        }
    }
    return out
}

/// Checks a JSON-RPC answer: false when it is not the answer to `id` (a notification, say);
/// throws when it is an error, or a call that failed or was replayed.
func checkAnswer(_ bytes: [UInt8], id: Int, isCall: Bool) throws -> Bool {
    let message: JSONValue
    do { message = try JSONValue.parse(bytes) } catch { throw BenchError("not JSON: \(String(decoding: bytes, as: UTF8.self))") }
    guard case .number(let number)? = message["id"], number.text == String(id) else { return false }
    if let error = message["error"] { throw BenchError("request \(id): error \(error.serialized())") }
    guard let result = message["result"] else { throw BenchError("request \(id): no result") }
    if isCall {
        guard result["isError"]?.boolValue == false, result["_meta"]?["dev.airlock/replayed"]?.boolValue == false,
            result["_meta"]?["dev.airlock/status"]?.stringValue == "succeeded"
        else { throw BenchError("call \(id) did not run: \(result.serialized())") }
    }
    return true
}

// MARK: - Buffered reading

/// Bytes read from a descriptor, consumed from the front.
struct ReadBuffer {
    var bytes: [UInt8] = []
    var start = 0
    var chunk = [UInt8](repeating: 0, count: 65536)

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        start = 0
    }

    /// Reads what is there; false at end of file or on an error.
    mutating func fill(_ fd: Int32) -> Bool {
        if start > 0 && start == bytes.count { reset() } else if start > 65536 {
            bytes.removeFirst(start)
            start = 0
        }
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            bytes += chunk[0..<n]
            return true
        }
    }

    /// The next line ending in `delimiter` (without it, nor a CR before it), reading as needed.
    mutating func line(_ fd: Int32, crlf: Bool) throws -> [UInt8] {
        var scanned = start
        while true {
            if let end = bytes[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                var last = end
                if crlf && last > start && bytes[last - 1] == UInt8(ascii: "\r") { last -= 1 }
                let line = Array(bytes[start..<last])
                start = end + 1
                return line
            }
            scanned = bytes.count
            let offset = scanned - start
            guard fill(fd) else { throw EndOfStream() }
            scanned = start + offset
        }
    }

    mutating func exactly(_ count: Int, _ fd: Int32) throws -> ArraySlice<UInt8> {
        while bytes.count - start < count {
            guard fill(fd) else { throw EndOfStream() }
        }
        let slice = bytes[start..<start + count]
        start += count
        return slice
    }
}

struct EndOfStream: Error {}

func writeAll(_ fd: Int32, _ bytes: [UInt8], socket: Bool) throws {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { raw in
            socket
                ? send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                : write(fd, raw.baseAddress! + offset, raw.count - offset)
        }
        if n < 0 {
            if errno == EINTR { continue }
            throw BenchError("write: \(String(cString: strerror(errno)))")
        }
        offset += n
    }
}

// MARK: - MCP over stdio

/// `airlock serve --mcp stdio` as a child, spoken to over two pipes, one request at a time.
final class MCPStdioClient: @unchecked Sendable {
    let child: ChildProcess
    private var toServer: Int32
    private let fromServer: Int32
    private var buffer = ReadBuffer()

    init(argv: [String], stderrPath: String) throws {
        var input: [Int32] = [0, 0]
        var output: [Int32] = [0, 0]
        guard cloexecPipe(&input), cloexecPipe(&output) else { throw BenchError("pipe failed") }
        child = try ChildProcess(argv: argv, stdin: input[0], stdout: output[1], stderrPath: stderrPath)
        close(input[0])
        close(output[1])
        toServer = input[1]
        fromServer = output[0]
    }

    func initialize() throws {
        let hello = #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"airlock-bench","version":"1"}}}"#
        _ = try call(hello, id: 0, isCall: false)
        try writeAll(toServer, Array(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.utf8) + [10], socket: false)
    }

    /// Sends one request and reads up to its answer; µs from the write to the answer's line read.
    func call(_ request: String, id: Int, isCall: Bool) throws -> Double {
        let bytes = Array(request.utf8) + [UInt8(ascii: "\n")]
        let t0 = nowUs()
        try writeAll(toServer, bytes, socket: false)
        while true {
            let line = try buffer.line(fromServer, crlf: false)
            let t1 = nowUs()
            if try checkAnswer(line, id: id, isCall: isCall) { return t1 - t0 }
        }
    }

    /// End of input: the server finishes the calls in flight and exits.
    func closeInput() {
        if toServer >= 0 {
            close(toServer)
            toServer = -1
        }
    }
}

// MARK: - MCP over streamable HTTP

/// One keep-alive HTTP/1.1 connection to `/mcp` with its own MCP session, one request at a time.
final class MCPHTTPClient: @unchecked Sendable {
    let port: Int
    let secret: String
    private var fd: Int32 = -1
    private var buffer = ReadBuffer()
    private(set) var session: String?
    private(set) var reconnects = 0
    /// µs from the request's first byte written to the SSE message event read, per call.
    private(set) var messageTimes: [Double] = []
    /// µs from the request's first byte written to the response's status line read, per call.
    private(set) var headTimes: [Double] = []

    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var totalUs: Double
    }

    init(port: Int, secret: String) throws {
        self.port = port
        self.secret = secret
        try connect()
    }

    deinit { if fd >= 0 { close(fd) } }

    func clearMessageTimes() {
        messageTimes.removeAll(keepingCapacity: true)
        headTimes.removeAll(keepingCapacity: true)
    }

    private func connect() throws {
        if fd >= 0 { close(fd) }
        buffer.reset()
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw BenchError("connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
    }

    func initialize() throws {
        let hello = #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"airlock-bench","version":"1"}}}"#
        let answer = try post(hello)
        guard answer.status == 200, let id = answer.headers["mcp-session-id"] else {
            throw BenchError("initialize: HTTP \(answer.status) \(String(decoding: answer.body, as: UTF8.self))")
        }
        session = id
        guard try Self.messages(answer.body).contains(where: { try checkAnswer($0, id: 0, isCall: false) }) else {
            throw BenchError("initialize: no answer in \(String(decoding: answer.body, as: UTF8.self))")
        }
        let note = try post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        guard note.status == 202 else { throw BenchError("notifications/initialized: HTTP \(note.status)") }
        clearMessageTimes()
    }

    /// One request; checks its answer. The time runs from the request's first byte written to
    /// the end of the response (the connection is then free for the next request).
    func call(_ request: String, id: Int, isCall: Bool) throws -> Answer {
        let answer = try post(request)
        guard answer.status == 200 else { throw BenchError("request \(id): HTTP \(answer.status) \(String(decoding: answer.body, as: UTF8.self))") }
        guard try Self.messages(answer.body).contains(where: { try checkAnswer($0, id: id, isCall: isCall) }) else {
            throw BenchError("request \(id): no answer in \(String(decoding: answer.body, as: UTF8.self))")
        }
        return answer
    }

    func post(_ body: String) throws -> Answer {
        var head = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Bearer \(secret)\r\n"
        head += "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
        if let session { head += "Mcp-Session-Id: \(session)\r\nMCP-Protocol-Version: 2025-06-18\r\n" }
        head += "Content-Length: \(body.utf8.count)\r\n\r\n"
        let bytes = Array(head.utf8) + Array(body.utf8)
        do {
            return try exchange(bytes)
        } catch is EndOfStream {
            // The server closed an idle connection before this request was read: once more.
            reconnects += 1
            try connect()
            return try exchange(bytes)
        }
    }

    private func exchange(_ request: [UInt8]) throws -> Answer {
        let t0 = nowUs()
        try writeAll(fd, request, socket: true)
        let statusLine = try buffer.line(fd, crlf: true)
        let headAt = nowUs()
        let parts = String(decoding: statusLine, as: UTF8.self).split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw BenchError("bad status line") }
        var headers: [String: String] = [:]
        while true {
            let line = try buffer.line(fd, crlf: true)
            if line.isEmpty { break }
            let text = String(decoding: line, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { continue }
            headers[text[..<colon].lowercased()] = text[text.index(after: colon)...].trimmingSpaces
        }
        var body: [UInt8] = []
        var messageAt: Double?
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            while true {
                let sizeLine = String(decoding: try buffer.line(fd, crlf: true), as: UTF8.self)
                guard let size = Int(Substring(sizeLine.prefix { $0 != ";" }).trimmingSpaces, radix: 16) else {
                    throw BenchError("bad chunk size \(sizeLine)")
                }
                if size == 0 {
                    while !(try buffer.line(fd, crlf: true)).isEmpty {}
                    break
                }
                let chunk = try buffer.exactly(size, fd)
                if messageAt == nil && Self.contains(chunk, "\"jsonrpc\"") { messageAt = nowUs() }
                body += chunk
                _ = try buffer.line(fd, crlf: true)
            }
        } else if let length = headers["content-length"].flatMap({ Int($0) }) {
            body = Array(try buffer.exactly(length, fd))
        }
        let t1 = nowUs()
        if let messageAt { messageTimes.append(messageAt - t0) }
        headTimes.append(headAt - t0)
        if headers["connection"]?.lowercased() == "close" {
            reconnects += 1
            try connect()
        }
        return Answer(status: status, headers: headers, body: body, totalUs: t1 - t0)
    }

    static func contains(_ haystack: ArraySlice<UInt8>, _ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard haystack.count >= pattern.count else { return false }
        var i = haystack.startIndex
        while i <= haystack.endIndex - pattern.count {
            if haystack[i] == pattern[0] && haystack[i..<i + pattern.count].elementsEqual(pattern) { return true }
            i += 1
        }
        return false
    }

    /// The data of each SSE event that has some (or the whole body when it is plain JSON).
    static func messages(_ body: [UInt8]) -> [[UInt8]] {
        if body.first == UInt8(ascii: "{") { return [body] }
        var out: [[UInt8]] = []
        var data: [UInt8] = []
        var hasData = false
        for rawLine in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            var line = rawLine
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.isEmpty {
                if hasData && !data.isEmpty { out.append(data) }
                data = []
                hasData = false
            } else if line.starts(with: Array("data:".utf8)) {
                var value = line.dropFirst(5)
                if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
                if hasData { data.append(UInt8(ascii: "\n")) }
                data += value
                hasData = true
            }
        }
        if hasData && !data.isEmpty { out.append(data) }
        return out
    }
}
