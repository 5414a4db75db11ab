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

import itertools
import marshal
import os
import stat
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from webhook.documents import DocumentError, InputTooLarge, portable, read_documents, unpack
from webhook.loader import KUSTOMIZATION_FILES, InputError, Loaded, LoadOptions, Note, kustomize_hint, load
from webhook.model import Resource, as_dict, as_list
from webhook.reading_pool import ReadingPool, WorkerStopped, read_result, reading_pool
from webhook.walk import file_type, sift, walk

if TYPE_CHECKING:
    from concurrent.futures import Future

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
    """What `paths` hold; with `parallel`, worker processes read long streams and the files of
    large walks too (webhook.reading_pool)."""
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
        opened = _open_input(path, self.max_size)
        if isinstance(opened, str):
            self.error(path, opened)
            return
        handle, stream = opened
        with handle:
            self._load(handle, path, walked=walked, stream=stream)

    def read_directory(self, root: str, exclude: tuple[str, ...]) -> None:
        found = walk(root, exclude)
        self.inputs.errors += found.errors
        self.inputs.notes += found.notes
        self.inputs.skipped_files += found.skipped
        patches = self._kustomize_patches(found.files)
        first_note = len(self.inputs.notes)
        read_ahead = self._read_ahead([f for f in found.files if os.path.normpath(f) not in patches])
        for path in found.files:
            if read_ahead is None or os.path.normpath(path) in patches:
                self._read_walked(path, patches)
            else:
                self._take(path, next(read_ahead))
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
        except (InputTooLarge, UnicodeDecodeError, OSError) as exc:
            self.error(file, _reading_error(exc, self.max_size))
            return
        self._add(file, loaded, walked)

    def _read_ahead(self, files: list[str]) -> Iterator[Future[bytes]] | None:
        """With a pool and more than its first run's worth of files, each file's documents as a
        worker reads them, a few files ahead of the one taken (`_take`); else None."""
        pool = self.pool
        if pool is None or sum(_size(f) for f in files) < pool.first_run:
            return None
        return _ahead((pool.submit(_walked_file_documents, f, self.max_size) for f in files), FILES_AHEAD)

    def _take(self, file: str, read: Future[bytes]) -> None:
        """A walked file's documents, as a worker read them (`_walked_file_documents`)."""
        try:
            result = marshal.loads(read_result(read))
        except WorkerStopped as exc:
            self.error(file, _reading_error(exc, self.max_size))
            return
        if isinstance(result, str):
            self.error(file, result)
            return
        stream, documents = result
        self._add(file, load(unpack(documents), file, self.options, stream=stream), walked=True)

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


FILES_AHEAD = 64
"""Walked files a reading pool is given beyond the one whose documents are taken."""


def _open_input(path: str, max_size: int) -> tuple[IO[bytes], bool] | str:
    """The file at `path` opened for reading, and whether it is a named pipe; or why not."""
    try:
        # O_NONBLOCK: opening a named pipe that no program writes to must not block
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return f"cannot read: {_reason(exc)}"
    handle = open(fd, "rb", buffering=0)  # noqa: SIM115 - the caller closes it
    info = os.fstat(fd)
    problem = None
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        problem = f"{file_type(info.st_mode)}, not a file"
    elif info.st_size > max_size:
        problem = _too_large(max_size)
    if problem is not None:
        handle.close()
        return problem
    os.set_blocking(fd, True)
    return handle, stat.S_ISFIFO(info.st_mode)


def _walked_file_documents(path: str, max_size: int) -> bytes:
    """Run in a reading worker: the documents of a walked file (marshal: whether it is a named
    pipe and the documents, or why it cannot be read)."""
    opened = _open_input(path, max_size)
    if isinstance(opened, str):
        return marshal.dumps(opened)
    handle, stream = opened
    with handle:
        try:
            documents = portable(read_documents(handle, max_size))
        except (InputTooLarge, UnicodeDecodeError, OSError) as exc:
            return marshal.dumps(_reading_error(exc, max_size))
    return marshal.dumps((stream, documents))


def _reading_error(exc: InputTooLarge | UnicodeDecodeError | OSError, max_size: int) -> str:
    if isinstance(exc, InputTooLarge):
        return _too_large(max_size)
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text: {exc.reason}"
    return f"cannot read: {_reason(exc)}"


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # reported when the file is read


def _ahead(futures: Iterator[Future[bytes]], count: int) -> Iterator[Future[bytes]]:
    """`futures` in their order, each made `count` ahead of the one handed out."""
    window: deque[Future[bytes]] = deque(itertools.islice(futures, count))
    for future in futures:
        window.append(future)
        yield window.popleft()
    yield from window


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
