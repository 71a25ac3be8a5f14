#!/usr/bin/env python3
"""Where a journaled call's host CPU goes, from a `perf record -g` of `airlock-bench calls`.

Usage (from the repository root, after a release build):
    perf record -F 5000 -g -o /tmp/calls.perf -- BIN/airlock-bench calls --mode process \
        --concurrency 1 --calls 1000 --home /tmp/calls-home /tmp/noop
    python3 bench/perf_breakdown.py /tmp/calls.perf

Prints, for a few frames of interest, their inclusive share of the host's samples (every thread
of airlock-bench; the tool's own process is left out). Frames nest: the writer's share
includes the transaction bodies, which include the audit links and the JSON text.
"""
import re
import subprocess
import sys

FRAMES = [
    ("journal writer thread: GroupCommitter.drain, every transaction body", r"GroupCommitterC5drain.*TA$"),
    ("  intent transaction (Runtime.call's body)", r"Runtime0B0C4call.*Transaction_pYbKcfU_$"),
    ("  receipt transaction (runAttempts' body)", r"runAttempts.*Transaction_pYbKcfU_$"),
    ("    appendAudit: canonical JSON, SHA-256, 5 statements", r"appendAudit4kind.*KF$"),
    ("    JSONValue.serialized: receipt, spec, result as text", r"JSONValueO10serialized"),
    ("    StepRecord(row:): a step read back and decoded", r"StepRecordV3row.*KcfCTf"),
    ("    sqlite3Parser: statements compiled again", r"^sqlite3Parser$"),
    ("    pwrite: WAL frames", r"^__libc_pwrite$"),
    ("sandbox: PreparedRun.execute (the bare call does the same)", r"PreparedRunV7execute7control.*tF$"),
    ("ToolSpec.resolvedProfile: profile read and parsed again", r"resolvedProfile"),
    ("memset: mostly the 1 MiB effects buffer zeroed per call", r"^__memset_avx512_unaligned_erms$|^__memset_.*erms$"),
    ("page faults, all causes", r"^asm_exc_page_fault$"),
    ("Posix.environment: the host environment copied (twice per call)", r"PosixO11environment"),
    ("Runtime.receipt: the receipt built", r"Runtime0B0C7receipt4step"),
]


def main(path):
    report = subprocess.run(
        ["perf", "report", "-i", path, "--children", "--sort", "sym", "--stdio", "-g", "none",
         "--percentage", "relative", "--comm", comms(path)],
        capture_output=True, text=True, check=True).stdout
    rows = []
    for line in report.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0].endswith("%"):
            rows.append((float(parts[0].rstrip("%")), parts[-1]))
    print("| frame | share of host CPU samples |")
    print("|---|---:|")
    for label, pattern in FRAMES:
        hits = [share for share, sym in rows if re.search(pattern, sym)]
        print(f"| {label} | {max(hits) if hits else 0:.1f}% |")


def comms(path):
    """Every thread name in the recording except the tool's."""
    out = subprocess.run(["perf", "report", "-i", path, "--sort", "comm", "--stdio", "-g", "none"],
                         capture_output=True, text=True, check=True).stdout
    names = [line.split()[-1] for line in out.splitlines() if re.match(r"^\s+[0-9.]+%", line)]
    return ",".join(n for n in names if n not in ("noop",))


if __name__ == "__main__":
    main(sys.argv[1])
