import AirlockJournal
import AirlockSandbox

#if canImport(Glibc)
import Glibc
#endif

/// A plugin's manifest, read and checked: every relative path resolved against the
/// manifest's directory, the executable found, the schemas compiled. What it declares is the
/// plugin's word, a default the operator may override at `tools add`.
public struct ToolManifest: Sendable {
    /// Absolute path of the manifest file, and its SHA-256.
    public var path: String
    public var sha256: String
    public var directory: String
    public var name: String
    public var version: String
    public var description: String
    public var protocolKind: ToolProtocol
    /// argv; argv[0] is an absolute path.
    public var command: [String]
    public var inputSchema: JSONValue?
    public var outputSchema: JSONValue?
    public var effect: EffectClass?
    public var profile: String = "default"
    public var wallTimeMs: UInt64?
    public var cpuTimeMs: UInt64?
    public var memoryBytes: UInt64?
    public var processes: UInt64?
    public var outputBytes: UInt64?
    public var read: [String] = []
    public var write: [String] = []
    public var network: NetworkMode?
    public var env: [String] = []
    public var secrets: [String] = []
    public var approval: ApprovalPolicy?
    public var approvalTTLSeconds: UInt64?
    public var retry: RetryPolicy?
    public var noEffectExitCodes: [Int32] = []
    public var reconcile: [String]?
    /// Files of the plugin's own the command runs (scripts named as arguments), by absolute path.
    public var scripts: [String] = []

