#if canImport(Glibc)
import Glibc
#endif
import CAirlockSandbox

/// Watches one running child from the parent: feeds stdin, copies and caps its output,
/// enforces the wall-clock deadline, honours cancellation, and reaps it.
struct Supervisor {
    struct Result {
        var status: Int32 = 0
        var usage = rusage()
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var stdoutBytes: UInt64 = 0
        var stderrBytes: UInt64 = 0
        var stdoutTruncated = false
        var stderrTruncated = false
        var outputExceeded = false
        var timedOut = false
        var cancelled = false
        /// Monotonic time at which the child was reaped (its wall clock ends there).
        var reapedAt: UInt64 = 0
    }

    let pid: pid_t
    let pidfd: Int32
    var stdoutFd: Int32
    var stderrFd: Int32
    var stdinFd: Int32?
    let stdinBytes: [UInt8]
    let stdoutSink: OutputSink
    let stderrSink: OutputSink
    let outputCap: UInt64?
    let wallDeadline: UInt64?
    let cancelFd: Int32

    private var stdinOffset = 0
    private var result = Result()
    /// Pass-through output not yet written to the host's descriptor 1 or 2. While the child
    /// runs, the host's side is written only when poll says it can take more, so a slow
    /// reader of the host's output can never stall the deadline or cancellation.
    private var pendingOut: [UInt8] = []
    private var pendingErr: [UInt8] = []
    /// Above this much pending output the child's pipe is not read (back-pressure).
    private static let pendingHighWater = 1 << 20
    private var exited = false
    private var killed = false
    private var cancelSeen = false

    init(
        pid: pid_t, pidfd: Int32, stdoutFd: Int32, stderrFd: Int32, stdinFd: Int32?,
        stdinBytes: [UInt8], stdoutSink: OutputSink, stderrSink: OutputSink, outputCap: UInt64?,
        wallDeadline: UInt64?, cancelFd: Int32
    ) {
        self.pid = pid
        self.pidfd = pidfd
        self.stdoutFd = stdoutFd
        self.stderrFd = stderrFd
        self.stdinFd = stdinFd
        self.stdinBytes = stdinBytes
        self.stdoutSink = stdoutSink
        self.stderrSink = stderrSink
        self.outputCap = outputCap
        self.wallDeadline = wallDeadline
        self.cancelFd = cancelFd
    }

    mutating func run() -> Result {
        airlock_set_nonblocking(stdoutFd)
        airlock_set_nonblocking(stderrFd)
        if let fd = stdinFd {
            airlock_set_nonblocking(fd)
            if stdinBytes.isEmpty { closeStdin() }
        }
        // After the child is reaped, output still buffered in the pipes is read. The PID
        // namespace has taken every other holder of the pipes with it; the drain is bounded
        // all the same.
        var drainDeadline: UInt64?
        var buffer = [UInt8](repeating: 0, count: 65536)

        while true {
            if exited && stdoutFd < 0 && stderrFd < 0 { break }
            var fds: [pollfd] = []
            let pidIndex = fds.count
            fds.append(pollfd(fd: exited ? -1 : pidfd, events: Int16(POLLIN), revents: 0))
            fds.append(pollfd(fd: stdoutFd, events: Int16(POLLIN), revents: 0))
            fds.append(pollfd(fd: stderrFd, events: Int16(POLLIN), revents: 0))
            fds.append(pollfd(fd: stdinFd ?? -1, events: Int16(POLLOUT), revents: 0))
            fds.append(pollfd(fd: killed || exited || cancelSeen ? -1 : cancelFd, events: Int16(POLLIN), revents: 0))
            fds.append(pollfd(fd: pendingOut.isEmpty ? -1 : 1, events: Int16(POLLOUT), revents: 0))
            fds.append(pollfd(fd: pendingErr.isEmpty ? -1 : 2, events: Int16(POLLOUT), revents: 0))
            // Back-pressure while the tool runs; once it is gone its pipes are read out in full.
            if !exited && pendingOut.count >= Self.pendingHighWater { fds[1].fd = -1 }
            if !exited && pendingErr.count >= Self.pendingHighWater { fds[2].fd = -1 }

            let now = Posix.monotonicNanoseconds()
            var timeout: Int32 = -1
            if let deadline = wallDeadline, !killed, !exited {
                timeout = deadline > now ? Int32(clamping: (deadline - now + 999_999) / 1_000_000) : 0
            }
            if let deadline = drainDeadline {
                let t = deadline > now ? Int32(clamping: (deadline - now + 999_999) / 1_000_000) : 0
                timeout = timeout < 0 ? t : min(timeout, t)
            }
            if pidfd < 0 && !exited { timeout = timeout < 0 ? 20 : min(timeout, 20) }

            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 && errno != EINTR { break }

            if fds[4].revents != 0 {
                cancelSeen = true  // a cancel that comes after the exit changes nothing
                if !exited {
                    result.cancelled = true
                    killTree()
                }
            }
            if fds[5].revents != 0 { flush(.stdout, blocking: false) }
            if fds[6].revents != 0 { flush(.stderr, blocking: false) }
            if fds[1].revents != 0 { drain(.stdout, buffer: &buffer) }
            if fds[2].revents != 0 { drain(.stderr, buffer: &buffer) }
            if fds[3].revents != 0 { feedStdin() }
            if !exited && (fds[pidIndex].revents != 0 || pidfd < 0) { reapIfExited() }

            let later = Posix.monotonicNanoseconds()
            if let deadline = wallDeadline, !killed, !exited, later >= deadline {
                result.timedOut = true
                killTree()
            }
            if exited && drainDeadline == nil {
                drainDeadline = later + 5_000_000_000
            }
            if let deadline = drainDeadline, later >= deadline {
                if stdoutFd >= 0 { drain(.stdout, buffer: &buffer) }
                if stderrFd >= 0 { drain(.stderr, buffer: &buffer) }
                break
            }
        }
        if !exited {
            killTree()
            reap(blocking: true)
        }
        closeStdin()
        for fd in [stdoutFd, stderrFd] where fd >= 0 { close(fd) }
        // The tool is gone: what it wrote is delivered, at the reader's pace.
        flush(.stdout, blocking: true)
        flush(.stderr, blocking: true)
        return result
    }

