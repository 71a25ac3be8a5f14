import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One problem in a profile: where (a JSON path such as `$.seccomp.syscalls[3].names[0]`) and what.
public struct ProfileIssue: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// A profile that could not be found, read, parsed or compiled; lists every problem found.
public struct ProfileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The profile's name or path.
    public var profile: String
    public var issues: [ProfileIssue]

    public init(profile: String, issues: [ProfileIssue]) {
        self.profile = profile
        self.issues = issues
    }

    /// One line per issue: `profile NAME: $.path: message`.
    public var description: String {
        issues.map { "profile \(profile): \($0.path): \($0.message)" }.joined(separator: "\n")
    }
}

// MARK: - Loading

extension Profile {
    /// Names of the profiles built into the binary (`sandbox-profiles/*.json` at build time).
    public static var builtinNames: [String] { BuiltinProfiles.sources.map(\.name) }

    /// `$AIRLOCK_PROFILES` (colon-separated), then `./sandbox-profiles`.
    public static var defaultSearchPaths: [String] {
        var paths: [String] = []
        if let raw = getenv("AIRLOCK_PROFILES") {
            paths += String(cString: raw).split(separator: ":").map(String.init)
        }
        paths.append("./sandbox-profiles")
        return paths
    }

    /// A profile by name or path. A value containing `/` or ending in `.json` is a file;
    /// otherwise `NAME.json` in each of `searchPaths`, then the built-in profiles.
    public static func named(_ nameOrPath: String, searchPaths: [String] = Profile.defaultSearchPaths)
        throws(ProfileError) -> Profile
    {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".json") {
            return try load(path: nameOrPath)
        }
        guard !nameOrPath.isEmpty, !nameOrPath.utf8.contains(0) else {
            throw ProfileError(profile: nameOrPath, issues: [ProfileIssue(path: "$", message: "invalid profile name")])
        }
        for directory in searchPaths where !directory.isEmpty {
            let path = directory.hasSuffix("/") ? "\(directory)\(nameOrPath).json" : "\(directory)/\(nameOrPath).json"
            if isRegularFile(path) {
                return try parseFile(path, name: nameOrPath)
            }
        }
        if let builtin = try builtin(nameOrPath) { return builtin }
        let searched = searchPaths.isEmpty ? "" : " in \(searchPaths.joined(separator: ", ")) or"
        throw ProfileError(
            profile: nameOrPath,
            issues: [
                ProfileIssue(
                    path: "$",
                    message:
                        "no profile named \"\(nameOrPath)\"\(searched) among the built-in profiles (\(builtinNames.joined(separator: ", ")))"
                )
            ])
    }

    /// Reads and parses the profile at `path`; its name is the path.
    public static func load(path: String) throws(ProfileError) -> Profile {
        try parseFile(path, name: path)
    }

    /// Profiles parsed from files by this process, by path and name, kept while the file is unchanged.
    private static let fileCache = Mutex<[String: (identity: FileIdentity, profile: Profile)]>([:])

    /// Reads and parses a profile file, or reuses the last parse of the same unchanged file (a
    /// long-lived host would otherwise parse it, syscall names and all, on every call).
    private static func parseFile(_ path: String, name: String) throws(ProfileError) -> Profile {
        let identity = FileIdentity(path: path)
        let key = path + "\u{0}" + name
        if let identity, let known = fileCache.withLock({ $0[key] }), known.identity == identity {
            return known.profile
        }
        let profile = try parse(bytes: try readFile(path, profile: name), name: name)
        if let identity { fileCache.withLock { $0[key] = (identity, profile) } }
        return profile
    }

    /// The built-in profile `name`, or `nil` when there is none.
    public static func builtin(_ name: String) throws(ProfileError) -> Profile? {
        if let cached = builtinCache.withLock({ $0[name] }) { return cached }
        guard let source = BuiltinProfiles.sources.first(where: { $0.name == name }) else { return nil }
        let profile = try parse(bytes: Array(source.json.utf8), name: name)
        builtinCache.withLock { $0[name] = profile }
        return profile
    }

    private static let builtinCache = Mutex<[String: Profile]>([:])

    // MARK: - Parsing

    /// Parses a profile, or a plain OCI/Docker seccomp object (which becomes the built-in
    /// `default` profile with its seccomp section replaced). Throws every problem found.
    public static func parse(bytes: [UInt8], name: String) throws(ProfileError) -> Profile {
        try parse(bytes: bytes, name: name, host: .current)
    }

    /// Every problem in a profile's source; empty when it parses and its filter compiles.
    public static func check(bytes: [UInt8]) -> [ProfileIssue] {
        do {
            _ = try parse(bytes: bytes, name: "check", host: .current)
            return []
        } catch {
            return error.issues
        }
    }

    static func parse(bytes: [UInt8], name: String, host: ProfileHost) throws(ProfileError) -> Profile {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw ProfileError(profile: name, issues: [ProfileIssue(path: "$", message: "invalid JSON at \(error)")])
        }
        var decoder = ProfileDecoder(host: host)
        var profile = decoder.decodeProfile(document, name: name)
        if decoder.issues.isEmpty, let candidate = profile {
            do {
                _ = try SeccompCompiler.compile(candidate.seccomp)
            } catch {
                decoder.report(
                    decoder.seccompPath,
                    "does not compile: \(error.message)\(error.errno != 0 ? " (errno \(error.errno))" : "")")
            }
        }
        guard decoder.issues.isEmpty, profile != nil else {
            throw ProfileError(profile: name, issues: decoder.issues)
        }
        profile!.sha256 = SHA256Digest.hex(of: SHA256Digest.hash(bytes))
        return profile!
    }

    // MARK: - Files

    private static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    private static func readFile(_ path: String, profile: String) throws(ProfileError) -> [UInt8] {
        func failure(_ message: String) -> ProfileError {
            ProfileError(profile: profile, issues: [ProfileIssue(path: "$", message: message)])
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("cannot stat \(path): \(String(cString: strerror(errno)))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw failure("\(path) is not a regular file") }
        let limit = 16 << 20
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
            if bytes.count > limit { throw failure("\(path) is larger than \(limit) bytes") }
        }
        return bytes
    }
}

