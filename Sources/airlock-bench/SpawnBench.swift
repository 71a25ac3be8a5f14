// The foundation benchmark's line: N confined runs of a command, one after another, through
// `Sandbox.runBlocking`; prints the median, p90 and mean in microseconds.
import AirlockSandbox

#if canImport(Glibc)
import Glibc
#endif

/// `airlock-bench N PROFILE CMD [ARG...]`
func spawnBench(_ args: [String]) throws {
    guard args.count >= 3, let runs = Int(args[0]), runs > 0 else {
        throw BenchError("usage: airlock-bench N PROFILE CMD [ARG...]")
    }
    var profile = try Profile.named(args[1])
    let dir = directoryOf(args[2])
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
                firstFailure =
                    "\(report.outcome.rawValue) \(report.setupFailure?.message ?? "") \(String(decoding: report.stderr, as: UTF8.self))"
            }
        }
    }
    times.sort()
    let mean = times.reduce(0, +) / Double(times.count)
    func fmt(_ v: Double) -> String { String((v * 10).rounded() / 10) }
    print(
        "{\"runs\": \(runs), \"medianUs\": \(fmt(times[runs / 2])), \"p90Us\": \(fmt(times[runs * 9 / 10])), \"meanUs\": \(fmt(mean)), \"failures\": \(failures)}"
    )
    if failures > 0 {
        fail("first failure: \(firstFailure)\n")
        exit(1)
    }
}
