"""Turns command-line paths (files, directories, `-`) into objects and input errors."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from webhook.loader import InputError, load_text
from webhook.model import Resource

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def _expand(path: str) -> Iterator[str | InputError]:
    if path == "-":
        yield path
        return
    target = Path(path)
    if target.is_dir():
        files = sorted(p for p in target.rglob("*") if p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES)
        if not files:
            yield InputError(path, 0, "directory contains no .yaml, .yml or .json files")
        yield from (str(p) for p in files)
    elif target.exists():
        yield path
    else:
        yield InputError(path, 0, "no such file or directory")


def _read(path: str) -> str | InputError:
    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return InputError(path, 0, f"not UTF-8 text: {exc.reason}")
    except OSError as exc:
        return InputError(path, 0, f"cannot read: {exc.strerror}")


def read_paths(paths: Iterable[str], default_namespace: str) -> tuple[list[Resource], list[InputError]]:
    resources: list[Resource] = []
    errors: list[InputError] = []
    for entry in (e for p in paths for e in _expand(p)):
        if isinstance(entry, InputError):
            errors.append(entry)
            continue
        text = _read(entry)
        if isinstance(text, InputError):
            errors.append(text)
            continue
        found, problems = load_text(text, entry, default_namespace)
        resources.extend(found)
        errors.extend(problems)
    return resources, errors
