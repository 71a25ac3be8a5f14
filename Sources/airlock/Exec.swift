import AirlockSandbox
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command in a freshly cloned, confined child.",
        discussion: """
            Exit status: the command's; 128+N when signal N ended it; 124 on a wall or CPU \
            timeout; 125 when the sandbox could not be set up; 126 when the command is not \
            executable; 127 when it is not found.
            """
    )

    @Option(name: .long, help: "Profile name or JSON file.")
    var profile: String = "default"

    @Option(name: .long, help: "Wall-clock limit in seconds.")
    var timeout: Double?

    @Option(name: .long, help: "CPU-time limit in seconds.")
    var cpu: Double?

    @Option(name: .long, help: "Memory limit in bytes (K, M, G suffixes allowed).")
    var memory: String?

    @Option(name: .long, help: "Limit on live processes and threads.")
    var pids: UInt64?

    @Option(name: .long, help: "Cap on each of stdout and stderr in bytes (K, M, G suffixes allowed).")
    var output: String?

    @Option(name: .customLong("allow-read"), help: "Also allow reading PATH (repeatable).")
    var allowRead: [String] = []

    @Option(
        name: .customLong("allow-write"),
        help: "Also allow reading and writing PATH (repeatable; Landlock only: file permissions still apply to the tool's user).")
    var allowWrite: [String] = []

    @Option(name: .long, help: "Network: none, loopback or host.")
    var net: String?

    @Option(name: .long, help: "Pass NAME from the host, or set NAME=VALUE (repeatable).")
    var env: [String] = []

    @Option(name: .long, help: "Write a JSON report to FILE, or to stdout with -.")
    var report: String?

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        try ExecOptions(
            profile: profile, timeout: timeout, cpu: cpu, memory: memory, pids: pids, output: output,
            allowRead: allowRead, allowWrite: allowWrite, net: net, env: env, report: report, command: command
        ).validate()
    }

    func run() throws {
        try ExecOptions(
            profile: profile, timeout: timeout, cpu: cpu, memory: memory, pids: pids, output: output,
            allowRead: allowRead, allowWrite: allowWrite, net: net, env: env, report: report, command: command
        ).run()
    }
}

