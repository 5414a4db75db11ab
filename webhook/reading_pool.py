"""Worker processes that read a long stream's runs of documents (documents.read_documents), or a
large walk's files (inputs), while this process goes on with the documents before them: reading
is most of the CLI's time on a large input, and it parallelises by document."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

MAX_WORKERS = 3
"""This process's own share of the reading (collecting the documents as objects) is about a third
of the workers' together: past three workers it would be the bottleneck."""
Result = TypeVar("Result")


class WorkerStopped(OSError):
    """A worker died (the kernel's out-of-memory killer, a signal): what it was reading is lost."""

    def __init__(self) -> None:
        super().__init__("a worker process reading it stopped (out of memory?)")


class ReadingPool:
    """Up to MAX_WORKERS processes, one per CPU this process may use, forked on first use. A
    stream's first run of documents, of about `first_run` characters, is read here, and its
    other runs, of about `run_size`, by the workers, at most `ahead` runs beyond the one whose
    documents this process is handing out."""

    def __init__(self, workers: int, first_run: int = 1 << 20, run_size: int = 1 << 18):
        self.workers = workers
        self.first_run = first_run
        self.run_size = run_size
        self.ahead = 2 * workers
        self._executor: Executor | None = None

    def submit(self, function: Callable[..., Result], *arguments: object) -> Future[Result]:
        if self._executor is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("fork"), initializer=_ignore_interrupts
            )
        from concurrent.futures import BrokenExecutor

        try:
            return self._executor.submit(function, *arguments)
        except BrokenExecutor:
            raise WorkerStopped from None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None


def read_result(read: Future[Result]) -> Result:
    """What a worker sent back; WorkerStopped when it died first."""
    from concurrent.futures import BrokenExecutor  # loaded with the pool

    try:
        return read.result()
    except BrokenExecutor:
        raise WorkerStopped from None


def reading_pool() -> ReadingPool | None:
    """A pool where processes fork (Linux) and this process may use more than one CPU: by its
    affinity and by its container's CPU limit (cgroup quota); None elsewhere, where documents are
    read here one after another."""
    if sys.platform != "linux":
        return None
    cpus = len(os.sched_getaffinity(0))
    quota = cgroup_cpus()
    if quota is not None:
        cpus = min(cpus, quota)
    return ReadingPool(min(cpus, MAX_WORKERS)) if cpus > 1 else None


def cgroup_cpus(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """The whole CPUs the cgroup's quota allows (`resources.limits.cpu` of a container, `docker
    run --cpus`), at least 1; None without a quota. cgroup v2 (`cpu.max`), else v1."""
    try:
        quota, period = (root / "cpu.max").read_text().split()
    except (OSError, ValueError):
        try:
            quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        return max(1, int(quota) // int(period)) if quota not in ("max", "-1") else None
    except (ValueError, ZeroDivisionError):
        return None  # not what the kernel writes


def _ignore_interrupts() -> None:
    """Ctrl-C reaches the whole process group: the main process handles it and stops the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