// MARK: - The host, for Docker's includes/excludes

/// What `includes`/`excludes` and `archMap` are resolved against.
struct ProfileHost: Sendable {
    /// Docker's (Go's) name for the native architecture, e.g. `amd64`.
    var architecture: String
    /// The native `SCMP_ARCH_*` name, e.g. `SCMP_ARCH_X86_64`.
    var seccompArchitecture: String
    /// Kernel release as numbers, e.g. `[6, 1, 0]`.
    var kernel: [Int]
    /// Capabilities the sandboxed tool has: none. Rules that need one are left out.
    var capabilities: Set<String>

    static let current = ProfileHost(
        architecture: nativeGoArchitecture, seccompArchitecture: nativeSeccompArchitecture,
        kernel: runningKernel(), capabilities: [])

    #if arch(x86_64)
        static let nativeGoArchitecture = "amd64"
        static let nativeSeccompArchitecture = "SCMP_ARCH_X86_64"
    #elseif arch(arm64)
        static let nativeGoArchitecture = "arm64"
        static let nativeSeccompArchitecture = "SCMP_ARCH_AARCH64"
    #elseif arch(s390x)
        static let nativeGoArchitecture = "s390x"
        static let nativeSeccompArchitecture = "SCMP_ARCH_S390X"
    #elseif arch(powerpc64le)
        static let nativeGoArchitecture = "ppc64le"
        static let nativeSeccompArchitecture = "SCMP_ARCH_PPC64LE"
    #else
        static let nativeGoArchitecture = "unknown"
        static let nativeSeccompArchitecture = "SCMP_ARCH_NATIVE"
    #endif

    static func runningKernel() -> [Int] {
        var names = utsname()
        guard uname(&names) == 0 else { return [] }
        let release = withUnsafeBytes(of: &names.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return ProfileDecoder.kernelVersion(release, strict: false) ?? []
    }
}

// MARK: - Decoding

/// Walks a profile document, collecting every issue instead of stopping at the first.
struct ProfileDecoder {
    let host: ProfileHost
    var issues: [ProfileIssue] = []
    /// `$.seccomp`, or `$` for a plain seccomp object.
    var seccompPath = "$.seccomp"

