// Times N confined runs of a command through the Swift API (`Sandbox.runBlocking`) with a
// profile, and prints the median, p90 and mean in microseconds as one JSON object.
import AirlockSandbox

#if canImport(Glibc)
import Glibc
#endif

func fail(_ text: String) {
    var line = text
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func nowUs() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) * 1e6 + Double(ts.tv_nsec) / 1e3
}

let args = Array(CommandLine.arguments.dropFirst())
guard args.count >= 3, let runs = Int(args[0]), runs > 0 else {
    fail("usage: airlock-bench N PROFILE CMD [ARG...]\n")
    exit(2)
}
do {
    var profile = try Profile.named(args[1])
    let dir = String(args[2].prefix(upTo: args[2].lastIndex(of: "/") ?? args[2].endIndex))
    if !dir.isEmpty { profile.filesystem.read.append(dir) }
    let request = SandboxRequest(argv: Array(args[2...]), profile: profile, stdout: .discard, stderr: .capture)
    var times: [Double] = []
    var failures = 0
    var firstFailure = ""
    for _ in 0..<runs {
        let start = nowUs()
        let report = try Sandbox.runBlocking(request)
        times.append(nowUs() - start)
        if report.outcome != .exited || report.exitCode != 0 {
            failures += 1
            if firstFailure.isEmpty {
                firstFailure = "\(report.outcome.rawValue) \(report.setupFailure?.message ?? "") \(String(decoding: report.stderr, as: UTF8.self))"
            }
        }
    }
    times.sort()
    let mean = times.reduce(0, +) / Double(times.count)
    func fmt(_ v: Double) -> String { String((v * 10).rounded() / 10) }
    print("{\"runs\": \(runs), \"medianUs\": \(fmt(times[runs / 2])), \"p90Us\": \(fmt(times[runs * 9 / 10])), \"meanUs\": \(fmt(mean)), \"failures\": \(failures)}")
    if failures > 0 {
        fail("first failure: \(firstFailure)\n")
        exit(1)
    }
} catch {
    fail("airlock-bench: \(error)\n")
    exit(1)
}
