import AirlockCore
import AirlockSandbox
import Foundation
import Logging
import MCP
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// MCP over newline-delimited JSON on two descriptors (stdin and stdout for `serve --mcp stdio`).
///
/// Written for Airlock instead of the SDK's StdioTransport for two reasons: that one keeps an
/// unbounded buffer for a line without a newline (a client could grow the host's memory at
/// will), and it polls non-blocking descriptors with 10 ms sleeps (up to 10 ms added to every
/// call, and O_NONBLOCK set on a terminal shared with the parent). This one reads on a thread
/// of its own with blocking reads, refuses a line over `maxLineBytes` with a JSON-RPC error
/// (skipping it to its newline), and writes whole messages under a lock.
public actor LineTransport: Transport {
    public nonisolated let logger: Logger
    let input: Int32
    let output: Int32
    let maxLineBytes: Int
    private let stream: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    private let writeLock = Mutex(())
    private var started = false
    /// Answers tools/call itself; nil hands every message to the SDK.
    let interceptor: CallInterceptor?

    init(input: Int32 = 0, output: Int32 = 1, maxLineBytes: Int, logger: Logger, interceptor: CallInterceptor?) {
        self.input = input
        self.output = output
        self.maxLineBytes = maxLineBytes
        self.logger = logger
        self.interceptor = interceptor
        (stream, continuation) = AsyncThrowingStream<Data, any Error>.makeStream()
    }

    public func connect() async throws {
        guard !started else { return }
        started = true
        let input = self.input
        let limit = self.maxLineBytes
        let continuation = self.continuation
        let refuse: @Sendable (Int) -> Void = { [weak self] size in
            guard let self else { return }
            let message = "a message of more than \(limit) bytes was refused unread (\(size) bytes so far)"
            let body = #"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"\#(message)"}}"#
            self.writeLine(Data(body.utf8))
        }
        let interceptor = self.interceptor
        // The reading thread holds the transport until end of file (answers go out through it).
        let transport = self
        let deliver: @Sendable ([UInt8]) -> Void = { line in
            guard let interceptor else {
                continuation.yield(Data(line))
                return
            }
            let message: JSONObject
            let id: String
            switch interceptor.inspect(line) {
            case .pass:
                continuation.yield(Data(line))
                return
            case .refuse(let answer):
                transport.writeLine(Data(answer.serialized().utf8))
                return
            case .call(let call, let key):
                (message, id) = (call, key)
            }
            let accepted = interceptor.start(message, id: id) { response in
                if let response { transport.writeLine(Data(response.serialized().utf8)) }
            }
            if !accepted { transport.writeLine(Data(CallInterceptor.duplicate(id: message["id"] ?? .null).serialized().utf8)) }
        }
        DetachedThread.start {
            Self.readLoop(fd: input, limit: limit, deliver: deliver, finish: { continuation.finish() }, refuse: refuse)
        }
    }

    /// Reads lines until end of file; a line over `limit` is dropped and refused.
    static func readLoop(
        fd: Int32, limit: Int, deliver: ([UInt8]) -> Void, finish: () -> Void, refuse: @Sendable (Int) -> Void
    ) {
        var pending = [UInt8]()
        var skipping = false
        var skipped = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            var start = 0
            for index in 0..<count where buffer[index] == UInt8(ascii: "\n") {
                if skipping {
                    skipping = false
                    refuse(skipped + index - start)
                } else {
                    pending.append(contentsOf: buffer[start..<index])
                    if pending.count > limit {
                        refuse(pending.count)
                    } else if !pending.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) {
                        deliver(pending)
                    }
                }
                pending.removeAll(keepingCapacity: pending.count <= 1 << 20)
                start = index + 1
            }
            if skipping {
                skipped += count - start
            } else {
                pending.append(contentsOf: buffer[start..<count])
                if pending.count > limit {
                    skipping = true
                    skipped = pending.count
                    pending = []
                }
            }
        }
        finish()
    }

    public func disconnect() async {
        continuation.finish()
    }

    public func send(_ data: Data) async throws {
        guard writeLine(data) else { throw MCPError.connectionClosed }
    }

    /// Writes one message and its newline whole; false when the peer is gone.
    @discardableResult nonisolated func writeLine(_ data: Data) -> Bool {
        var bytes = [UInt8](data)
        bytes.append(UInt8(ascii: "\n"))
        return writeLock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { write(output, $0.baseAddress! + offset, $0.count - offset) }
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }

    public func receive() -> AsyncThrowingStream<Data, any Error> { stream }
}