    static let keys: Set<String> = [
        "name", "version", "description", "command", "protocol", "inputSchema", "outputSchema", "effect", "profile",
        "limits", "filesystem", "network", "env", "secrets", "approval", "approvalTTLSeconds", "retry",
        "noEffectExitCodes", "reconcile",
    ]

    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x5f || $0 == 0x2d }
    }

    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x5f }
    }

    /// Directories a manifest may never ask to write (nor anything inside them).
    static let systemDirectories = ["/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/sbin", "/sys", "/usr"]

    /// Reads and checks the manifest at `path`. `home` is Airlock's home directory: no
    /// filesystem need may reach into it. Every problem is reported, each with its JSON path.
    public static func load(path: String, home: String) throws -> ToolManifest {
        guard let real = Paths.real(path) else {
            throw RuntimeError(.usage, "\(path): cannot read the manifest: \(String(cString: strerror(errno)))")
        }
        guard let bytes = readWholeFile(real, limit: ManifestDocument.maxBytes) else {
            throw RuntimeError(.usage, "\(path): cannot read the manifest (unreadable, or over \(ManifestDocument.maxBytes >> 10) KiB)")
        }
        let document = try ManifestDocument.parse(bytes, fileName: path)
        return try ToolManifest(document: document, path: real, sha256: SHA256Digest.hex(of: SHA256Digest.hash(bytes)), home: home)
    }

    init(document: JSONValue, path: String, sha256: String, home: String) throws {
        self.path = path
        self.sha256 = sha256
        directory = Paths.parent(path)
        var r = ManifestReader(fileName: path)
        let top = r.object(document, "", known: Self.keys) ?? [:]
        if document.objectValue == nil { throw RuntimeError(.usage, "\(path): the manifest must be an object, not \(document.typeName)") }
        name = r.string(top["name"], "/name", required: true, pattern: (Self.isValidName, "must match ^[a-zA-Z0-9_-]{1,64}$")) ?? ""
        version = r.string(top["version"], "/version", required: true) ?? ""
        description = r.string(top["description"], "/description", required: true) ?? ""
        if description.utf8.count > 8192 { r.fail("/description", "longer than 8192 bytes") }
        var kind = ToolProtocol.jsonStdio
        if let text = r.string(top["protocol"], "/protocol", required: true) {
            if text == ToolProtocol.jsonStdio.rawValue || text == ToolProtocol.mcpStdio.rawValue {
                kind = ToolProtocol(rawValue: text)!
            } else {
                r.fail("/protocol", "must be json-stdio or mcp-stdio, not \(text.debugDescription)")
            }
        }
        protocolKind = kind
        let homeReal = Paths.real(home) ?? home
        let dir = directory
        var scripts: [String] = []

        // A relative path names something inside the manifest's directory; an absolute one is
        // taken as it is. Either must exist.
        func resolve(_ text: String, _ at: String) -> String? {
            if text.hasPrefix("/") {
                guard let real = Paths.real(text) else {
                    r.fail(at, "\(text): \(String(cString: strerror(errno)))")
                    return nil
                }
                return real
            }
            guard let real = Paths.real(dir + "/" + text) else {
                r.fail(at, "\(text): \(String(cString: strerror(errno))) (relative to \(dir))")
                return nil
            }
            guard Paths.isInside(real, dir) else {
                r.fail(at, "\(text) resolves to \(real), outside the manifest's directory \(dir)")
                return nil
            }
            return real
        }

        /// argv with argv[0] as an absolute executable path; manifest-relative arguments that
        /// name files of the plugin are pinned too.
        func argv(_ value: JSONValue?, _ at: String, required: Bool) -> [String]? {
            guard let value else {
                if required { r.fail(at, "required") }
                return nil
            }
            guard var items = r.strings(value, at, nonEmpty: true), !items.isEmpty else { return nil }
            let first = items[0]
            if first.contains("/") {
                guard let real = resolve(first, at + "/0") else { return nil }
                items[0] = real
            } else {
                guard let found = try? Executable.resolve(first, environment: Sandbox.processEnvironment()) else {
                    r.fail(at + "/0", "\(first): not found in PATH (give an absolute path)")
                    return nil
                }
                items[0] = Paths.real(found) ?? found
            }
            var st = stat()
            guard stat(items[0], &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
                r.fail(at + "/0", "\(items[0]) is not a regular file")
                return nil
            }
            guard access(items[0], X_OK) == 0 else {
                r.fail(at + "/0", "\(items[0]) is not executable (chmod +x it)")
                return nil
            }
            // Every argument that names a file of the plugin's own (inside the manifest's
            // directory, however it is written) is pinned like the executable.
            for index in items.indices.dropFirst() {
                let item = items[index]
                if item.hasPrefix("./") || item.hasPrefix("../") {
                    guard let real = resolve(item, at + "/\(index)") else { continue }
                    items[index] = real
                }
                guard items[index].hasPrefix("/"), let real = Paths.real(items[index]), Paths.isInside(real, dir) else { continue }
                var fileStat = stat()
                if stat(real, &fileStat) == 0, fileStat.st_mode & S_IFMT == S_IFREG {
                    scripts.append(real)
                    items[index] = real  // run what was hashed, not whatever a symlink points to later
                }
            }
            return items
        }

        command = argv(top["command"], "/command", required: true) ?? []
        reconcile = argv(top["reconcile"], "/reconcile", required: false)
        if let probe = reconcile?.first, probe != command.first, Paths.isInside(probe, dir) { scripts.append(probe) }

        for (key, keyword) in [("inputSchema", "input"), ("outputSchema", "output")] {
            guard let schema = top[key] else { continue }
            do {
                _ = try JSONSchema(schema)
            } catch {
                for problem in error.problems { r.fail("/\(key)\(problem.instancePath)", "invalid JSON Schema: \(problem.keyword): \(problem.message)") }
                continue
            }
            if key == "inputSchema", schema["type"]?.stringValue != "object" {
                r.fail("/inputSchema/type", "must be \"object\": the \(keyword) is a JSON object")
            }
        }
        inputSchema = top["inputSchema"]
        outputSchema = top["outputSchema"]
        if kind == .jsonStdio && inputSchema == nil { r.fail("/inputSchema", "required for json-stdio") }
        if kind == .mcpStdio && inputSchema != nil {
            r.fail("/inputSchema", "not for mcp-stdio: each tool's schema comes from the server's tools/list")
        }
        effect = r.oneOf(top["effect"], "/effect", EffectClass.self, required: kind == .jsonStdio)
        approval = r.oneOf(top["approval"], "/approval", ApprovalPolicy.self)
        approvalTTLSeconds = r.unsigned(top["approvalTTLSeconds"], "/approvalTTLSeconds", max: 365 * 86400)
        network = r.oneOf(top["network"], "/network", NetworkMode.self)

        if let text = r.string(top["profile"], "/profile") {
            let resolved = text.contains("/") ? resolve(text, "/profile") : text
            if let resolved {
                do {
                    let loaded = try Profile.named(resolved)
                    profile = resolved
                    if text.contains("/") {
                        // A profile file of the plugin's is pinned, and its grants obey the
                        // manifest's rules.
                        scripts.append(resolved)
                        for (key, paths) in [("read", loaded.filesystem.read), ("write", loaded.filesystem.write)] {
                            for path in paths {
                                if let problem = Self.grantProblem(Paths.real(path) ?? path, isWrite: key == "write", home: homeReal) {
                                    r.fail("/profile", "the profile's filesystem.\(key) \(problem)")
                                }
                            }
                        }
                    }
                } catch {
                    r.fail("/profile", "\(error)")
                }
            }
        }

        if let limits = r.object(top["limits"], "/limits", known: ["wallTimeSeconds", "cpuTimeSeconds", "memoryBytes", "processes", "outputBytes"]) {
            wallTimeMs = r.seconds(limits["wallTimeSeconds"], "/limits/wallTimeSeconds", max: 86400)
            cpuTimeMs = r.seconds(limits["cpuTimeSeconds"], "/limits/cpuTimeSeconds", max: 86400)
            memoryBytes = r.unsigned(limits["memoryBytes"], "/limits/memoryBytes", max: 1 << 40)
            processes = r.unsigned(limits["processes"], "/limits/processes", max: 1 << 20)
            outputBytes = r.unsigned(limits["outputBytes"], "/limits/outputBytes", max: 1 << 32)
            if memoryBytes == 0 { r.fail("/limits/memoryBytes", "must be above 0") }
            if processes == 0 { r.fail("/limits/processes", "must be above 0") }
        }

        if let filesystem = r.object(top["filesystem"], "/filesystem", known: ["read", "write"]) {
            for (key, isWrite) in [("read", false), ("write", true)] {
                for (index, text) in (r.strings(filesystem[key], "/filesystem/\(key)") ?? []).enumerated() {
                    let at = "/filesystem/\(key)/\(index)"
                    guard let real = resolve(text, at) else { continue }
                    if let problem = Self.grantProblem(real, isWrite: isWrite, home: homeReal) {
                        r.fail(at, problem)
                        continue
                    }
                    if isWrite { write.append(real) } else { read.append(real) }
                }
            }
            // A grant inside a writable one could be replaced by the tool itself (a symlink
            // to anywhere) before the next call opens it.
            for (key, paths) in [("read", read), ("write", write)] {
                for (index, path) in paths.enumerated() {
                    if let outer = write.first(where: { $0 != path && Paths.isInside(path, $0) }) {
                        r.fail("/filesystem/\(key)/\(index)", "\(path) lies inside the writable \(outer): the tool could swap it for a symlink; grant \(outer) alone")
                    }
                }
            }
        }

        for (key, isSecret) in [("env", false), ("secrets", true)] {
            for (index, variable) in (r.strings(top[key], "/\(key)") ?? []).enumerated() {
                if !Self.isVariableName(variable) {
                    r.fail("/\(key)/\(index)", "\(variable.debugDescription) is not a variable name")
                } else if variable.hasPrefix("AIRLOCK_") {
                    r.fail("/\(key)/\(index)", "AIRLOCK_* variables are set by the host itself")
                } else if isSecret {
                    secrets.append(variable)
                } else {
                    env.append(variable)
                }
            }
        }
        for variable in Set(env).intersection(secrets).sorted() {
            r.fail("/secrets", "\(variable) is also in env: a secret is passed as a secret only")
        }

        if let retryObject = r.object(top["retry"], "/retry", known: ["maxAttempts", "initialIntervalSeconds", "backoff", "maxIntervalSeconds", "jitter", "nonRetryableExitCodes"]) {
            var policy = RetryPolicy()
            if let n = r.unsigned(retryObject["maxAttempts"], "/retry/maxAttempts", max: 1000) {
                if n == 0 { r.fail("/retry/maxAttempts", "must be at least 1") } else { policy.maxAttempts = Int(n) }
            }
            if let ms = r.seconds(retryObject["initialIntervalSeconds"], "/retry/initialIntervalSeconds", max: 86400) { policy.initialIntervalMs = ms }
            if let ms = r.seconds(retryObject["maxIntervalSeconds"], "/retry/maxIntervalSeconds", max: 86400) { policy.maxIntervalMs = ms }
            if let factor = r.fraction(retryObject["backoff"], "/retry/backoff", range: 1...100) { policy.backoff = factor }
            if let jitter = r.fraction(retryObject["jitter"], "/retry/jitter", range: 0...1) { policy.jitter = jitter }
            policy.nonRetryableExitCodes = r.int32s(retryObject["nonRetryableExitCodes"], "/retry/nonRetryableExitCodes") ?? []
            retry = policy
        }
        noEffectExitCodes = r.int32s(top["noEffectExitCodes"], "/noEffectExitCodes") ?? []
        self.scripts = scripts

        if !r.problems.isEmpty {
            throw RuntimeError(.usage, "\(path): invalid manifest:\n  " + r.problems.joined(separator: "\n  "))
        }
    }
}

extension ToolManifest {
    /// Why a filesystem grant is not allowed: it reaches Airlock's home, or writes a system directory.
    static func grantProblem(_ real: String, isWrite: Bool, home: String) -> String? {
        if Paths.isInside(real, home) || Paths.isInside(home, real) {
            return "\(real) would reach Airlock's own home \(home) (journal, registry)"
        }
        var st = stat()
        let isDevice = stat(real, &st) == 0 && st.st_mode & S_IFMT == S_IFCHR  // /dev/null and the like
        if isWrite && !isDevice && (real == "/" || systemDirectories.contains(where: { Paths.isInside(real, $0) || Paths.isInside($0, real) })) {
            return "\(real): a tool may not write to a system directory"
        }
        return nil
    }
}

/// Path helpers for manifests and the registry.
enum Paths {
    /// The canonical absolute path (symlinks resolved), or nil when it does not exist.
    static func real(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    /// Whether `path` is `directory` or inside it (both canonical).
    static func isInside(_ path: String, _ directory: String) -> Bool {
        if directory == "/" { return true }
        return path == directory || path.hasPrefix(directory + "/")
    }

}
