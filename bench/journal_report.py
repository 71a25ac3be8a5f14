#!/usr/bin/env python3
"""Summarises the journal benchmark's raw lines (scripts/bench) as Markdown tables.

Input: a file of JSON lines {"round": R, "line": NAME, "data": {...}} where data is what one
`airlock-bench` process printed. Every figure is the median over rounds; every ratio is the
median of the per-round ratios (each round's lines ran back to back, so they shared the
machine's noise), with the lowest and highest per-round ratio in brackets.
"""
import json
import statistics
import sys
from collections import defaultdict


def main(path, calls, finished, inflight):
    by = defaultdict(dict)  # line -> round -> data
    for text in open(path):
        record = json.loads(text)
        by[record["line"]][record["round"]] = record["data"]
    rounds = sorted({r for lines in by.values() for r in lines if r > 0})

    def values(line, field):
        return [by[line][r][field] for r in rounds if r in by[line] and field in by[line][r]]

    def med(line, field):
        v = values(line, field)
        return statistics.median(v) if v else float("nan")

    def ratio(num, den, field="callsPerSecond"):
        v = [by[num][r][field] / by[den][r][field] for r in rounds if r in by[num] and r in by[den]]
        if not v:
            return float("nan"), float("nan"), float("nan")
        return statistics.median(v), min(v), max(v)

    def fmt_ratio(t):
        m, lo, hi = t
        return f"{m:.2f}x [{lo:.2f}-{hi:.2f}]"

    out = []
    p = out.append
    p(f"{len(rounds)} interleaved rounds; {calls} calls per line per round after 2xC warm-up calls, each with a fresh key; "
      f"the tool is the static no-op `bench/noop.c` (effect `idempotent`, profile `default`).")
    p("")
    p("#### Throughput (calls per second, median over rounds)")
    p("")
    p("| line | C=1 calls/s | C=8 calls/s | C=8 / C=1 | median µs per call C=1 / C=8 | host CPU µs per call C=1 / C=8 | tool CPU µs per call | commits per call C=1 / C=8 |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|")
    names = [("bare", "bare sandboxed call (`Sandbox.run`), baseline"), ("process", "journaled `Runtime.call`, `process`"),
             ("power", "journaled `Runtime.call`, `power`"),
             ("json", "journaled `Runtime.call` of `bench/jsonecho.c` (prints `{}`) with a 10-property input, `process`"),
             ("registered", "the same tool and input, registered (json-stdio, 10-property schema), `Runtime.callTool`, `process`")]
    for mode, name in names:
        a, b = f"{mode}-c1", f"{mode}-c8"
        if a not in by:
            continue
        commits = "-"
        if values(a, "commitsPerCall"):
            commits = f"{med(a, 'commitsPerCall'):.2f} / {med(b, 'commitsPerCall'):.2f}"
        p(f"| {name} | {med(a, 'callsPerSecond'):.0f} | {med(b, 'callsPerSecond'):.0f} | {fmt_ratio(ratio(b, a))} | "
          f"{med(a, 'medianUs'):.0f} / {med(b, 'medianUs'):.0f} | {med(a, 'hostCpuUsPerCall'):.0f} / {med(b, 'hostCpuUsPerCall'):.0f} | "
          f"{med(a, 'toolCpuUsPerCall'):.0f} | {commits} |")
    if "registered-c1" in by:
        p("")
        p("#### What the registry adds (registry read, pin check, input validation before each call)")
        p("")
        p("| ratio | median [lowest-highest] of per-round ratios |")
        p("|---|---:|")
        p(f"| registered / plain journaled call, C=1 (throughput) | {fmt_ratio(ratio('registered-c1', 'json-c1'))} |")
        p(f"| registered / plain journaled call, C=8 (throughput) | {fmt_ratio(ratio('registered-c8', 'json-c8'))} |")
    if "journal-process-c1" in by:
        p("")
        p("#### The journal alone: a call's two transactions (intent, receipt) with no child in between")
        p("")
        p("| line | C=1 calls/s | C=8 calls/s | C=8 / C=1 | median µs per call C=1 / C=8 | host CPU µs per call C=1 / C=8 | commits per call C=1 / C=8 |")
        p("|---|---:|---:|---:|---:|---:|---:|")
        for mode in ["process", "power"]:
            a, b = f"journal-{mode}-c1", f"journal-{mode}-c8"
            p(f"| journal only, `{mode}` | {med(a, 'callsPerSecond'):.0f} | {med(b, 'callsPerSecond'):.0f} | {fmt_ratio(ratio(b, a))} | "
              f"{med(a, 'medianUs'):.0f} / {med(b, 'medianUs'):.0f} | {med(a, 'hostCpuUsPerCall'):.0f} / {med(b, 'hostCpuUsPerCall'):.0f} | "
              f"{med(a, 'commitsPerCall'):.2f} / {med(b, 'commitsPerCall'):.2f} |")
    p("")
    p("#### Targets (throughput)")
    p("")
    p("| target | measured: median [lowest-highest] of per-round ratios | met |")
    p("|---|---:|---|")

    def target(label, t, floor):
        p(f"| {label} | {fmt_ratio(t)} | {'yes' if t[0] >= floor else '**no**'} |")

    target("`process` C=1 >= 0.7x bare C=1", ratio("process-c1", "bare-c1"), 0.7)
    target("`process` C=8 >= 0.7x bare C=8", ratio("process-c8", "bare-c8"), 0.7)
    target("`power` C=8 >= 4x `power` C=1", ratio("power-c8", "power-c1"), 4.0)
    p(f"| (for comparison: bare C=8 / bare C=1) | {fmt_ratio(ratio('bare-c8', 'bare-c1'))} | |")
    p(f"| (for comparison: `process` C=8 / `process` C=1) | {fmt_ratio(ratio('process-c8', 'process-c1'))} | |")
    p(f"| (`power` C=1 / `process` C=1) | {fmt_ratio(ratio('power-c1', 'process-c1'))} | |")
    p(f"| (`power` C=8 / `process` C=8) | {fmt_ratio(ratio('power-c8', 'process-c8'))} | |")
    if "journal-power-c1" in by:
        p(f"| (journal alone: `power` C=8 / `power` C=1) | {fmt_ratio(ratio('journal-power-c8', 'journal-power-c1'))} | |")
        p(f"| (journal alone: `process` C=8 / `process` C=1) | {fmt_ratio(ratio('journal-process-c8', 'journal-process-c1'))} | |")

    if "parts" in by:
        p("")
        p("#### Parts of a call, timed alone (median µs over rounds of the per-round medians)")
        p("")
        labels = [
            ("digestUs", "`Executable.digest` of the tool (before every run; cached by file identity)"),
            ("sha256OfToolUs", "SHA-256 of the tool's ~750 KiB (an uncached digest)"),
            ("resolvedProfileUs", "`ToolSpec.resolvedProfile()` (every run; reads ./sandbox-profiles/default.json from the repository root)"),
            ("processEnvironmentUs", "`Sandbox.processEnvironment()` (twice per run)"),
            ("fingerprintUs", "canonical input + `Runtime.fingerprint`"),
            ("specFromJSONUs", "`ToolSpec(json:)`"),
            ("schemaCompileUs", "compiling a 10-property input schema, meta-schema check included (once per process per schema)"),
            ("schemaValidateUs", "validating a 10-property input against it (every registered call)"),
            ("prepareCallUs", "`Runtime.prepareCall`: registry read, pin check, validation (every registered call, before its intent)"),
            ("auditAppendUs", "one audit-chain link (`appendAudit`), commit amortised over 50"),
            ("commitProcessUs", "one small commit, `process` (`synchronous=NORMAL`)"),
            ("commitPowerUs", "one small commit, `power` (`synchronous=FULL`)"),
            ("fdatasyncAppendUs", "4 KiB append + `fdatasync`, same file system (baseline for `power`)"),
            ("fdatasyncOverwriteUs", "4 KiB overwrite + `fdatasync` (a recycled WAL)"),
        ]
        p("| part | median µs |")
        p("|---|---:|")
        for field, label in labels:
            if values("parts", field):
                p(f"| {label} | {med('parts', field):.0f} |")

    if any(k.startswith("resume-") for k in by):
        p("")
        big = by.get("populate-big", {}).get(0, {})
        small = by.get("populate-small", {}).get(0, {})
        p(f"#### Resume ({finished} finished + {inflight} in-flight steps; in flight: read-only, idempotent, "
          f"non-idempotent in turn, so {big.get('rerunnable', '?')} re-run and the rest go in doubt)")
        p("")
        if big:
            p(f"Populating the large journal took {big['seconds']:.1f} s ({big['journalBytes'] / 2**20:.0f} MiB on disk, "
              f"audit chain included); the small one holds {small.get('finished', '?')} finished step(s) and the same in-flight steps.")
            p("")
        p("| journal | durability | open ms | `resume()` ms | launch -> resumed ms | re-ran | in doubt | commits | peak RSS MiB: after resume / + listing / + serving |")
        p("|---|---|---:|---:|---:|---:|---:|---:|---|")
        for j, jl in [("big", f"{finished} finished"), ("small", f"{small.get('finished', '?')} finished")]:
            for d in ["process", "power"]:
                line = f"resume-{j}-{d}"
                if line not in by:
                    continue
                served = med(line, "served")
                p(f"| {jl} | `{d}` | {med(line, 'openMs'):.1f} | {med(line, 'resumeMs'):.0f} | {med(line, 'sinceLaunchMs'):.0f} | "
                  f"{med(line, 'ran'):.0f} | {med(line, 'inDoubt'):.0f} | {med(line, 'commits'):.0f} | "
                  f"{med(line, 'resumeHwmKiB') / 1024:.1f} / {med(line, 'listHwmKiB') / 1024:.1f} / {med(line, 'hwmKiB') / 1024:.1f} "
                  f"({served:.0f} calls at C=8) |")
        if "bare-cold" in by:
            p(f"| baseline: {med('bare-cold', 'calls'):.0f} bare sandboxed calls, one after another, in a fresh process | | | "
              f"{med('bare-cold', 'wallSeconds') * 1000:.0f} | | | | | |")
        p("")
        p(f"Start-up resident memory of the benchmark process (Swift runtime, GRDB, Foundation): "
          f"{med('resume-big-process', 'startRssKiB') / 1024:.1f} MiB.")
        p("")
        p("#### Targets (resume and memory)")
        p("")
        p("| target | measured | met |")
        p("|---|---:|---|")
        for d in ["process", "power"]:
            line = f"resume-big-{d}"
            if line not in by:
                continue
            v = values(line, "sinceLaunchMs")
            p(f"| resume, `{d}`, launch -> resumed < 1000 ms | {statistics.median(v):.0f} ms [{min(v):.0f}-{max(v):.0f}] | "
              f"{'yes' if statistics.median(v) < 1000 else '**no**'} |")
            p(f"| (ratio: `resume()` / {med('bare-cold', 'calls'):.0f} cold bare calls) | "
              f"{fmt_ratio(per_round(by, rounds, line, 'resumeMs', 'bare-cold', 'wallSeconds', 1000))} | |")
            p(f"| (ratio: `resume()` over {finished} / over the small journal) | "
              f"{fmt_ratio(per_round(by, rounds, line, 'resumeMs', f'resume-small-{d}', 'resumeMs', 1))} | |")
        for d in ["process", "power"]:
            line = f"resume-big-{d}"
            if line not in by:
                continue
            v = values(line, "hwmKiB")
            p(f"| host memory over {finished} steps, `{d}` (peak RSS after resume, listing, {med(line, 'served'):.0f} calls) < 50 MiB | "
              f"{statistics.median(v) / 1024:.1f} MiB [{min(v) / 1024:.1f}-{max(v) / 1024:.1f}] | {'yes' if max(v) < 50 * 1024 else '**no**'} |")
    scan = by.get("scan", {}).get(0)
    if scan:
        p("")
        p(f"Whole-journal commands over the same journal, once (not a target; what a CLI process holds): "
          f"`verifyAudit()` of {scan['verifyEntries']} audit entries took {scan['verifyMs'] / 1000:.1f} s with a peak RSS of "
          f"{scan['verifyHwmKiB'] / 1024:.0f} MiB; listing all {scan['listAllSteps']} steps (`steps(StepFilter())`, "
          f"`airlock steps` without `--limit`) took {scan['listAllMs'] / 1000:.1f} s and raised the peak to "
          f"{scan['listAllHwmKiB'] / 1024:.0f} MiB.")
    print("\n".join(out))


def per_round(by, rounds, num, nfield, den, dfield, scale):
    v = [by[num][r][nfield] / (by[den][r][dfield] * scale) for r in rounds if r in by[num] and r in by[den]]
    if not v:
        return float("nan"), float("nan"), float("nan")
    return statistics.median(v), min(v), max(v)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4])
