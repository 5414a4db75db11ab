"""Noticing that a mounted file changed: Secret and ConfigMap volumes swap a symlink atomically."""

from __future__ import annotations

import os
from pathlib import Path

Signature = tuple[int, int, int, int] | None


def signature(path: Path) -> Signature:
    """Identity of the file the path resolves to now; a symlink swap changes the inode."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


class WatchedFile:
    def __init__(self, path: Path):
        self.path = path
        self._seen = signature(path)

    def changed(self) -> bool:
        """True once per change since the last call (or since construction)."""
        current = signature(self.path)
        if current == self._seen:
            return False
        self._seen = current
        return True
