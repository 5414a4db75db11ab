"""`meshwarden check` from the command line: start-up on one small file, and wall time and peak
resident set over generated corpora (bench/corpus.py) of growing size.

    .venv/bin/python bench/cli.py [--sizes 1000,10000,100000] [--repeat 3]

Each figure is the median of `--repeat` runs (start-up: of 10), each a fresh process as a user
or CI runs it, timed from outside (wall time, including interpreter start-up) with the child's own
peak resident set (its reading workers' are smaller). Findings: deny and warn in the JSON report.
Where `taskset` is installed and more than one CPU is free, each corpus is also checked on one
CPU (`taskset -c 0`), where everything is read in one process: the reference column.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
from pathlib import Path

from measure import BIN, Row, Run, corpus_file, count, run, small_file

STARTUP_RUNS = 10


ONE_CPU = ["taskset", "-c", "0"] if shutil.which("taskset") and len(os.sched_getaffinity(0)) > 1 else []


def check(path: Path, prefix: list[str] | None = None) -> Run:
    command = [str(BIN / "meshwarden"), "check", "--format", "json", "--fail-on", "never", str(path)]
    return run([*(prefix or []), *command])


def findings(result: Run) -> int:
    summary = json.loads(result.stdout)["summary"]
    return int(summary["deny"]) + int(summary["warn"])


def median_run(path: Path, repeat: int, prefix: list[str] | None = None) -> Run:
    runs = sorted((check(path, prefix) for _ in range(repeat)), key=lambda r: r.seconds)
    for r in runs:
        if r.status != 0:
            raise SystemExit(f"meshwarden check {path} failed with status {r.status}")
    return runs[len(runs) // 2]


def startup_row() -> Row:
    runs = [check(small_file()) for _ in range(STARTUP_RUNS)]
    seconds = statistics.median(r.seconds for r in runs)
    peak = max(r.peak_mib for r in runs)
    return Row("start-up", "one small file", f"{seconds:.3f} s, {peak:.0f} MiB")


def corpus_rows(sizes: list[int], repeat: int) -> list[Row]:
    rows = []
    for size in sizes:
        result = median_run(corpus_file(size), repeat)
        rate = f"{count(size / result.seconds)} objects/s"
        reference = ""
        if ONE_CPU:
            alone = median_run(corpus_file(size), repeat, ONE_CPU)
            reference = f"one CPU: {alone.seconds:.2f} s, {alone.peak_mib:.0f} MiB"
            rate += f", {alone.seconds / result.seconds:.2f}× one CPU's speed"
        rows.append(
            Row(
                "CLI",
                f"{count(size)} objects",
                f"{result.seconds:.2f} s, {result.peak_mib:.0f} MiB, {count(findings(result))} findings",
                reference,
                rate,
            )
        )
    return rows


def sizes_argument(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=sizes_argument, default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from run import print_table

    print_table([startup_row(), *corpus_rows(args.sizes, args.repeat)])


if __name__ == "__main__":
    main()
