import AirlockCore
import AirlockSandbox
import CAirlockSandbox

#if canImport(Glibc)
import Glibc
#endif

/// The host side of one MCP conversation over a child's standard input and output
/// (the `mcp-stdio` plugin protocol): newline-delimited JSON-RPC 2.0, one request at a time.
///
/// Everything is bounded: every call takes a `CLOCK_MONOTONIC` deadline that covers both
/// writing the request (the write end is non-blocking, so a server that never reads its input
/// cannot hold us) and reading the answer; a line longer than `Limits.maxMessageBytes` is
/// refused without buffering more than that; the number of messages read is capped. Nothing
/// the server says about sizes is trusted, and every line goes through the strict `JSONValue`
/// parser.
///
/// While waiting for an answer the session ignores (and counts) notifications and responses to
/// other ids, answers `ping` requests with an empty result and every other request from the
/// server (roots/list, sampling/createMessage, elicitation...) with error -32601.
///
/// Blocking: use it from one thread of its own (see `onThread`), never from the async pool.
/// The session owns both descriptors; call `close()` when done (a struct cannot close them
/// by itself). After a timeout, a malformed message, a cap or end of input the conversation is
/// out of step and every later call fails; a JSON-RPC error answer leaves it usable.
public struct MCPStdioSession {
    public struct Limits: Sendable {
        /// The longest line (one message or batch) accepted from the server, in bytes.
        public var maxMessageBytes = 16 << 20
        /// Messages read in one session (batch elements counted one by one) before giving up.
        public var maxMessages = 10_000
        public init() {}
    }

    /// The protocol version we ask for.
    public static let requestedProtocolVersion = "2025-06-18"
    /// Versions whose messages we understand; the server may answer with any of them.
    public static let knownProtocolVersions: Set<String> = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
    /// `clientInfo.version` in `initialize`.
    public static let clientVersion = "0.1.0"
    /// The most `tools/list` pages followed.
    public static let maxToolPages = 100

    private var writeFD: Int32
    private var readFD: Int32
    private let limits: Limits
    private var nextID: Int64 = 1
    private var failure: MCPSessionError?

    /// Bytes received and not yet consumed: `inbox[inboxStart...]`; no newline before `scanFrom`.
    private var inbox: [UInt8] = []
    private var inboxStart = 0
    private var scanFrom = 0
    private var endOfInput = false
    /// The last line read ended at end of input, without a newline.
    private var lastLineUnterminated = false

    /// The version the server chose, once `initialize` succeeded.
    public private(set) var protocolVersion: String?
    /// The server's `serverInfo` object, when it sent one.
    public private(set) var serverInfo: JSONValue?
    /// Messages read so far (batch elements counted one by one; blank lines not counted).
    public private(set) var messagesRead = 0
    /// Bytes read from the server so far.
    public private(set) var bytesReceived = 0
    /// Notifications from the server, ignored.
    public private(set) var notificationsIgnored = 0
    /// Requests from the server, answered (`ping`) or refused (everything else).
    public private(set) var serverRequestsAnswered = 0
    /// Responses whose id is not the one we waited for, ignored.
    public private(set) var strayResponses = 0

    /// `toServer`: descriptor we write requests to (the server's stdin); `fromServer`:
    /// descriptor we read (the server's stdout). The session owns both and closes them in
    /// `close()`. Both are made non-blocking.
    public init(toServer: Int32, fromServer: Int32, limits: Limits = .init()) {
        _ = Self.ignoreSIGPIPE
        writeFD = toServer
        readFD = fromServer
        var sane = limits
        sane.maxMessageBytes = max(sane.maxMessageBytes, 1)
        sane.maxMessages = max(sane.maxMessages, 1)
        self.limits = sane
        if toServer >= 0 { _ = airlock_set_nonblocking(toServer) }
        if fromServer >= 0 { _ = airlock_set_nonblocking(fromServer) }
    }

    /// A write to a server that has exited must fail with EPIPE, not end the host. The
    /// disposition is changed only while it is the default (a handler someone set stays).
    private static let ignoreSIGPIPE: Void = {
        var current = Glibc.sigaction()
        if sigaction(SIGPIPE, nil, &current) == 0, current.__sigaction_handler.sa_handler == nil {
            signal(SIGPIPE, SIG_IGN)
        }
    }()