    // MARK: - Output

    private enum Stream { case stdout, stderr }

    private mutating func drain(_ stream: Stream, buffer: inout [UInt8]) {
        while true {
            let fd = stream == .stdout ? stdoutFd : stderrFd
            guard fd >= 0 else { return }
            let pending = stream == .stdout ? pendingOut.count : pendingErr.count
            if !exited && pending >= Self.pendingHighWater { return }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return }
            }
            if n <= 0 {
                close(fd)
                if stream == .stdout { stdoutFd = -1 } else { stderrFd = -1 }
                return
            }
            accept(buffer[0..<n], stream: stream)
        }
    }

    private mutating func accept(_ chunk: ArraySlice<UInt8>, stream: Stream) {
        let counted = stream == .stdout ? result.stdoutBytes : result.stderrBytes
        var kept = chunk
        if let cap = outputCap, counted + UInt64(chunk.count) > cap {
            kept = chunk.prefix(Int(cap - counted))
            if stream == .stdout { result.stdoutTruncated = true } else { result.stderrTruncated = true }
            if !result.outputExceeded && !exited {
                result.outputExceeded = true
                killTree()
            }
        }
        let sink = stream == .stdout ? stdoutSink : stderrSink
        switch sink {
        case .passThrough:
            if stream == .stdout { pendingOut.append(contentsOf: kept) } else { pendingErr.append(contentsOf: kept) }
        case .capture:
            if stream == .stdout { result.stdout.append(contentsOf: kept) } else { result.stderr.append(contentsOf: kept) }
        case .discard, .descriptor:
            break
        }
        if stream == .stdout { result.stdoutBytes += UInt64(kept.count) } else { result.stderrBytes += UInt64(kept.count) }
    }

    /// Writes pending pass-through output to the host's descriptor. Non-blocking mode writes
    /// one PIPE_BUF-sized piece (a pipe that polled writable takes that much without blocking).
    private mutating func flush(_ stream: Stream, blocking: Bool) {
        let fd: Int32 = stream == .stdout ? 1 : 2
        var pending = stream == .stdout ? pendingOut : pendingErr
        guard !pending.isEmpty else { return }
        if blocking {
            pending.withUnsafeBytes { Posix.writeAll(fd, $0) }
            pending.removeAll()
        } else {
            let count = min(pending.count, 4096)
            let n = pending.withUnsafeBytes { write(fd, $0.baseAddress, count) }
            if n > 0 {
                pending.removeFirst(n)
            } else if n < 0 && errno != EINTR && errno != EAGAIN {
                pending.removeAll()  // the host's output is gone (EPIPE): nothing to deliver to
            }
        }
        if stream == .stdout { pendingOut = pending } else { pendingErr = pending }
    }

    // MARK: - Stdin

    private mutating func feedStdin() {
        guard let fd = stdinFd else { return }
        while stdinOffset < stdinBytes.count {
            let n = stdinBytes.withUnsafeBytes { write(fd, $0.baseAddress! + stdinOffset, $0.count - stdinOffset) }
            if n > 0 {
                stdinOffset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && errno == EAGAIN {
                return
            } else {
                break  // EPIPE: the child does not read its input
            }
        }
        closeStdin()
    }

    private mutating func closeStdin() {
        if let fd = stdinFd { close(fd) }
        stdinFd = nil
    }

    // MARK: - Process

    private mutating func killTree() {
        guard !exited else { return }
        killed = true
        if pidfd >= 0 {
            _ = airlock_pidfd_send_signal(pidfd, SIGKILL)
        } else {
            kill(pid, SIGKILL)
        }
    }

    private mutating func reapIfExited() { reap(blocking: false) }

    private mutating func reap(blocking: Bool) {
        var status: Int32 = 0
        var usage = rusage()
        while true {
            let r = wait4(pid, &status, blocking ? 0 : WNOHANG, &usage)
            if r < 0 && errno == EINTR { continue }
            if r == pid {
                exited = true
                result.status = status
                result.usage = usage
                result.reapedAt = Posix.monotonicNanoseconds()
            } else if r < 0 {
                exited = true  // ECHILD: someone else reaped it; nothing more to learn
            }
            return
        }
    }
}