    init(host: ProfileHost) {
        self.host = host
    }

    static let topLevelKeys = [
        "description", "seccomp", "limits", "filesystem", "network", "namespaces", "env", "runAs",
    ]
    static let seccompKeys = [
        "defaultAction", "defaultErrnoRet", "architectures", "archMap", "flags", "listenerPath",
        "listenerMetadata", "syscalls",
    ]
    static let ruleKeys = ["names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes"]
    static let argKeys = ["index", "value", "valueTwo", "op"]
    static let filterKeys = ["arches", "caps", "minKernel"]
    static let archMapKeys = ["architecture", "subArchitectures"]
    static let limitKeys = [
        "wallTimeSeconds", "cpuTimeSeconds", "memoryBytes", "processes", "openFiles", "fileSizeBytes", "outputBytes",
    ]
    static let filesystemKeys = ["read", "write", "scratch"]
    static let namespaceKeys = ["user", "pid", "mount", "ipc", "uts"]
    static let envKeys = ["allow", "set"]
    static let seccompFlags: Set<String> = [
        "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_NEW_LISTENER", "SECCOMP_FILTER_FLAG_TSYNC_ESRCH",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ]

    mutating func report(_ path: String, _ message: String) {
        issues.append(ProfileIssue(path: path, message: message))
    }

    // MARK: Profile

    mutating func decodeProfile(_ document: JSONValue, name: String) -> Profile? {
        guard case .object(let top) = document else {
            report("$", "expected an object, found \(document.typeName)")
            return nil
        }
        // A plain OCI/Docker seccomp object: the default profile with this filter.
        if top.contains(key: "defaultAction") && !top.contains(key: "seccomp") {
            seccompPath = "$"
            guard let seccomp = decodeSeccomp(document, path: "$") else { return nil }
            guard var profile = defaultProfile() else { return nil }
            profile.name = name
            profile.description = "OCI seccomp profile \(name), with the built-in default profile's other settings"
            profile.seccomp = seccomp
            return profile
        }
        checkKeys(top, "$", allowed: Self.topLevelKeys)

        var seccomp: SeccompPolicy?
        if let value = top["seccomp"] {
            seccomp = decodeSeccomp(value, path: "$.seccomp")
        } else {
            // No seccomp section: Airlock's default syscall policy, never "no filter".
            seccomp = defaultProfile()?.seccomp
        }
        let description = top["description"].flatMap { string($0, "$.description") } ?? ""
        let limits = top["limits"].flatMap { decodeLimits($0, "$.limits") } ?? Limits()
        let filesystem = top["filesystem"].flatMap { decodeFilesystem($0, "$.filesystem") } ?? FilesystemPolicy()
        var network = NetworkMode.none
        if let value = top["network"], let text = string(value, "$.network") {
            if let mode = NetworkMode(rawValue: text) {
                network = mode
            } else {
                report("$.network", "unknown network mode \"\(text)\" (expected none, loopback or host)")
            }
        }
        let namespaces = top["namespaces"].flatMap { decodeNamespaces($0, "$.namespaces") } ?? NamespacePolicy()
        let env = top["env"].flatMap { decodeEnv($0, "$.env") } ?? EnvPolicy()
        var runAs = "nobody"
        if let value = top["runAs"], let user = string(value, "$.runAs") {
            if user == "root" || user == "0" {
                report("$.runAs", "a tool never runs as root; name an unprivileged user")
            } else if isValidUserName(user) {
                runAs = user
            } else {
                report("$.runAs", "invalid user name \"\(user)\"")
            }
        }
        guard let seccomp else { return nil }
        return Profile(
            name: name, description: description, seccomp: seccomp, limits: limits, filesystem: filesystem,
            network: network, namespaces: namespaces, env: env, runAs: runAs)
    }