    // MARK: - Public calls

    /// Sends `initialize` (protocol version 2025-06-18, clientInfo {name "airlock"}), checks the
    /// reply names a version we know and has capabilities, then sends
    /// `notifications/initialized`. Returns the server's InitializeResult object.
    public mutating func initialize(deadline: UInt64) throws(MCPSessionError) -> JSONValue {
        let call = CallContext(phase: "initialize", deadline: deadline)
        try checkUsable(call)
        if protocolVersion != nil {
            throw call.error(.protocolMismatch, "initialize was already done in this session")
        }
        let params: JSONValue = [
            "protocolVersion": .string(Self.requestedProtocolVersion),
            "capabilities": [:],
            "clientInfo": ["name": "airlock", "version": .string(Self.clientVersion)],
        ]
        let result = try request("initialize", params: params, call)
        guard case .object(let object) = result else {
            throw call.error(.protocolMismatch, "the MCP server answered initialize with \(result.typeName), not an object: \(Self.excerpt(result))")
        }
        guard let version = object["protocolVersion"]?.stringValue else {
            throw call.error(.protocolMismatch, "the MCP server's initialize result has no protocolVersion string: \(Self.excerpt(result))")
        }
        guard Self.knownProtocolVersions.contains(version) else {
            let known = Self.knownProtocolVersions.sorted().joined(separator: ", ")
            throw call.error(.protocolMismatch, "the MCP server speaks protocol version \(Self.quoted(version)), which Airlock does not know (it knows \(known))")
        }
        guard object["capabilities"]?.objectValue != nil else {
            throw call.error(.protocolMismatch, "the MCP server's initialize result has no capabilities object: \(Self.excerpt(result))")
        }
        if let info = object["serverInfo"], info.objectValue == nil {
            throw call.error(.protocolMismatch, "the MCP server's serverInfo is \(info.typeName), not an object")
        }
        try notify("notifications/initialized", call)
        protocolVersion = version
        serverInfo = object["serverInfo"]
        return result
    }

    /// `tools/list`, following `nextCursor` (at most `maxToolPages` pages). Returns the tool
    /// objects as sent; each is checked to be an object with a string `name`.
    public mutating func listTools(deadline: UInt64) throws(MCPSessionError) -> [JSONValue] {
        let call = CallContext(phase: "tools/list", deadline: deadline)
        try checkReady(call)
        var tools: [JSONValue] = []
        var cursor: String?
        var seenCursors: Set<String> = []
        for page in 1...Self.maxToolPages {
            let params: JSONValue? = cursor.map { ["cursor": .string($0)] }
            let result = try request("tools/list", params: params, call)
            guard case .object(let object) = result, let list = object["tools"]?.arrayValue else {
                throw call.error(.protocolMismatch, "the MCP server's tools/list result (page \(page)) has no tools array: \(Self.excerpt(result))")
            }
            for tool in list {
                guard tool["name"]?.stringValue != nil else {
                    throw call.error(.protocolMismatch, "the MCP server listed a tool that is not an object with a string name: \(Self.excerpt(tool))")
                }
                tools.append(tool)
            }
            switch object["nextCursor"] {
            case nil, .null?:
                return tools
            case .string(let next)?:
                guard seenCursors.insert(next).inserted else {
                    throw call.error(.protocolMismatch, "the MCP server's tools/list repeats the cursor \(Self.quoted(next)) (a loop)")
                }
                cursor = next
            case let other?:
                throw call.error(.protocolMismatch, "the MCP server's nextCursor is \(other.typeName), not a string")
            }
        }
        throw call.error(.tooLarge, "the MCP server's tools/list goes on beyond \(Self.maxToolPages) pages")
    }