/// The options of `airlock exec`, however they were parsed.
struct ExecOptions {
    var profile: String = "default"
    var timeout: Double?
    var cpu: Double?
    var memory: String?
    var pids: UInt64?
    var output: String?
    var allowRead: [String] = []
    var allowWrite: [String] = []
    var net: String?
    var env: [String] = []
    var report: String?
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("no command given: use airlock exec [OPTIONS] -- CMD [ARG...]") }
        // At most 1e9 s, as in profiles: larger values would overflow the milliseconds.
        if let timeout, !(timeout > 0 && timeout <= 1e9) { throw ValidationError("--timeout must be a positive number of seconds, at most 1e9") }
        if let cpu, !(cpu > 0 && cpu <= 1e9) { throw ValidationError("--cpu must be a positive number of seconds, at most 1e9") }
        if let pids, pids == 0 { throw ValidationError("--pids must be at least 1") }
        if let net, NetworkMode(rawValue: net) == nil { throw ValidationError("--net must be none, loopback or host, not '\(net)'") }
        for entry in env {
            let name = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            if name.isEmpty || name.contains(where: { !($0.isLetter || $0.isNumber || $0 == "_") }) {
                throw ValidationError("--env wants NAME or NAME=VALUE, got '\(entry)'")
            }
        }
    }

    func run() throws {
        var profile: Profile
        do {
            profile = try Profile.named(self.profile)
        } catch {
            printError("airlock exec: \(error)")
            throw ExitCode(Airlock.setupFailureStatus)
        }
        do {
            try apply(to: &profile)
        } catch let error as ValidationError {
            printError("airlock exec: \(error.message)")
            throw ExitCode(Airlock.setupFailureStatus)
        }

        // The report file is opened before anything runs: a caller that relies on the report
        // must not get a run whose report was lost.
        var reportFd: Int32 = -1
        if let report, report != "-" {
            reportFd = open(report, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard reportFd >= 0 else {
                printError("airlock exec: cannot write the report to \(report): \(String(cString: strerror(errno)))")
                throw ExitCode(Airlock.setupFailureStatus)
            }
        }
        defer { if reportFd >= 0 { close(reportFd) } }

        let host = Sandbox.processEnvironment()
        var extra: [String: String] = [:]
        for entry in env {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            if parts.count == 2 {
                extra[name] = String(parts[1])
            } else if let value = host[name] {
                extra[name] = value
            }
        }
        let request = SandboxRequest(
            argv: command, profile: profile, hostEnvironment: host, extraEnvironment: extra,
            // A terminal is never handed to the tool: its descriptor would let the tool change
            // the user's terminal settings. Pipes and files pass as they are.
            stdin: isatty(0) == 1 ? .null : .inherit, stdout: .passThrough, stderr: .passThrough)
        let result: SandboxReport
        Sandbox.sharesEmptyNetworkNamespace = false  // one call per process
        do {
            result = try Sandbox.runBlocking(request)
        } catch {
            printError("airlock exec: \(error)")
            throw ExitCode(Airlock.setupFailureStatus)
        }
        if let failure = result.setupFailure {
            printError("airlock exec: \(failure.message)")
        }
        if let report {
            let text = result.json.serialized() + "\n"
            if report == "-" {
                printOut(text)
            } else if !writeAll(reportFd, text) {
                printError("airlock exec: cannot write the report to \(report): \(String(cString: strerror(errno)))")
                throw ExitCode(Airlock.setupFailureStatus)
            }
        }
        throw ExitCode(result.exitStatus)
    }

    /// Applies the command-line overrides to the profile.
    func apply(to profile: inout Profile) throws {
        if let timeout { profile.limits.wallTimeMs = UInt64((timeout * 1000).rounded(.up)) }
        if let cpu { profile.limits.cpuTimeMs = UInt64((cpu * 1000).rounded(.up)) }
        if let memory { profile.limits.memoryBytes = try Self.parseBytes(memory, flag: "--memory") }
        if let pids { profile.limits.processes = pids }
        if let output { profile.limits.outputBytes = try Self.parseBytes(output, flag: "--output") }
        if let net, let mode = NetworkMode(rawValue: net) { profile.network = mode }
        let cwd = Sandbox.currentDirectory()
        for path in allowRead { profile.filesystem.read.append(try Self.absoluteExisting(path, cwd: cwd, flag: "--allow-read")) }
        for path in allowWrite { profile.filesystem.write.append(try Self.absoluteExisting(path, cwd: cwd, flag: "--allow-write")) }
    }

    static func parseBytes(_ text: String, flag: String) throws -> UInt64 {
        let units: [(String, UInt64)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30),
            ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30),
        ]
        var digits = Substring(text)
        var multiplier: UInt64 = 1
        for (suffix, value) in units where digits.hasSuffix(suffix) {
            digits = digits.dropLast(suffix.count)
            multiplier = value
            break
        }
        guard let number = UInt64(digits), number > 0 else {
            throw ValidationError("\(flag) wants a positive number of bytes (K, M, G allowed), got '\(text)'")
        }
        let (product, overflow) = number.multipliedReportingOverflow(by: multiplier)
        if overflow { throw ValidationError("\(flag) is too large: '\(text)'") }
        return product
    }

    static func absoluteExisting(_ path: String, cwd: String, flag: String) throws -> String {
        let absolute = path.hasPrefix("/") ? path : cwd + "/" + path
        var st = stat()
        guard stat(absolute, &st) == 0 else {
            throw ValidationError("\(flag) \(path): \(String(cString: strerror(errno)))")
        }
        return absolute
    }
}

func writeAll(_ fd: Int32, _ text: String) -> Bool {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return false }
        offset += n
    }
    return true
}

extension ExecOptions {
    /// Parses `exec`'s own options without swift-argument-parser, whose set-up costs about a
    /// millisecond per process. Returns nil for anything it does not handle (help, an unknown
    /// flag, a missing `--`), and the full parser then takes over with its usual messages.
    static func fastParse(_ arguments: [String]) -> ExecOptions? {
        var options = ExecOptions()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                options.command = Array(arguments[(index + 1)...])
                return options.command.isEmpty ? nil : options
            }
            guard argument.hasPrefix("--") else { return nil }
            var name = String(argument.dropFirst(2))
            var value: String
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            } else {
                index += 1
                guard index < arguments.count else { return nil }
                value = arguments[index]
            }
            switch name {
            case "profile": options.profile = value
            case "timeout": guard let v = Double(value) else { return nil }; options.timeout = v
            case "cpu": guard let v = Double(value) else { return nil }; options.cpu = v
            case "memory": options.memory = value
            case "pids": guard let v = UInt64(value) else { return nil }; options.pids = v
            case "output": options.output = value
            case "allow-read": options.allowRead.append(value)
            case "allow-write": options.allowWrite.append(value)
            case "net": options.net = value
            case "env": options.env.append(value)
            case "report": options.report = value
            default: return nil
            }
            index += 1
        }
        return nil
    }
}