    /// The built-in `default` profile; reports (rather than recurses) if it cannot be had.
    mutating func defaultProfile() -> Profile? {
        do {
            if let profile = try Profile.builtin("default") { return profile }
            report(seccompPath, "the built-in default profile is missing")
        } catch {
            report(seccompPath, "the built-in default profile does not load: \(error)")
        }
        return nil
    }

    // MARK: Seccomp

    /// Decodes an OCI `LinuxSeccomp` object. `null` counts as absent inside it, as in Go.
    mutating func decodeSeccomp(_ value: JSONValue, path: String) -> SeccompPolicy? {
        guard let object = object(value, path, allowed: Self.seccompKeys) else { return nil }
        var valid = true

        var defaultAction: SeccompAction?
        if let value = present(object, "defaultAction") {
            defaultAction = action(value, join(path, "defaultAction"))
        } else {
            report(path, "missing required key \"defaultAction\"")
        }
        if defaultAction == nil { valid = false }

        var defaultErrnoRet: UInt32?
        if let value = present(object, "defaultErrnoRet") {
            let p = join(path, "defaultErrnoRet")
            if let n = integer(value, p) {
                if n > 4095 { report(p, "errno \(n) is out of range 0...4095") } else { defaultErrnoRet = UInt32(n) }
            }
        }

        var architectures: [String] = []
        if let value = present(object, "architectures"), let names = stringArray(value, join(path, "architectures")) {
            for (i, name) in names.enumerated() where !SeccompCompiler.isKnownArchitecture(name) {
                report("\(join(path, "architectures"))[\(i)]", "unknown architecture \"\(name)\"")
            }
            architectures = names
        }
        if let value = present(object, "archMap") {
            let p = join(path, "archMap")
            if let mapped = decodeArchMap(value, p) {
                if !architectures.isEmpty && !(value.arrayValue ?? []).isEmpty {
                    report(p, "use either \"architectures\" or \"archMap\", not both")
                } else if !mapped.isEmpty {
                    architectures = mapped
                }
            }
        }

        var flags: [String] = []
        if let value = present(object, "flags"), let names = stringArray(value, join(path, "flags")) {
            for (i, name) in names.enumerated() where !Self.seccompFlags.contains(name) {
                report("\(join(path, "flags"))[\(i)]", "unknown seccomp flag \"\(name)\"")
            }
            flags = names
        }
        // listenerPath and listenerMetadata belong to SCMP_ACT_NOTIFY, which is refused; accepted, ignored.
        for key in ["listenerPath", "listenerMetadata"] {
            if let value = present(object, key) { _ = string(value, join(path, key)) }
        }

        var rules: [SeccompRule] = []
        if let value = present(object, "syscalls") {
            let p = join(path, "syscalls")
            if case .array(let elements) = value {
                for (i, element) in elements.enumerated() {
                    if let rule = decodeRule(element, "\(p)[\(i)]") { rules += rule }
                }
            } else {
                report(p, "expected an array, found \(value.typeName)")
            }
        }

        guard valid, let defaultAction else { return nil }
        return SeccompPolicy(
            defaultAction: defaultAction, defaultErrnoRet: defaultErrnoRet, architectures: architectures,
            flags: flags, syscalls: rules)
    }

    /// Docker's `archMap`: the native entry's architecture plus its sub-architectures.
    mutating func decodeArchMap(_ value: JSONValue, _ path: String) -> [String]? {
        guard case .array(let elements) = value else {
            report(path, "expected an array, found \(value.typeName)")
            return nil
        }
        var result: [String] = []
        for (i, element) in elements.enumerated() {
            let p = "\(path)[\(i)]"
            guard let entry = object(element, p, allowed: Self.archMapKeys) else { continue }
            var names: [String] = []
            if let value = present(entry, "architecture"), let name = string(value, join(p, "architecture")) {
                if !SeccompCompiler.isKnownArchitecture(name) {
                    report(join(p, "architecture"), "unknown architecture \"\(name)\"")
                }
                names.append(name)
            } else if present(entry, "architecture") == nil {
                report(p, "missing required key \"architecture\"")
            }
            if let value = present(entry, "subArchitectures"),
                let subs = stringArray(value, join(p, "subArchitectures"))
            {
                for (j, name) in subs.enumerated() where !SeccompCompiler.isKnownArchitecture(name) {
                    report("\(join(p, "subArchitectures"))[\(j)]", "unknown architecture \"\(name)\"")
                }
                names += subs
            }
            if names.first == host.seccompArchitecture { result = names }
        }
        return result
    }