    /// `tools/call`. Returns the CallToolResult object as sent (content, structuredContent,
    /// isError...), checked to have a `content` array and, when present, a boolean `isError`.
    /// A tool that failed usually answers `isError: true` here, not a JSON-RPC error.
    public mutating func callTool(name: String, arguments: JSONValue, deadline: UInt64) throws(MCPSessionError) -> JSONValue {
        let call = CallContext(phase: "tools/call", deadline: deadline)
        try checkReady(call)
        let result = try request("tools/call", params: ["name": .string(name), "arguments": arguments], call)
        guard case .object(let object) = result else {
            throw call.error(.protocolMismatch, "the MCP server answered tools/call with \(result.typeName), not an object: \(Self.excerpt(result))")
        }
        guard object["content"]?.arrayValue != nil else {
            throw call.error(.protocolMismatch, "the MCP server's tools/call result has no content array: \(Self.excerpt(result))")
        }
        if let isError = object["isError"], isError.boolValue == nil {
            throw call.error(.protocolMismatch, "the MCP server's isError is \(isError.typeName), not a boolean")
        }
        return result
    }

    /// Closes our write end (the server sees end of input and should exit) and the read end.
    /// Safe to call more than once.
    public mutating func close() {
        if writeFD >= 0 { Glibc.close(writeFD) }
        if readFD >= 0 { Glibc.close(readFD) }
        writeFD = -1
        readFD = -1
    }

    /// `CLOCK_MONOTONIC` now, in nanoseconds (what deadlines are measured against).
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// A deadline `milliseconds` from now.
    public static func deadline(afterMilliseconds milliseconds: UInt64) -> UInt64 {
        now() &+ milliseconds &* 1_000_000
    }

    // MARK: - State

    private struct CallContext {
        let phase: String
        let deadline: UInt64
        let started: UInt64

        init(phase: String, deadline: UInt64) {
            self.phase = phase
            self.deadline = deadline
            started = MCPStdioSession.now()
        }

        /// The time this call was given, for messages ("10 s", "500 ms").
        var budget: String {
            let ns = deadline > started ? deadline - started : 0
            let ms = (ns + 500_000) / 1_000_000
            if ms < 1000 { return "\(ms) ms" }
            if ms % 1000 == 0 { return "\(ms / 1000) s" }
            return "\(ms / 1000).\((ms % 1000) / 100) s"
        }

        func error(_ kind: MCPSessionError.Kind, _ message: String, rpcCode: Int? = nil) -> MCPSessionError {
            MCPSessionError(kind: kind, phase: phase, message: message, rpcCode: rpcCode)
        }
    }

    private func checkUsable(_ call: CallContext) throws(MCPSessionError) {
        if let failure {
            throw call.error(failure.kind, "the MCP session already failed (\(failure.phase)): \(failure.message)")
        }
        if writeFD < 0 || readFD < 0 {
            throw call.error(.closed, "the MCP session is closed")
        }
    }

    private func checkReady(_ call: CallContext) throws(MCPSessionError) {
        try checkUsable(call)
        if protocolVersion == nil {
            throw call.error(.protocolMismatch, "\(call.phase) before a successful initialize")
        }
    }

    /// Records an error that leaves the conversation out of step, then returns it.
    private mutating func broken(_ error: MCPSessionError) -> MCPSessionError {
        if failure == nil { failure = error }
        return error
    }

    // MARK: - Requests

    /// Sends one request and reads until its answer; returns the `result`.
    private mutating func request(_ method: String, params: JSONValue?, _ call: CallContext) throws(MCPSessionError) -> JSONValue {
        let id = nextID
        nextID += 1
        var message: JSONObject = ["jsonrpc": "2.0", "id": .number(JSONNumber(id)), "method": .string(method)]
        if let params { message["params"] = params }
        try send(.object(message), what: "the \(method) request", call)
        while true {
            guard let line = try nextLine(call) else {
                throw broken(call.error(.closed, "the MCP server closed its output (or exited) before answering \(method)"))
            }
            if let answer = try handleLine(line, awaiting: id, call) {
                switch answer {
                case .success(let result): return result
                case .failure(let error): throw error
                }
            }
        }
    }

    private mutating func notify(_ method: String, _ call: CallContext) throws(MCPSessionError) {
        try send(["jsonrpc": "2.0", "method": .string(method)], what: "the \(method) notification", call)
    }

