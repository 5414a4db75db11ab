"""Worker processes for the CLI's two long phases on a large input: reading its documents
(documents.read_documents, through a ReadingPool) and checking its objects (`forked_map`).

Workers are forked, so they start with everything this process holds (the code, the objects read,
the inventory) and nothing is pickled on the way to them. They run only where processes fork
(Linux) and this process may use more than one CPU; elsewhere the work is done here, in order."""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

MAX_WORKERS = 3
"""This process's own share of the reading (collecting the documents as objects) is about a third
of the workers' together: past three workers it would be the bottleneck."""
Item = TypeVar("Item")
Result = TypeVar("Result")


class WorkerStopped(OSError):
    """A worker died (the kernel's out-of-memory killer, a signal): its work is lost."""

    def __init__(self) -> None:
        super().__init__("a worker process stopped (out of memory?)")


def worker_count() -> int:
    """One worker per CPU this process may use, up to MAX_WORKERS; 0 on one CPU, or where
    processes do not fork."""
    if sys.platform != "linux":
        return 0
    cpus = len(os.sched_getaffinity(0))
    return min(cpus, MAX_WORKERS) if cpus > 1 else 0


class ReadingPool:
    """Workers forked on first use. A stream's first run of documents, of about `first_run`
    characters, is read here, and its other runs, of about `run_size`, by the workers, at most
    `ahead` runs beyond the one whose documents this process is handing out."""

    def __init__(self, workers: int, first_run: int = 1 << 20, run_size: int = 1 << 18):
        self.workers = workers
        self.first_run = first_run
        self.run_size = run_size
        self.ahead = 2 * workers
        self._executor: Executor | None = None

    def submit(self, function: Callable[..., Result], *arguments: object) -> Future[Result]:
        from concurrent.futures import BrokenExecutor

        if self._executor is None:
            self._executor = _fork(self.workers, _ignore_interrupts, ())
        try:
            return self._executor.submit(function, *arguments)
        except BrokenExecutor:
            raise WorkerStopped from None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None


def reading_pool() -> ReadingPool | None:
    workers = worker_count()
    return ReadingPool(workers) if workers else None


def forked_map(
    function: Callable[[Item], Result], items: Sequence[Item], workers: int, chunk: int = 500
) -> Iterator[Result]:
    """`function(item)` for each of `items`, in their order, computed by `workers` processes forked
    now: they inherit `function` and `items`, however much those reach, and send the results back
    pickled, `chunk` items at a time. Raises WorkerStopped when a worker dies."""
    from concurrent.futures import BrokenExecutor

    with _fork(workers, _inherit, (function, items)) as executor:
        try:
            runs = [executor.submit(_map_run, start, start + chunk) for start in range(0, len(items), chunk)]
            for run in runs:
                yield from run.result()
        except BrokenExecutor:
            raise WorkerStopped from None


def _fork(workers: int, initializer: Callable[..., None], arguments: tuple[Any, ...]) -> Executor:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")  # the arguments are inherited, not pickled
    return ProcessPoolExecutor(workers, mp_context=context, initializer=initializer, initargs=arguments)


def _ignore_interrupts() -> None:
    """Ctrl-C reaches the whole process group: the main process handles it and stops the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


_inherited: tuple[Callable[[Any], Any], Sequence[Any]] | None = None
"""In a worker of forked_map: its function and items."""


def _inherit(function: Callable[[Any], Any], items: Sequence[Any]) -> None:
    global _inherited
    _inherited = function, items
    _ignore_interrupts()
    gc.disable()  # a collection would touch every page it shares with its parent, copying them


def _map_run(start: int, stop: int) -> list[Any]:
    assert _inherited is not None
    function, items = _inherited
    return [function(item) for item in items[start:stop]]
