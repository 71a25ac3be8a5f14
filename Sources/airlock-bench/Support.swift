// Small helpers shared by the benchmark modes: clocks, flags, statistics, memory, JSON lines.
import AirlockSandbox
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A failure that ends the benchmark with a message and exit status 1.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func fail(_ text: String) {
    var line = text
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// Monotonic microseconds.
func nowUs() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) * 1e6 + Double(ts.tv_nsec) / 1e3
}

/// Wall-clock seconds since the epoch (the clock of bash's `$EPOCHREALTIME`).
func wallClockSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// `--name value` flags up to the first argument that is not one, then the positional rest.
struct Flags {
    var values: [String: String] = [:]
    var positional: [String] = []

    init(_ args: ArraySlice<String>, known: Set<String>) throws {
        var rest = args[...]
        while let first = rest.first, first.hasPrefix("--") {
            rest = rest.dropFirst()
            if first == "--" { break }
            let name = String(first.dropFirst(2))
            guard known.contains(name) else {
                throw BenchError("unknown flag \(first) (known: \(known.sorted().joined(separator: ", ")))")
            }
            guard let value = rest.first else { throw BenchError("\(first) needs a value") }
            values[name] = value
            rest = rest.dropFirst()
        }
        positional = Array(rest)
    }

    func string(_ name: String, _ fallback: String? = nil) throws -> String {
        guard let value = values[name] ?? fallback else { throw BenchError("--\(name) is required") }
        return value
    }

    func int(_ name: String, _ fallback: Int? = nil) throws -> Int {
        guard let text = values[name] else {
            guard let fallback else { throw BenchError("--\(name) is required") }
            return fallback
        }
        guard let value = Int(text), value >= 0 else { throw BenchError("--\(name): not a count: \(text)") }
        return value
    }
}

/// The directory part of a path ("" for a bare name).
func directoryOf(_ path: String) -> String {
    String(path.prefix(upTo: path.lastIndex(of: "/") ?? path.endIndex))
}

// MARK: - Statistics

struct Summary {
    var count: Int
    var medianUs: Double
    var p90Us: Double
    var meanUs: Double

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        count = sorted.count
        medianUs = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        p90Us = sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, sorted.count * 9 / 10)]
        meanUs = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
    }
}

// MARK: - Memory

/// A `kB` field of /proc/self/status (VmRSS, VmHWM, ...), in KiB; -1 when absent.
func procStatusKiB(_ field: String) -> Int {
    let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return -1 }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: 8192)
    var count = 0
    while count < bytes.count {
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
        if n <= 0 { break }
        count += n
    }
    let text = String(decoding: bytes[0..<count], as: UTF8.self)
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        let digits = line.dropFirst(field.count + 1).filter { $0.isNumber }
        return Int(digits) ?? -1
    }
    return -1
}

/// CPU time (user + system) in microseconds of this process and of its reaped children.
func cpuUs() -> (own: Double, children: Double) {
    func us(_ who: Int32) -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(who), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }
    return (us(RUSAGE_SELF.rawValue), us(RUSAGE_CHILDREN.rawValue))
}

// MARK: - Output

/// One JSON object on one line, members in the order they were added.
struct JSONLine {
    private var members: [String] = []

    mutating func add(_ name: String, _ value: Double) {
        members.append("\"\(name)\": \(value.isFinite ? String((value * 1000).rounded() / 1000) : "null")")
    }

    mutating func add(_ name: String, _ value: Int) { members.append("\"\(name)\": \(value)") }

    mutating func add(_ name: String, _ value: String) {
        var quoted = ""
        JSONValue.writeString(value, to: &quoted)
        members.append("\"\(name)\": \(quoted)")
    }

    mutating func add(_ name: String, raw: String) { members.append("\"\(name)\": \(raw)") }

    var text: String { "{" + members.joined(separator: ", ") + "}" }
}

// MARK: - Driving calls

/// Hands out call numbers to the workers.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func next() -> Int { value.add(1, ordering: .relaxed).oldValue }
}

/// What a batch of calls measured.
struct Drive {
    var latenciesUs: [Double]
    var wallUs: Double
    var failures: Int
    var firstFailure: String
}

/// Makes `count` calls of `work` (numbered from `offset`) with `concurrency` in flight at all
/// times; `work` returns nil on success, else what went wrong.
func drive(
    count: Int, concurrency: Int, offset: Int, _ work: @escaping @Sendable (Int) async -> String?
) async -> Drive {
    let counter = Counter()
    let start = nowUs()
    let parts = await withTaskGroup(of: ([Double], Int, String).self) { group in
        for _ in 0..<max(1, concurrency) {
            group.addTask {
                var times: [Double] = []
                var failures = 0
                var first = ""
                while true {
                    let i = counter.next()
                    if i >= count { break }
                    let t0 = nowUs()
                    let problem = await work(offset + i)
                    times.append(nowUs() - t0)
                    if let problem {
                        failures += 1
                        if first.isEmpty { first = problem }
                    }
                }
                return (times, failures, first)
            }
        }
        var all: [([Double], Int, String)] = []
        for await part in group { all.append(part) }
        return all
    }
    let wall = nowUs() - start
    return Drive(
        latenciesUs: parts.flatMap { $0.0 }, wallUs: wall, failures: parts.reduce(0) { $0 + $1.1 },
        firstFailure: parts.first { !$0.2.isEmpty }?.2 ?? "")
}