    /// One line from the server: a message or a batch. Returns the answer to `id` when the
    /// line holds it (the rest of a batch is still handled).
    private mutating func handleLine(
        _ line: [UInt8], awaiting id: Int64, _ call: CallContext
    ) throws(MCPSessionError) -> Result<JSONValue, MCPSessionError>? {
        let value: JSONValue
        do {
            value = try JSONValue.parse(line)
        } catch {
            if lastLineUnterminated {
                throw broken(call.error(.closed, "the MCP server closed its output (or exited) in the middle of a message during \(call.phase): \(Self.excerpt(line))"))
            }
            throw broken(call.error(.malformed, "the MCP server wrote a line that is not JSON (\(error.message)) during \(call.phase): \(Self.excerpt(line))"))
        }
        var answer: Result<JSONValue, MCPSessionError>?
        if case .array(let elements) = value {
            guard !elements.isEmpty else {
                throw broken(call.error(.malformed, "the MCP server wrote an empty batch during \(call.phase)"))
            }
            var replies: [JSONValue] = []
            for element in elements {
                let (reply, result) = try handleMessage(element, awaiting: id, call)
                if let reply { replies.append(reply) }
                if let result, answer == nil { answer = result }
            }
            if !replies.isEmpty { try send(.array(replies), what: "our replies to the server's requests", call) }
        } else {
            let (reply, result) = try handleMessage(value, awaiting: id, call)
            if let reply { try send(reply, what: "our reply to the server's request", call) }
            answer = result
        }
        return answer
    }

    /// One JSON-RPC message: returns the reply to send (server requests) and the answer to
    /// our request when this is it.
    private mutating func handleMessage(
        _ message: JSONValue, awaiting id: Int64, _ call: CallContext
    ) throws(MCPSessionError) -> (reply: JSONValue?, answer: Result<JSONValue, MCPSessionError>?) {
        messagesRead += 1
        if messagesRead > limits.maxMessages {
            throw broken(call.error(.tooLarge, "the MCP server sent more than \(limits.maxMessages) messages in one session"))
        }
        guard case .object(let object) = message, object["jsonrpc"]?.stringValue == "2.0" else {
            throw broken(call.error(.malformed, "the MCP server wrote something that is not a JSON-RPC 2.0 message during \(call.phase): \(Self.excerpt(message))"))
        }
        if let method = object["method"] {
            guard case .string(let name) = method else {
                throw broken(call.error(.malformed, "the MCP server sent a message whose method is not a string: \(Self.excerpt(message))"))
            }
            guard let requestID = object["id"] else {
                notificationsIgnored += 1
                return (nil, nil)
            }
            switch requestID {
            case .string, .number, .null: break
            default:
                throw broken(call.error(.malformed, "the MCP server sent a request whose id is \(requestID.typeName): \(Self.excerpt(message))"))
            }
            serverRequestsAnswered += 1
            if name == "ping" {
                return (["jsonrpc": "2.0", "id": requestID, "result": [:]], nil)
            }
            let refusal: JSONValue = [
                "jsonrpc": "2.0", "id": requestID,
                "error": ["code": -32601, "message": "method not supported by Airlock"],
            ]
            return (refusal, nil)
        }
        // A response.
        guard let responseID = object["id"] else {
            throw broken(call.error(.malformed, "the MCP server sent a message with neither method nor id: \(Self.excerpt(message))"))
        }
        let result = object["result"]
        let error = object["error"]
        guard (result == nil) != (error == nil) else {
            throw broken(call.error(.malformed, "the MCP server sent a response without exactly one of result and error: \(Self.excerpt(message))"))
        }
        let isOurs = responseID.numberValue.flatMap(\.int64) == id
        // An error with a null id answers a request the server could not read: ours, the only one pending.
        guard isOurs || (error != nil && responseID.isNull) else {
            strayResponses += 1
            return (nil, nil)
        }
        if let result { return (nil, .success(result)) }
        guard case .object(let details)? = error, let code = details["code"]?.numberValue?.int64,
            let text = details["message"]?.stringValue
        else {
            throw broken(call.error(.malformed, "the MCP server answered \(call.phase) with an error that has no integer code and string message: \(Self.excerpt(message))"))
        }
        let rpcCode = Int(exactly: code)
        return (nil, .failure(call.error(.rpcError, "the MCP server answered \(call.phase) with error \(code): \(Self.clipped(text, 500))", rpcCode: rpcCode)))
    }

