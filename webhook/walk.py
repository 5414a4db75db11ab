"""The repository walk: which files under a directory are manifests to read.

Left out: what `--exclude` and the root's `.meshwardenignore` name (gitignore syntax), version
control directories, and the files of Helm charts, which are templates until `helm template`
renders them (one note per chart). A directory that cannot be read, or a file that is not a
regular one, is an input error: nothing is skipped silently.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from webhook.loader import InputError, Note

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
    result = Walk()
    ignore = _ignore_spec(root, exclude, result)
    chart = _enclosing_chart(Path(root))
    if chart is not None:
        count = _count_manifests(root)
        result.skipped += count
        result.notes.append(_chart_note(str(chart), count))
        return result
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    pending = [(root, "")]
    while pending:
        directory, relative = pending.pop()
        try:
            info = os.stat(directory)
            if (info.st_dev, info.st_ino) in seen:  # reached again through a symbolic link
                continue
            seen.add((info.st_dev, info.st_ino))
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            result.errors.append(InputError(directory, None, f"cannot read the directory: {_reason(exc)}"))
            continue
        is_chart = any(e.name == CHART_FILE for e in entries)
        chart_files = 0
        for entry in entries:
            path = os.path.join(directory, entry.name)
            name = f"{relative}{entry.name}"
            try:
                is_dir = entry.is_dir()
            except OSError as exc:
                result.errors.append(InputError(path, None, f"cannot read: {_reason(exc)}"))
                continue
            if is_dir:
                if entry.name in VCS_DIRS or ignore.match_file(name + "/"):
                    continue
                if is_chart and entry.name in CHART_DIRS:
                    chart_files += _count_manifests(path)
                else:
                    pending.append((path, name + "/"))
                continue
            if not is_manifest(entry.name) or ignore.match_file(name):
                continue
            if is_chart and (entry.name in CHART_FILES or entry.name.startswith("values")):
                chart_files += 1
                continue
            problem = _not_regular(entry)
            if problem:
                result.errors.append(InputError(path, None, problem))
            else:
                found.append(Path(path))
        if is_chart:
            result.skipped += chart_files
            result.notes.append(_chart_note(directory, chart_files))
    result.files = [str(p) for p in sorted(found)]
    if not found and not result.errors and not result.notes:
        result.errors.append(InputError(root, None, "directory contains no .yaml, .yml or .json files"))
    return result


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
    return pathspec.GitIgnoreSpec.from_lines([*lines, *exclude])


def _enclosing_chart(root: Path) -> Path | None:
    """The Helm chart whose templates or subcharts `root` is in, if any."""
    absolute = root.absolute()
    for parent in absolute.parents:
        if (parent / CHART_FILE).is_file():
            inside = absolute.relative_to(parent).parts[0]
            return Path(os.path.relpath(parent)) if inside in CHART_DIRS else None
    return None


def _count_manifests(directory: str) -> int:
    return sum(is_manifest(name) for _, _, names in os.walk(directory) for name in names)


def _chart_note(chart: str, count: int) -> Note:
    files = f"{count} file{'s' if count != 1 else ''}"
    return Note(
        chart,
        None,
        f"a Helm chart: {files} (Chart.yaml, values, templates) not checked unrendered; "
        f"to check what it renders: helm template {chart} | meshwarden check -",
    )


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
