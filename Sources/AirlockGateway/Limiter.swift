import Synchronization

/// Admission for tool calls: at most `global` running at once, at most `perTool` of one tool,
/// and at most `queueDepth` waiting (in arrival order). A call past a full queue is `busy` at
/// once, so a flood of calls costs nothing but the refusal.
final class Limiter: Sendable {
    enum Admission: Sendable { case admitted, busy, cancelled }

    private struct Waiter {
        var id: UInt64
        var tool: String
        var continuation: CheckedContinuation<Admission, Never>
    }

    private struct State {
        var running = 0
        var runningByTool: [String: Int] = [:]
        var waiters: [Waiter] = []
        var nextId: UInt64 = 0
    }

    let global: Int
    let perTool: Int
    let queueDepth: Int
    private let state = Mutex(State())

    init(global: Int, perTool: Int, queueDepth: Int) {
        self.global = global
        self.perTool = perTool
        self.queueDepth = queueDepth
    }

    /// Calls waiting now.
    var queued: Int { state.withLock { $0.waiters.count } }
    var running: Int { state.withLock { $0.running } }

    /// A slot for a call of `tool`; `onQueue` hears the queue's depth whenever this call changes it.
    func acquire(tool: String, onQueue: @Sendable (Int) -> Void) async -> Admission {
        let id: UInt64 = state.withLock { s in
            s.nextId += 1
            return s.nextId
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Admission, Never>) in
                // One critical section decides: a release cannot slip between the check and the enqueue.
                let (decided, depth): (Admission?, Int) = state.withLock { s in
                    if Task.isCancelled { return (.cancelled, 0) }
                    // Waiters ahead can only be held by their own tool's limit when a global slot is
                    // free, so only one of this tool is ahead of this call.
                    if s.running < global, s.runningByTool[tool, default: 0] < perTool, !s.waiters.contains(where: { $0.tool == tool }) {
                        s.running += 1
                        s.runningByTool[tool, default: 0] += 1
                        return (.admitted, 0)
                    }
                    if s.waiters.count >= queueDepth { return (.busy, 0) }
                    s.waiters.append(Waiter(id: id, tool: tool, continuation: continuation))
                    return (nil, s.waiters.count)
                }
                if let decided { continuation.resume(returning: decided) } else { onQueue(depth) }
            }
        } onCancel: {
            let (waiter, depth): (Waiter?, Int) = state.withLock { s in
                guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return (nil, s.waiters.count) }
                return (s.waiters.remove(at: index), s.waiters.count)
            }
            if let waiter {
                onQueue(depth)
                waiter.continuation.resume(returning: .cancelled)
            }
        }
    }

    /// Gives back a slot of `tool` and admits the waiters that now fit, oldest first.
    func release(tool: String, onQueue: @Sendable (Int) -> Void = { _ in }) {
        let (admitted, depth): ([Waiter], Int) = state.withLock { s in
            s.running -= 1
            s.runningByTool[tool, default: 1] -= 1
            if s.runningByTool[tool] == 0 { s.runningByTool[tool] = nil }
            var admitted: [Waiter] = []
            var index = 0
            while index < s.waiters.count, s.running < global {
                let waiter = s.waiters[index]
                if s.runningByTool[waiter.tool, default: 0] < perTool {
                    s.waiters.remove(at: index)
                    s.running += 1
                    s.runningByTool[waiter.tool, default: 0] += 1
                    admitted.append(waiter)
                } else {
                    index += 1
                }
            }
            return (admitted, s.waiters.count)
        }
        if !admitted.isEmpty { onQueue(depth) }
        for waiter in admitted { waiter.continuation.resume(returning: .admitted) }
    }
}