    /// One `syscalls` entry; `[]` when its `includes`/`excludes` leave it out on this host.
    mutating func decodeRule(_ value: JSONValue, _ path: String) -> [SeccompRule]? {
        guard let object = object(value, path, allowed: Self.ruleKeys) else { return nil }
        let before = issues.count

        var names: [String] = []
        if let value = present(object, "names"), let list = stringArray(value, join(path, "names")) {
            for (i, name) in list.enumerated() { checkSyscall(name, "\(join(path, "names"))[\(i)]") }
            names = list
        }
        if let value = present(object, "name"), let name = string(value, join(path, "name")) {
            checkSyscall(name, join(path, "name"))
            names.append(name)
        }
        if names.isEmpty && issues.count == before { report(path, "missing required key \"names\"") }

        var ruleAction: SeccompAction?
        if let value = present(object, "action") {
            ruleAction = action(value, join(path, "action"))
        } else {
            report(path, "missing required key \"action\"")
        }

        var errnoRet: UInt32?
        if let value = present(object, "errnoRet") {
            let p = join(path, "errnoRet")
            if let n = integer(value, p) {
                switch ruleAction {
                case .errno?: if n > 4095 { report(p, "errno \(n) is out of range 0...4095") }
                case .trace?: if n > 65535 { report(p, "trace message \(n) is out of range 0...65535") }
                case nil: break
                default: report(p, "errnoRet is only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE")
                }
                errnoRet = UInt32(truncatingIfNeeded: n)
            }
        }

        var args: [SeccompArg] = []
        if let value = present(object, "args") {
            let p = join(path, "args")
            if case .array(let elements) = value {
                if elements.count > 6 { report(p, "at most 6 argument comparisons are possible") }
                for (i, element) in elements.enumerated() {
                    if let arg = decodeArg(element, "\(p)[\(i)]") { args.append(arg) }
                }
            } else {
                report(p, "expected an array, found \(value.typeName)")
            }
        }
        if let value = present(object, "comment") { _ = string(value, join(path, "comment")) }

        let includes = present(object, "includes").flatMap { decodeFilter($0, join(path, "includes")) }
        let excludes = present(object, "excludes").flatMap { decodeFilter($0, join(path, "excludes")) }

        guard issues.count == before, let ruleAction else { return nil }
        if let excludes, excludes.matches(host, including: false) { return [] }
        if let includes, !includes.matches(host, including: true) { return [] }
        return [SeccompRule(names: names, action: ruleAction, errnoRet: errnoRet, args: args)]
    }

    mutating func checkSyscall(_ name: String, _ path: String) {
        if name.isEmpty {
            report(path, "empty syscall name")
        } else if !SeccompCompiler.isKnownSyscall(name) {
            report(path, "unknown syscall \"\(name)\"")
        }
    }

    mutating func decodeArg(_ value: JSONValue, _ path: String) -> SeccompArg? {
        guard let object = object(value, path, allowed: Self.argKeys) else { return nil }
        let before = issues.count
        var index: UInt64?
        if let value = present(object, "index") {
            let p = join(path, "index")
            if let n = integer(value, p) {
                if n > 5 { report(p, "argument index \(n) is out of range 0...5") } else { index = n }
            }
        } else {
            report(path, "missing required key \"index\"")
        }
        var first: UInt64?
        if let value = present(object, "value") {
            first = integer(value, join(path, "value"))
        } else {
            report(path, "missing required key \"value\"")
        }
        var second: UInt64 = 0
        if let value = present(object, "valueTwo") { second = integer(value, join(path, "valueTwo")) ?? 0 }
        var op: SeccompOperator?
        if let value = present(object, "op") {
            let p = join(path, "op")
            if let text = string(value, p) {
                op = SeccompOperator(rawValue: text)
                if op == nil { report(p, "unknown operator \"\(text)\"") }
            }
        } else {
            report(path, "missing required key \"op\"")
        }
        guard issues.count == before, let index, let first, let op else { return nil }
        return SeccompArg(index: UInt32(index), value: first, valueTwo: second, op: op)
    }

