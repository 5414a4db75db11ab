"""Turns command-line paths (files, directories, `-`) into objects, input errors and notes.

A file named on the command line must hold Kubernetes objects. A directory is a repository
walk (webhook/walk.py): files that are not Kubernetes objects by design (kustomizations and
their patches, Helm charts, CI workflows, tool configurations, files with another tool's YAML
tags) are skipped with a note; with `skip_non_manifests`, named files are too (a file list from
pre-commit is a repository's files). Every input is read under a size limit; devices and sockets are refused;
a named pipe (`<(helm template .)`) is read like standard input, and one that no program writes
to reads as empty instead of blocking.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from webhook.documents import DocumentError, InputTooLarge, read_documents
from webhook.loader import KUSTOMIZATION_FILES, InputError, Loaded, LoadOptions, Note, kustomize_hint, load
from webhook.model import Resource, as_dict, as_list
from webhook.reading_pool import ReadingPool, reading_pool
from webhook.walk import file_type, sift, walk

DEFAULT_MAX_INPUT_SIZE = 512 * 1024 * 1024
STDIN = "-"


def shown_path(path: str) -> str:
    """A path as reports name it: standard input is `stdin`."""
    return "stdin" if path == STDIN else path


@dataclass
class Inputs:
    resources: list[Resource] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    skipped_files: int = 0
    """Files left out with a note: not Kubernetes objects by design."""


def stdin_problem() -> str | None:
    """Why standard input cannot be read as manifests: closed, or a device (`< /dev/zero`)."""
    if sys.stdin is None:
        return "standard input is closed"
    stdin = sys.stdin.buffer
    try:
        mode = os.fstat(stdin.fileno()).st_mode
    except OSError:  # no file descriptor (io.UnsupportedOperation): a stream in memory
        return None
    if (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) and not stdin.isatty():
        return "standard input is a device, not a file or a pipe"
    return None


def read_inputs(
    paths: Iterable[str],
    options: LoadOptions,
    *,
    exclude: tuple[str, ...] = (),
    max_size: int = DEFAULT_MAX_INPUT_SIZE,
    skip_non_manifests: bool = False,
    parallel: bool = False,
) -> Inputs:
    """What `paths` hold; with `parallel`, long streams are read by worker processes too
    (webhook.reading_pool)."""
    pool = reading_pool() if parallel else None
    try:
        return _read_inputs(_Reader(options, max_size, pool), list(paths), exclude, skip_non_manifests)
    finally:
        if pool is not None:
            pool.close()


def _read_inputs(
    reader: _Reader, paths: list[str], exclude: tuple[str, ...], skip_non_manifests: bool
) -> Inputs:
    if skip_non_manifests:
        reader.sift_named([path for path in paths if os.path.isfile(path)])
    for path in paths:
        if path == STDIN:
            reader.read_stdin()
            continue
        try:
            mode = os.stat(path).st_mode
        except PermissionError:
            reader.error(
                path, "cannot be reached: permission denied (a directory on the way is not searchable)"
            )
            continue
        except OSError as exc:
            reader.error(path, _reason(exc))
            continue
        if stat.S_ISDIR(mode):
            reader.read_directory(path, exclude)
        elif stat.S_ISREG(mode) or stat.S_ISFIFO(mode):
            reader.read_named(path)
        else:
            reader.error(path, f"{file_type(mode)}, not a file: give files, directories or '-'")
    return reader.inputs


def read_paths(paths: Iterable[str], default_namespace: str) -> tuple[list[Resource], list[InputError]]:
    """The objects of world-only inputs (`--context`), and what could not be read."""
    inputs = read_inputs(paths, LoadOptions(namespace=default_namespace, world=True))
    return inputs.resources, inputs.errors


class _Reader:
    def __init__(self, options: LoadOptions, max_size: int, pool: ReadingPool | None = None):
        self.options = options
        self.max_size = max_size
        self.pool = pool
        self.inputs = Inputs()
        self.sifted: set[str] | None = None
        """With `skip_non_manifests`: the named files to read as a walk reads its files."""
        self.named_patches: dict[str, tuple[str, str]] = {}

    def error(self, file: str, message: str, line: int | None = None) -> None:
        self.inputs.errors.append(InputError(file, line, message))

    def skip(self, file: str, message: str, line: int | None = None) -> None:
        self.inputs.notes.append(Note(file, line, f"skipped: {message}"))
        self.inputs.skipped_files += 1

    def read_stdin(self) -> None:
        problem = stdin_problem()
        if problem is not None:
            self.error(STDIN, problem)
            return
        self._load(sys.stdin.buffer, STDIN, walked=False, stream=True)

    def read_file(self, path: str, *, walked: bool) -> None:
        try:
            # O_NONBLOCK: opening a named pipe that no program writes to must not block
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            self.error(path, f"cannot read: {_reason(exc)}")
            return
        with open(fd, "rb", buffering=0) as handle:
            info = os.fstat(fd)
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
                self.error(path, f"{file_type(info.st_mode)}, not a file")
                return
            if info.st_size > self.max_size:
                self.error(path, _too_large(self.max_size))
                return
            os.set_blocking(fd, True)
            self._load(handle, path, walked=walked, stream=stat.S_ISFIFO(info.st_mode))

    def read_directory(self, root: str, exclude: tuple[str, ...]) -> None:
        found = walk(root, exclude)
        self.inputs.errors += found.errors
        self.inputs.notes += found.notes
        self.inputs.skipped_files += found.skipped
        patches = self._kustomize_patches(found.files)
        first_note = len(self.inputs.notes)
        for path in found.files:
            self._read_walked(path, patches)
        self.inputs.notes[first_note:] = sorted(
            self.inputs.notes[first_note:], key=lambda n: Path(n.file).parts
        )

    def sift_named(self, files: list[str]) -> None:
        found = sift(files)
        self.inputs.notes += found.notes
        self.inputs.skipped_files += found.skipped
        self.sifted = set(found.files)
        self.named_patches = self._kustomize_patches([*found.files, *_kustomizations_above(found.files)])

    def read_named(self, path: str) -> None:
        if self.sifted is None:
            self.read_file(path, walked=False)
        elif path in self.sifted:
            self._read_walked(path, self.named_patches)

    def _read_walked(self, path: str, patches: dict[str, tuple[str, str]]) -> None:
        patch_of = patches.get(os.path.normpath(path))
        if patch_of is not None:
            kustomization, hint = patch_of
            self.skip(path, f"a patch in {kustomization}, not a whole object{hint}")
        else:
            self.read_file(path, walked=True)

    def _kustomize_patches(self, files: list[str]) -> dict[str, tuple[str, str]]:
        """The files that the walk's kustomizations use as patches, with the kustomization and
        how to check what it builds."""
        patches: dict[str, tuple[str, str]] = {}
        for path in files:
            if os.path.basename(path) not in KUSTOMIZATION_FILES:
                continue
            try:
                with open(path, "rb") as handle:
                    documents = list(read_documents(handle, self.max_size))
            except (OSError, ValueError, InputTooLarge):
                continue  # reported when the file itself is read
            for document in documents:
                if isinstance(document, DocumentError):
                    continue
                kustomization = as_dict(document.value)
                hint = "" if kustomization.get("kind") == "Component" else f"; {kustomize_hint(path)}"
                for patch in _patch_paths(kustomization):
                    patches[os.path.normpath(os.path.join(os.path.dirname(path), patch))] = (path, hint)
        return patches

    def _load(self, handle: IO[bytes], file: str, *, walked: bool, stream: bool) -> None:
        try:
            loaded = load(read_documents(handle, self.max_size, self.pool), file, self.options, stream=stream)
        except InputTooLarge:
            self.error(file, _too_large(self.max_size))
            return
        except UnicodeDecodeError as exc:
            self.error(file, f"not UTF-8 text: {exc.reason}")
            return
        except OSError as exc:
            self.error(file, f"cannot read: {_reason(exc)}")
            return
        self._add(file, loaded, walked)

    def _add(self, file: str, loaded: Loaded, walked: bool) -> None:
        if walked and loaded.foreign_tag is not None:
            tag = loaded.foreign_tag
            self.skip(file, f"YAML tag {tag.tag} of another tool, not a Kubernetes manifest", tag.line)
            return
        if walked and not loaded.resources and not loaded.errors:
            first = loaded.by_design[0] if loaded.by_design else None
            self.skip(file, first.message if first else "no YAML documents", first.line if first else None)
            return
        self.inputs.resources += loaded.resources
        self.inputs.errors += loaded.errors
        self.inputs.errors += [
            InputError(n.file, n.line, f"not a Kubernetes object: {n.message}") for n in loaded.by_design
        ]
        if not walked and not loaded.resources and not loaded.errors and not loaded.by_design:
            self.error(
                file,
                "standard input holds no Kubernetes object"
                if file == STDIN
                else "holds no Kubernetes object",
            )


def _kustomizations_above(files: list[str]) -> list[str]:
    """The kustomizations in the directories of `files` and above them: those that may use them
    as patches."""
    directories = {parent for file in files for parent in Path(file).parents}
    return [
        str(directory / name)
        for directory in sorted(directories)
        for name in sorted(KUSTOMIZATION_FILES)
        if (directory / name).is_file()
    ]


def _patch_paths(kustomization: dict[str, object]) -> list[str]:
    """Files a kustomization applies as patches: `patches`, `patchesJson6902` and
    `patchesStrategicMerge` entries that name a file rather than hold the patch inline."""
    paths = [
        entry["path"]
        for key in ("patches", "patchesJson6902")
        for entry in as_list(kustomization.get(key))
        if isinstance(entry, dict) and isinstance(entry.get("path"), str)
    ]
    paths += [
        entry
        for entry in as_list(kustomization.get("patchesStrategicMerge"))
        if isinstance(entry, str) and "\n" not in entry
    ]
    return paths


def _too_large(limit: int) -> str:
    return (
        f"larger than the --max-input-size limit of {format_size(limit)}: not read "
        "(raise the limit if this input is what you meant)"
    )


def format_size(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size:,} bytes"


def parse_size(text: str) -> int:
    """`512MiB`, `1GiB`, `64KiB` (or K, M, G: also powers of 1024), or bytes."""
    number = text.strip()
    factor = 1
    for suffixes, value in (
        (("GiB", "G", "GB"), 1 << 30),
        (("MiB", "M", "MB"), 1 << 20),
        (("KiB", "K", "KB"), 1 << 10),
    ):
        suffix = next((s for s in suffixes if number.upper().endswith(s.upper())), None)
        if suffix:
            number, factor = number[: -len(suffix)].strip(), value
            break
    if not number.isdigit() or int(number) == 0:
        raise ValueError(f"{text!r} is not a size such as 512MiB, 1GiB or 1048576")
    return int(number) * factor


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()