    // MARK: - Writing

    /// Writes one message and its newline, before the deadline. While the server does not
    /// read, what it writes meanwhile is taken in (up to the line cap), so a server that
    /// answers before reading all of a large request does not wedge both sides.
    private mutating func send(_ message: JSONValue, what: String, _ call: CallContext) throws(MCPSessionError) {
        var bytes = message.serializedBytes()
        bytes.append(UInt8(ascii: "\n"))
        var offset = 0
        while offset < bytes.count {
            let chunk = min(bytes.count - offset, 1 << 20)
            let written = bytes.withUnsafeBytes { Glibc.write(writeFD, $0.baseAddress! + offset, chunk) }
            if written > 0 {
                offset += written
                continue
            }
            let code = written < 0 ? errno : EAGAIN
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: break
            case EPIPE:
                throw broken(call.error(.closed, "the MCP server closed its input (or exited) before reading \(what) (\(call.phase))"))
            default:
                throw broken(call.error(.io, "cannot write \(what) to the MCP server: \(Self.describe(errno: code))"))
            }
            let readRoom = !endOfInput && pendingCount < limits.maxMessageBytes + 2
            var fds = [pollfd(fd: writeFD, events: Int16(POLLOUT), revents: 0)]
            if readRoom { fds.append(pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)) }
            guard try waitFor(&fds, call) else {
                throw broken(call.error(.timeout, "the MCP server did not read \(what) (\(bytes.count) bytes, \(offset) taken) within \(call.budget) (\(call.phase))"))
            }
            if readRoom, fds[1].revents != 0 { try receive(call) }
        }
    }

    // MARK: - Reading

    private var pendingCount: Int { inbox.count - inboxStart }

    /// The next non-blank line without its "\n" or "\r\n"; nil at end of input. At end of
    /// input, bytes after the last newline count as a last line.
    private mutating func nextLine(_ call: CallContext) throws(MCPSessionError) -> [UInt8]? {
        let cap = limits.maxMessageBytes
        while true {
            if let newline = inbox[scanFrom...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > inboxStart, inbox[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let length = end - inboxStart
                let line = Array(inbox[inboxStart..<end])
                inboxStart = newline + 1
                scanFrom = inboxStart
                if length > cap { throw broken(tooLong(call)) }
                if Self.isBlank(line) { continue }
                return line
            }
            scanFrom = inbox.count
            if pendingCount > cap + 1 { throw broken(tooLong(call)) }  // cap bytes and a "\r" at most
            if endOfInput {
                guard pendingCount > 0 else { return nil }
                let line = Array(inbox[inboxStart...])
                inboxStart = inbox.count
                scanFrom = inboxStart
                if Self.isBlank(line) { return nil }
                lastLineUnterminated = true
                return line
            }
            var fds = [pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)]
            guard try waitFor(&fds, call) else {
                throw broken(call.error(.timeout, "the MCP server did not answer \(call.phase) within \(call.budget)"))
            }
            try receive(call)
        }
    }

    private func tooLong(_ call: CallContext) -> MCPSessionError {
        call.error(.tooLarge, "the MCP server sent a message longer than \(limits.maxMessageBytes) bytes during \(call.phase)")
    }

    /// One read into the inbox, never past the line cap; sets `endOfInput` on end of file.
    private mutating func receive(_ call: CallContext) throws(MCPSessionError) {
        if inboxStart > 0, inboxStart >= 1 << 16 || inboxStart * 2 >= inbox.count {
            inbox.removeSubrange(0..<inboxStart)
            scanFrom -= inboxStart
            inboxStart = 0
        }
        let room = limits.maxMessageBytes + 2 - pendingCount
        guard room > 0 else { return }
        let wanted = min(room, 1 << 16)
        let before = inbox.count
        inbox.append(contentsOf: repeatElement(0, count: wanted))
        let fd = readFD
        var got = 0
        var code: Int32 = 0
        repeat {
            got = inbox.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + before, wanted) }
            code = got < 0 ? errno : 0
        } while got < 0 && code == EINTR
        inbox.removeSubrange((before + max(got, 0))...)
        if got > 0 {
            bytesReceived += got
        } else if got == 0 {
            endOfInput = true
        } else if code != EAGAIN && code != EWOULDBLOCK {
            throw broken(call.error(.io, "cannot read from the MCP server: \(Self.describe(errno: code))"))
        }
    }

    /// Polls until an event or the deadline; false on timeout.
    private mutating func waitFor(_ fds: inout [pollfd], _ call: CallContext) throws(MCPSessionError) -> Bool {
        while true {
            let now = Self.now()
            guard now < call.deadline else { return false }
            let remainingMs = (call.deadline - now + 999_999) / 1_000_000
            let timeout = Int32(min(remainingMs, UInt64(Int32.max)))
            let count = fds.count
            let ready = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t(count), timeout) }
            if ready > 0 {
                if fds.contains(where: { $0.revents & Int16(POLLNVAL) != 0 }) {
                    throw broken(call.error(.io, "a descriptor to the MCP server is not open"))
                }
                return true
            }
            if ready < 0 {
                let code = errno
                if code == EINTR { continue }
                throw broken(call.error(.io, "cannot wait for the MCP server: \(Self.describe(errno: code))"))
            }
        }
    }

    // MARK: - Text

    private static func isBlank(_ line: [UInt8]) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }

    /// At most ~200 characters of what the server sent, quoted with control characters escaped.
    static func excerpt(_ bytes: [UInt8]) -> String {
        let limit = 200
        let shown = String(decoding: bytes.prefix(limit), as: UTF8.self)
        return quoted(shown) + (bytes.count > limit ? "… (\(bytes.count) bytes)" : "")
    }

    static func excerpt(_ value: JSONValue) -> String {
        let bytes = value.serializedBytes()
        let limit = 200
        let shown = String(decoding: bytes.prefix(limit), as: UTF8.self)
        return shown + (bytes.count > limit ? "… (\(bytes.count) bytes)" : "")
    }

    static func quoted(_ text: String) -> String {
        JSONValue.string(text).serialized()
    }

    static func clipped(_ text: String, _ limit: Int) -> String {
        text.count > limit ? String(text.prefix(limit)) + "…" : text
    }

    static func describe(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text) + " (errno \(code))"
    }
}