    /// Docker's `includes`/`excludes` filter.
    struct Filter {
        var arches: [String] = []
        var caps: [String] = []
        var minKernel: [Int]?

        /// For `includes`, true when every condition holds; for `excludes`, when any does.
        func matches(_ host: ProfileHost, including: Bool) -> Bool {
            let archHit = arches.contains(host.architecture)
            let kernelHit = minKernel.map { ProfileDecoder.kernel(host.kernel, atLeast: $0) }
            if including {
                if !arches.isEmpty && !archHit { return false }
                if !caps.allSatisfy(host.capabilities.contains) { return false }
                if kernelHit == false { return false }
                return true
            }
            if archHit { return true }
            if caps.contains(where: host.capabilities.contains) { return true }
            return kernelHit == true
        }
    }

    mutating func decodeFilter(_ value: JSONValue, _ path: String) -> Filter? {
        guard let object = object(value, path, allowed: Self.filterKeys) else { return nil }
        var filter = Filter()
        if let value = present(object, "arches") { filter.arches = stringArray(value, join(path, "arches")) ?? [] }
        if let value = present(object, "caps") {
            let p = join(path, "caps")
            filter.caps = stringArray(value, p) ?? []
            for (i, cap) in filter.caps.enumerated() where !cap.hasPrefix("CAP_") {
                report("\(p)[\(i)]", "capability names start with CAP_")
            }
        }
        if let value = present(object, "minKernel") {
            let p = join(path, "minKernel")
            if let text = string(value, p) {
                if let version = Self.kernelVersion(text, strict: true) {
                    filter.minKernel = version
                } else {
                    report(p, "invalid kernel version \"\(text)\" (expected MAJOR.MINOR)")
                }
            }
        }
        return filter
    }

    /// `6.1` → [6, 1]. Strict: only digits and dots; otherwise the leading numeric part.
    static func kernelVersion(_ text: String, strict: Bool) -> [Int]? {
        var parts: [Int] = []
        for piece in text.split(separator: ".", omittingEmptySubsequences: false) {
            let digits = piece.prefix { $0.isASCII && $0.isNumber }
            if digits.isEmpty || (strict && digits.count != piece.count) {
                if strict || parts.isEmpty { return nil }
                break
            }
            guard let n = Int(digits) else { return nil }
            parts.append(n)
            if digits.count != piece.count || parts.count == 3 { break }
        }
        if strict && !(1...3).contains(parts.count) { return nil }
        return parts.isEmpty ? nil : parts
    }

    static func kernel(_ running: [Int], atLeast wanted: [Int]) -> Bool {
        for (i, want) in wanted.enumerated() {
            let have = i < running.count ? running[i] : 0
            if have != want { return have > want }
        }
        return true
    }

    mutating func action(_ value: JSONValue, _ path: String) -> SeccompAction? {
        guard let text = string(value, path) else { return nil }
        guard let action = SeccompAction(rawValue: text) else {
            report(path, "unknown action \"\(text)\"")
            return nil
        }
        if action == .notify {
            report(path, "SCMP_ACT_NOTIFY is not supported: Airlock has no seccomp user-notification agent")
            return nil
        }
        return action
    }

    // MARK: Limits, filesystem, namespaces, environment

