#if canImport(Glibc)
import Glibc
#endif
import CAirlockSandbox
import Synchronization

/// An error in the request itself (as opposed to a confined run that failed, which is a report).
public struct SandboxError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case invalidRequest = "invalid_request"
        case profile = "profile"
        case host = "host"
    }

    public var code: Code
    public var message: String
    public var errno: Int32?

    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String { message }
}

/// Runs commands in freshly cloned, confined children.
public enum Sandbox {
    /// Runs one command to completion and reports what happened. Cancelling the task kills the
    /// child's whole tree; the report then says `signaled` with SIGKILL.
    public static func run(_ request: SandboxRequest) async throws -> SandboxReport {
        let control = RunControl()
        guard control.fd >= 0 else {
            let code = errno
            request.closeHandedOverDescriptors()
            throw SandboxError(.host, "cannot create the eventfd that cancels a run: \(Posix.describe(errno: code))", errno: code)
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<SandboxReport, any Error>) in
                // Prepare, spawn and supervise on a thread of our own: the child's parent-death
                // signal is tied to the thread that cloned it, and the blocking work (profile
                // checks, seccomp, cgroups) stays off the async pool, where it would hold up
                // other tasks (a cancellation among them) when many calls start at once.
                DetachedThread.start {
                    let report: SandboxReport
                    do {
                        report = try PreparedRun(request).execute(control: control)
                    } catch {
                        request.closeHandedOverDescriptors()
                        control.close()
                        continuation.resume(throwing: error)
                        return
                    }
                    control.close()  // before answering: the caller sees no descriptor of ours left
                    continuation.resume(returning: report)
                }
            }
        } onCancel: {
            control.cancel()
        }
    }

    /// Whether `network: none` calls of this process share one empty network namespace
    /// (made on first use, ~0.5 ms) instead of each creating its own. On by default; a
    /// process that makes a single call turns it off.
    public static var sharesEmptyNetworkNamespace: Bool {
        get { SharedNetworkNamespace.enabled.load(ordering: .relaxed) }
        set { SharedNetworkNamespace.enabled.store(newValue, ordering: .relaxed) }
    }

    /// Opens /dev/null onto any closed descriptor 0-2. Call it first thing in a program that
    /// may be started with them closed: a descriptor opened later would otherwise take the
    /// number and be handed to tools as their standard input or output.
    public static func ensureStandardDescriptors() { Posix.ensureStandardDescriptors() }

    /// This process's environment (what `SandboxRequest.hostEnvironment` defaults to).
    public static func processEnvironment() -> [String: String] { Posix.environment() }

    /// CLOCK_MONOTONIC in nanoseconds (the clock of the sandbox's deadlines).
    public static func monotonicNanoseconds() -> UInt64 { Posix.monotonicNanoseconds() }

    /// This process's working directory (`/` when it cannot be read).
    public static func currentDirectory() -> String { Posix.currentDirectory() }

    /// Runs one command on the calling thread (which must outlive the child).
    public static func runBlocking(_ request: SandboxRequest) throws -> SandboxReport {
        let control = RunControl()
        defer { control.close() }
        let prepared: PreparedRun
        do {
            prepared = try PreparedRun(request)
        } catch {
            request.closeHandedOverDescriptors()
            throw error
        }
        return prepared.execute(control: control)
    }
}

/// Cancellation signal for one run: an eventfd the supervisor polls.
final class RunControl: Sendable {
    private let state = Mutex<(fd: Int32, cancelled: Bool)>((-1, false))

    init() {
        var fd: Int32 = -1
        if airlock_eventfd(&fd) == 0 { state.withLock { $0.fd = fd } }
    }

    deinit { close() }

    /// Closes the eventfd; a later `cancel` finds nothing to signal (never a reused number).
    func close() {
        state.withLock {
            if $0.fd >= 0 { Glibc.close($0.fd) }
            $0.fd = -1
        }
    }

    var fd: Int32 { state.withLock { $0.fd } }
    var isCancelled: Bool { state.withLock { $0.cancelled } }

    func cancel() {
        state.withLock {
            $0.cancelled = true
            if $0.fd >= 0 {
                var one: UInt64 = 1
                _ = write($0.fd, &one, 8)
            }
        }
    }
}

/// Starts a detached POSIX thread for a closure: for blocking work (a child's supervision, a
/// conversation over pipes) that must not hold a thread of Swift's small cooperative pool.
public enum DetachedThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    public static func start(_ body: @escaping @Sendable () -> Void) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        defer { pthread_attr_destroy(&attributes) }
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        if result != 0 {
            // No thread: run here rather than lose the call.
            Unmanaged<Body>.fromOpaque(context).takeRetainedValue().run()
        }
    }
}
