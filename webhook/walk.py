"""The repository walk: which files under a directory, or of files named one by one, are
manifests to read.

Left out: what `--exclude` and the root's `.meshwardenignore` name (gitignore syntax), version
control directories, and the files of Helm charts, which are templates until `helm template`
renders them (one note per chart). A directory that cannot be read, or a file that is not a
regular one, is an input error: nothing is skipped silently.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from webhook.loader import InputError, Note

if TYPE_CHECKING:
    import pathspec

IGNORE_FILE = ".meshwardenignore"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
VCS_DIRS = frozenset({".git", ".hg", ".svn"})
CHART_FILE = "Chart.yaml"
CHART_DIRS = frozenset({"templates", "charts"})
"""A chart's templates, and its subcharts."""
CHART_FILES = frozenset({"Chart.yaml", "Chart.lock", "requirements.yaml", "requirements.lock"})


@dataclass
class Walk:
    files: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    skipped: int = 0
    """Manifest files left out with a note (those of Helm charts)."""


def is_manifest(name: str) -> bool:
    return name.lower().endswith(MANIFEST_SUFFIXES)


def walk(root: str, exclude: tuple[str, ...] = ()) -> Walk:
    """The manifest files under `root`, in sorted order."""
    return _Walker(root, exclude).run()


def sift(files: list[str]) -> Walk:
    """Of files named one by one (by pre-commit, say), those a walk would read: the files of Helm
    charts are left out with one note per chart."""
    result = Walk()
    charts: Counter[Path] = Counter()
    for file in files:
        chart = _chart_of(Path(file))
        if chart is None:
            result.files.append(file)
        else:
            charts[chart] += 1
    for chart, count in charts.items():
        _add_chart(result, str(chart), count)
    return result


class _Walker:
    def __init__(self, root: str, exclude: tuple[str, ...]):
        self.root = root
        self.result = Walk()
        self.ignore = _ignore_spec(root, exclude, self.result)
        self.found: list[Path] = []
        self.excluded = False
        self.seen: set[tuple[int, int]] = set()

    def run(self) -> Walk:
        chart = _enclosing_chart(Path(self.root))
        if chart is not None:
            _add_chart(self.result, str(chart), _count_manifests(self.root))
            return self.result
        pending = [(self.root, "")]
        while pending:
            pending += reversed(self._directory(*pending.pop()))
        self.result.files = [str(p) for p in sorted(self.found)]
        if not (self.found or self.excluded or self.result.errors or self.result.notes):
            self._error(self.root, "directory contains no .yaml, .yml or .json files")
        return self.result

    def _directory(self, directory: str, relative: str) -> list[tuple[str, str]]:
        """Takes in the files of `directory`; returns its subdirectories to walk."""
        try:
            info = os.stat(directory)
            if (info.st_dev, info.st_ino) in self.seen:  # reached again through a symbolic link
                return []
            self.seen.add((info.st_dev, info.st_ino))
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            self._error(directory, f"cannot read the directory: {_reason(exc)}")
            return []
        is_chart = any(e.name == CHART_FILE for e in entries)
        chart_files = 0
        subdirectories = []
        for entry in entries:
            path, name = os.path.join(directory, entry.name), f"{relative}{entry.name}"
            try:
                is_dir = entry.is_dir()
            except OSError as exc:
                self._error(path, f"cannot read: {_reason(exc)}")
                continue
            if is_dir and entry.name not in VCS_DIRS and not self._ignored(name + "/"):
                if is_chart and entry.name in CHART_DIRS:
                    chart_files += _count_manifests(path)
                else:
                    subdirectories.append((path, name + "/"))
            elif not is_dir and is_manifest(entry.name) and not self._ignored(name):
                if is_chart and (entry.name in CHART_FILES or entry.name.startswith("values")):
                    chart_files += 1
                elif problem := _not_regular(entry):
                    self._error(path, problem)
                else:
                    self.found.append(Path(path))
        if is_chart:
            _add_chart(self.result, directory, chart_files)
        return subdirectories

    def _ignored(self, name: str) -> bool:
        if self.ignore.match_file(name):
            self.excluded = True
            return True
        return False

    def _error(self, path: str, message: str) -> None:
        self.result.errors.append(InputError(path, None, message))


def _add_chart(result: Walk, chart: str, count: int) -> None:
    files = f"{count} file{'s' if count != 1 else ''}"
    result.skipped += count
    result.notes.append(
        Note(
            chart,
            None,
            f"a Helm chart: {files} (Chart.yaml, values, templates) not checked unrendered; "
            f"to check what it renders: helm template {chart} | meshwarden check -",
        )
    )


def _ignore_spec(root: str, exclude: tuple[str, ...], result: Walk) -> pathspec.GitIgnoreSpec:
    lines: list[str] = []
    ignore_file = os.path.join(root, IGNORE_FILE)
    try:
        with open(ignore_file, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        result.errors.append(InputError(ignore_file, None, f"cannot read: {_reason(exc)}"))
    import pathspec  # only a directory walk needs it: checking files starts without it

    return pathspec.GitIgnoreSpec.from_lines([*lines, *exclude])


def _enclosing_chart(root: Path) -> Path | None:
    """The Helm chart whose templates or subcharts `root` is in, if any."""
    absolute = root.absolute()
    for parent in absolute.parents:
        if (parent / CHART_FILE).is_file():
            inside = absolute.relative_to(parent).parts[0]
            return Path(os.path.relpath(parent)) if inside in CHART_DIRS else None
    return None


def _chart_of(file: Path) -> Path | None:
    """The Helm chart that `file` is part of (its Chart.yaml, values or templates), if any."""
    if (file.parent / CHART_FILE).is_file() and (file.name in CHART_FILES or file.name.startswith("values")):
        return Path(os.path.relpath(file.parent))
    return _enclosing_chart(file)


def _count_manifests(directory: str) -> int:
    return sum(is_manifest(name) for _, _, names in os.walk(directory) for name in names)


def _not_regular(entry: os.DirEntry[str]) -> str:
    """Why a directory entry is not a file to read, or ""."""
    try:
        mode = entry.stat().st_mode
    except FileNotFoundError:
        return "a broken symbolic link"
    except OSError as exc:
        return f"cannot read: {_reason(exc)}"
    return "" if stat.S_ISREG(mode) else f"not a regular file ({file_type(mode)}): not read"


def file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _reason(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text: {exc.reason}"
    return (exc.strerror or str(exc)).lower()