    mutating func decodeLimits(_ value: JSONValue, _ path: String) -> Limits? {
        guard let object = object(value, path, allowed: Self.limitKeys) else { return nil }
        var limits = Limits()
        // `null` means "not limited", the same as leaving the key out.
        func has(_ key: String) -> JSONValue? {
            guard let value = object[key], !value.isNull else { return nil }
            return value
        }
        if let value = has("wallTimeSeconds") { limits.wallTimeMs = seconds(value, join(path, "wallTimeSeconds")) }
        if let value = has("cpuTimeSeconds") { limits.cpuTimeMs = seconds(value, join(path, "cpuTimeSeconds")) }
        if let value = has("memoryBytes") { limits.memoryBytes = positive(value, join(path, "memoryBytes")) }
        if let value = has("processes") { limits.processes = positive(value, join(path, "processes")) }
        if let value = has("openFiles") { limits.openFiles = positive(value, join(path, "openFiles")) }
        if let value = has("fileSizeBytes") { limits.fileSizeBytes = positive(value, join(path, "fileSizeBytes")) }
        if let value = has("outputBytes") { limits.outputBytes = positive(value, join(path, "outputBytes")) }
        return limits
    }

    /// A duration in seconds (may be fractional, > 0), as whole milliseconds.
    mutating func seconds(_ value: JSONValue, _ path: String) -> UInt64? {
        guard case .number(let number) = value else {
            report(path, "expected a number of seconds, found \(value.typeName)")
            return nil
        }
        let seconds = number.double
        guard seconds > 0 else {
            report(path, "must be greater than 0")
            return nil
        }
        guard seconds <= 1e9 else {
            report(path, "\(number.text) seconds is too long")
            return nil
        }
        let ms = (seconds * 1000).rounded()
        guard ms >= 1 else {
            report(path, "must be at least 0.001 seconds")
            return nil
        }
        return UInt64(ms)
    }

    /// A whole number greater than zero.
    mutating func positive(_ value: JSONValue, _ path: String) -> UInt64? {
        guard let n = integer(value, path) else { return nil }
        guard n > 0 else {
            report(path, "must be greater than 0")
            return nil
        }
        return n
    }

    mutating func decodeFilesystem(_ value: JSONValue, _ path: String) -> FilesystemPolicy? {
        guard let object = object(value, path, allowed: Self.filesystemKeys) else { return nil }
        var policy = FilesystemPolicy()
        for key in ["read", "write"] {
            guard let value = object[key] else { continue }
            let p = join(path, key)
            guard let paths = stringArray(value, p) else { continue }
            for (i, entry) in paths.enumerated() {
                if let problem = Self.pathProblem(entry) { report("\(p)[\(i)]", problem) }
            }
            if key == "read" { policy.read = paths } else { policy.write = paths }
        }
        if let value = object["scratch"], let flag = bool(value, join(path, "scratch")) { policy.scratch = flag }
        return policy
    }

    static func pathProblem(_ path: String) -> String? {
        if path.isEmpty { return "empty path" }
        if !path.hasPrefix("/") { return "path \"\(path)\" is not absolute" }
        if path.utf8.contains(0) { return "path contains a NUL byte" }
        if path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) {
            return "path \"\(path)\" contains \".\" or \"..\""
        }
        return nil
    }

    mutating func decodeNamespaces(_ value: JSONValue, _ path: String) -> NamespacePolicy? {
        guard case .object(let object) = value else {
            report(path, "expected an object, found \(value.typeName)")
            return nil
        }
        for member in object where !Self.namespaceKeys.contains(member.key) {
            let hint = member.key == "net" || member.key == "network" ? " (the network is set by \"network\")" : ""
            report(join(path, member.key), "unknown key\(hint)")
        }
        var policy = NamespacePolicy()
        if let value = object["user"], let flag = bool(value, join(path, "user")) { policy.user = flag }
        if let value = object["pid"], let flag = bool(value, join(path, "pid")) {
            // The PID namespace is what kills a tool's whole tree when the host dies.
            if !flag { report(join(path, "pid"), "must be true: without a PID namespace a daemon the tool starts could outlive the call") }
            policy.pid = flag
        }
        if let value = object["mount"], let flag = bool(value, join(path, "mount")) { policy.mount = flag }
        if let value = object["ipc"], let flag = bool(value, join(path, "ipc")) { policy.ipc = flag }
        if let value = object["uts"], let flag = bool(value, join(path, "uts")) { policy.uts = flag }
        return policy
    }

