"""Meshwarden beside checkov (its Kubernetes framework) on the same generated corpus: wall time,
peak resident set, findings.

    .venv/bin/python bench/vs_checkov.py [--sizes 1000,10000]

checkov is installed on first use into its own virtual environment, `.venv-checkov` (git-ignored;
never a dependency of Meshwarden), at the version below. It runs as a user would run it in CI on
one file, `checkov --framework kubernetes -f FILE --skip-download` (no network), and Meshwarden as
`meshwarden check FILE`, one after the other on each corpus. Findings: checkov's failed checks,
Meshwarden's deny and warn. The two count different things (checkov checks general Kubernetes
hygiene, per container, and Meshwarden Istio's conventions): the count shows both read the whole
corpus, not which finds more.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from cli import check, findings, sizes_argument
from measure import ROOT, Row, Run, corpus_file, count, run

CHECKOV_VERSION = "3.3.30"
VENV = ROOT / ".venv-checkov"
CHECKOV = VENV / "bin" / "checkov"


def install() -> None:
    if CHECKOV.exists():
        return
    print(f"installing checkov {CHECKOV_VERSION} into {VENV.name}/ (once)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", f"checkov=={CHECKOV_VERSION}"],
        check=True,
    )


def checkov_failed(result: Run) -> int:
    """checkov's failed checks; it exits 1 when there are any, so the status says nothing."""
    reports = json.loads(result.stdout)
    if isinstance(reports, dict):
        reports = [reports]
    return sum(int(r["summary"]["failed"]) for r in reports if r.get("check_type") == "kubernetes")


def rows(sizes: list[int]) -> list[Row]:
    install()
    out = []
    for size in sizes:
        path = corpus_file(size)
        ours = check(path)
        theirs = run(
            [
                str(CHECKOV),
                "--framework",
                "kubernetes",
                "-f",
                str(path),
                "-o",
                "json",
                "--quiet",
                "--compact",
                "--skip-download",
            ]
        )
        out.append(
            Row(
                "vs checkov",
                f"{count(size)} objects",
                f"{ours.seconds:.2f} s, {ours.peak_mib:.0f} MiB, {count(findings(ours))} findings",
                f"checkov {CHECKOV_VERSION}: {theirs.seconds:.1f} s, {theirs.peak_mib:,.0f} MiB, "
                f"{count(checkov_failed(theirs))} failed checks",
                f"{theirs.seconds / ours.seconds:.0f}× the speed, "
                f"{theirs.peak_mib / ours.peak_mib:.1f}× less memory",
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=sizes_argument, default=[1_000, 10_000])
    args = parser.parse_args()
    from run import print_table

    print_table(rows(args.sizes))


if __name__ == "__main__":
    main()