// MARK: - Errors

/// Why an MCP conversation failed, for an operator: `message` says what the server did.
public struct MCPSessionError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The deadline passed (the server did not answer, or did not read what we wrote).
        case timeout
        /// The server closed its output or input (usually: it exited).
        case closed
        /// A line that is not a JSON-RPC 2.0 message.
        case malformed
        /// A line over `maxMessageBytes`, too many messages, too many pages.
        case tooLarge
        /// The server answered our request with a JSON-RPC error (`rpcCode`).
        case rpcError
        /// An unknown protocol version, or a result without its required fields.
        case protocolMismatch
        /// A system call on the pipes failed.
        case io
    }

    public var kind: Kind
    /// "initialize", "tools/list" or "tools/call".
    public var phase: String
    public var message: String
    /// The JSON-RPC error code, for `rpcError`.
    public var rpcCode: Int?

    public init(kind: Kind, phase: String, message: String, rpcCode: Int? = nil) {
        self.kind = kind
        self.phase = phase
        self.message = message
        self.rpcCode = rpcCode
    }

    public var description: String { message }
}

// MARK: - Off the async pool

extension MCPStdioSession {
    /// Runs `body` (blocking work: a whole session, made and closed inside it) on a detached
    /// POSIX thread and resumes the caller with its value or error, so no thread of Swift's
    /// cooperative pool waits on the pipes. Task cancellation does not interrupt `body`: its
    /// deadlines bound it.
    public static func onThread<T: Sendable>(
        _ body: @escaping @Sendable () throws(MCPSessionError) -> T
    ) async throws(MCPSessionError) -> T {
        let outcome: Result<T, MCPSessionError> = await withCheckedContinuation { continuation in
            DetachedThread.start {
                do throws(MCPSessionError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try outcome.get()
    }
}