    mutating func decodeEnv(_ value: JSONValue, _ path: String) -> EnvPolicy? {
        guard let object = object(value, path, allowed: Self.envKeys) else { return nil }
        var policy = EnvPolicy()
        if let value = object["allow"], let names = stringArray(value, join(path, "allow")) {
            for (i, name) in names.enumerated() where !Self.isValidEnvName(name) {
                report("\(join(path, "allow"))[\(i)]", "invalid environment variable name \"\(name)\"")
            }
            policy.allow = names
        }
        if let value = object["set"] {
            let p = join(path, "set")
            if case .object(let members) = value {
                for member in members {
                    let mp = join(p, member.key)
                    if !Self.isValidEnvName(member.key) {
                        report(mp, "invalid environment variable name \"\(member.key)\"")
                    }
                    if let text = string(member.value, mp) {
                        if text.utf8.contains(0) { report(mp, "value contains a NUL byte") }
                        policy.set[member.key] = text
                    }
                }
            } else {
                report(p, "expected an object, found \(value.typeName)")
            }
        }
        return policy
    }

    static func isValidEnvName(_ name: String) -> Bool {
        !name.isEmpty && !name.utf8.contains(where: { $0 == UInt8(ascii: "=") || $0 == 0 })
    }

    func isValidUserName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 32
            && name.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            }
    }

    // MARK: Primitives

    /// `key`'s value, with `null` treated as absent (Go's decoding of the OCI types).
    func present(_ object: JSONObject, _ key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    mutating func object(_ value: JSONValue, _ path: String, allowed: [String]) -> JSONObject? {
        guard case .object(let object) = value else {
            report(path, "expected an object, found \(value.typeName)")
            return nil
        }
        checkKeys(object, path, allowed: allowed)
        return object
    }

    mutating func checkKeys(_ object: JSONObject, _ path: String, allowed: [String]) {
        for member in object where !allowed.contains(member.key) {
            report(join(path, member.key), "unknown key")
        }
    }

    mutating func string(_ value: JSONValue, _ path: String) -> String? {
        guard case .string(let text) = value else {
            report(path, "expected a string, found \(value.typeName)")
            return nil
        }
        return text
    }

    mutating func bool(_ value: JSONValue, _ path: String) -> Bool? {
        guard case .bool(let flag) = value else {
            report(path, "expected true or false, found \(value.typeName)")
            return nil
        }
        return flag
    }

    /// An array of strings; reports each element that is not one. `null` elements are wrong too.
    mutating func stringArray(_ value: JSONValue, _ path: String) -> [String]? {
        guard case .array(let elements) = value else {
            report(path, "expected an array of strings, found \(value.typeName)")
            return nil
        }
        var result: [String] = []
        var ok = true
        for (i, element) in elements.enumerated() {
            if case .string(let text) = element {
                result.append(text)
            } else {
                report("\(path)[\(i)]", "expected a string, found \(element.typeName)")
                ok = false
            }
        }
        return ok ? result : nil
    }

    /// A non-negative whole number that fits in 64 bits.
    mutating func integer(_ value: JSONValue, _ path: String) -> UInt64? {
        guard case .number(let number) = value else {
            report(path, "expected a whole number, found \(value.typeName)")
            return nil
        }
        guard number.isInteger else {
            report(path, "expected a whole number, found \(number.text)")
            return nil
        }
        if number.text.hasPrefix("-") {
            report(path, number.text == "-0" ? "expected a whole number, found -0" : "must not be negative")
            return nil
        }
        guard let n = number.uint64 else {
            report(path, "\(number.text) does not fit in 64 bits")
            return nil
        }
        return n
    }

    /// `$.a.b`, or `$.a["odd key"]` for keys that are not identifiers.
    func join(_ path: String, _ key: String) -> String {
        let isIdentifier =
            !key.isEmpty
            && key.utf8.enumerated().allSatisfy { i, byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || byte == UInt8(ascii: "_") || (i > 0 && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            }
        if isIdentifier { return "\(path).\(key)" }
        var quoted = ""
        JSONValue.writeString(key, to: &quoted)
        return "\(path)[\(quoted)]"
    }
}
