// Benchmarks of the spawn path and of journaled calls. Each mode prints one JSON object;
// scripts/bench runs the modes in interleaved rounds and reports ratios between them.
//
//   airlock-bench N PROFILE CMD [ARG...]            the foundation line (Sandbox.runBlocking)
//   airlock-bench calls --mode bare|process|power|journal-process|journal-power --concurrency C --calls N [--home DIR] CMD
//   airlock-bench parts --home DIR CMD               the cost of each part of a journaled call
//   airlock-bench populate --home DIR --finished N --inflight M CMD
//   airlock-bench resume --home DIR --durability process|power [--serve N] CMD
//   airlock-bench gateway --home DIR [--rounds R] [--calls N] [--c8-calls M] [--airlock PATH] [--markdown 1] CMD
import AirlockSandbox

#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "calls": try await callsBench(arguments.dropFirst())
    case "parts": try await partsBench(arguments.dropFirst())
    case "populate": try await populateBench(arguments.dropFirst())
    case "resume": try await resumeBench(arguments.dropFirst())
    case "gateway": try await gatewayBench(arguments.dropFirst())
    default: try spawnBench(arguments)
    }
} catch {
    fail("airlock-bench: \(error)\n")
    exit(1)
}
