"""`make bench`: every benchmark of the suite, one table.

    .venv/bin/python bench/run.py [--only SECTION,...] [--quick]

Sections, in order (`--only` picks some):
  engine    in-process evaluation per review kind, without and with a 65,000-object inventory
            (bench/engine.py)
  server    `meshwarden serve` against an allow-everything webhook on the same stack (bench/server.py)
  startup   `meshwarden check` of one small file (bench/cli.py)
  cli       `meshwarden check` over generated corpora of 1,000, 10,000 and 100,000 objects
  checkov   Meshwarden beside checkov on the 1,000- and 10,000-object corpora (bench/vs_checkov.py;
            installs checkov into .venv-checkov on first use)

`--quick` measures less, for a look in a minute or two: 300 engine rounds, one round of 5,000
requests per server, corpora of 1,000 and 10,000 objects run once, checkov on 1,000 objects.

Timings on a shared machine are noisy: compare figures measured in the same run (the ratios).
Generated corpora are kept in .bench/ for the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cli
import server
import vs_checkov
from measure import BIN, Row

ENGINE = Path(__file__).resolve().parent / "engine.py"
SECTIONS = ("engine", "server", "startup", "cli", "checkov")


def engine_rows(rounds: int | None) -> list[Row]:
    command = [str(BIN / "python"), str(ENGINE), "--json"]
    if rounds is not None:
        command += ["--rounds", str(rounds)]
    results = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    rows = []
    for result in results:
        figures = {k: v for k, v in result.items() if k.endswith("_us")}
        case = ", ".join(f"{v}" if k == "kind" else f"{k} {v}" for k, v in result.items() if k not in figures)
        rows.append(Row("engine", case, ", ".join(f"{k[:-3]} {v:.1f} µs" for k, v in figures.items())))
    return rows


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()}"


def print_table(rows: list[Row]) -> None:
    print("| section | case | Meshwarden | reference | ratio |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row.section} | {row.case} | {row.meshwarden} | {row.reference} | {row.ratio} |")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        epilog="\n".join(__doc__.splitlines()[3:]) if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", default=",".join(SECTIONS), metavar="SECTION,...")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    chosen = args.only.split(",")
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"--only: no section {', '.join(sorted(unknown))} (sections: {', '.join(SECTIONS)})")
    quick = args.quick
    runs: dict[str, Callable[[], list[Row]]] = {
        "engine": lambda: engine_rows(300 if quick else None),
        "server": lambda: server.rows(5_000 if quick else 20_000, 1 if quick else 3, threads=16),
        "startup": lambda: [cli.startup_row()],
        "cli": lambda: cli.corpus_rows(
            [1_000, 10_000] if quick else [1_000, 10_000, 100_000], 1 if quick else 3
        ),
        "checkov": lambda: vs_checkov.rows([1_000] if quick else [1_000, 10_000]),
    }
    print(f"Meshwarden benchmarks on {machine()}", file=sys.stderr)
    rows: list[Row] = []
    for section in SECTIONS:
        if section in chosen:
            print(f"running {section}...", file=sys.stderr)
            rows += runs[section]()
    print(f"On {machine()}:\n")
    print_table(rows)


if __name__ == "__main__":
    main()
