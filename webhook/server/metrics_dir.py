"""The directory where every worker writes its metric values (prometheus_client multiprocess mode)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import values

ENV = "PROMETHEUS_MULTIPROC_DIR"
SHARED_MEMORY = Path("/dev/shm")


@contextmanager
def metrics_directory() -> Iterator[Path]:
    """An empty directory for this server's lifetime: the given one (emptied) or a temporary one.

    A directory given by the environment (an emptyDir in a pod) survives container restarts, so
    values of processes from an earlier run are removed first.
    """
    given = os.environ.get(ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    else:
        base = SHARED_MEMORY if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK) else None
        path = Path(tempfile.mkdtemp(prefix="meshwarden-metrics-", dir=base))
        os.environ[ENV] = str(path)
    # prometheus_client picks its value storage when first imported, maybe before the variable was set.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    owner = os.getpid()
    try:
        yield path
    finally:
        # gunicorn's workers are forked inside this block and unwind through it when they exit.
        if not given and os.getpid() == owner:
            shutil.rmtree(path, ignore_errors=True)
