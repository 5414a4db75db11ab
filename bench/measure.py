"""What the benchmarks share: a child process's wall time and peak resident set, the generated
corpora (made once per size, seed and generator version, kept in `.bench/`), and the table rows."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import corpus

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
CACHE = ROOT / ".bench"
MEBI = 1024 * 1024


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_bytes: int
    status: int
    stdout: bytes

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / MEBI


@dataclass(frozen=True)
class Row:
    """One line of the table: what was measured, Meshwarden's figures, the yardstick's, and how
    they compare."""

    section: str
    case: str
    meshwarden: str
    reference: str = ""
    ratio: str = ""


# Started from this (large) process, a child's peak resident set would start at ours: Linux keeps
# the peak of the memory a process had before exec, and a forked or vforked child shares ours. So
# a small launcher forks the command, and reports its wall time, peak and status on stderr.
LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
print(seconds, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status), file=sys.stderr)
"""


def run(command: list[str]) -> Run:
    """`command`'s wall time and its own peak resident set, output kept. Python may write its
    bytecode cache, as it does by default: start-up is measured as users see it from their second
    run on, whatever PYTHONDONTWRITEBYTECODE says here."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env=env,
        check=True,
    )
    seconds, peak, status = result.stderr.decode().split()
    return Run(float(seconds), int(peak), int(status), result.stdout)


def corpus_file(count: int, seed: int = 1) -> Path:
    """The generated corpus of `count` objects as one YAML stream, generated on first use."""
    version = hashlib.sha256(Path(corpus.__file__).read_bytes()).hexdigest()[:12]
    path = CACHE / f"corpus-{count}-seed{seed}-{version}.yaml"
    if not path.exists():
        groups, _ = corpus.generate(count, seed)
        partial = path.with_suffix(".part.yaml")
        corpus.write(groups, partial)
        partial.rename(path)
    return path


def small_file() -> Path:
    """One Service: what `meshwarden check` costs before any real work (start-up)."""
    path = CACHE / "small.yaml"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: reviews\n  namespace: bookinfo\n"
            "spec:\n  selector:\n    app: reviews\n  ports:\n  - name: http\n    port: 9080\n",
            encoding="utf-8",
        )
    return path


def count(n: float) -> str:
    return f"{n:,.0f}"
