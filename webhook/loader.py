"""Reads Kubernetes manifests (multi-document YAML, `kind: List`, JSON) with line numbers.

Built on libyaml's event stream rather than `yaml.load`, so that every field's line is known,
aliases are never expanded into memory, and hostile documents (alias bombs, extreme nesting) are
refused early with a clear error instead of exhausting memory or the C stack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from webhook.model import Origin, Resource

MAX_DEPTH = 100
MAX_NODES = 1_000_000
"""Limit on a document's size with every alias expanded: a YAML "billion laughs" is refused."""

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml is part of the PyYAML wheels
    _Loader = yaml.SafeLoader

_SEPARATOR = re.compile(r"^(---|\.\.\.)(?=[ \t]|$)", re.MULTILINE)
_RESOLVED_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
}
_resolver = Resolver()
_constructor = SafeConstructor()


@dataclass(frozen=True, slots=True)
class InputError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class DocumentError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(slots=True)
class _Frame:
    container: dict[Any, Any] | list[Any]
    path: str
    is_map: bool
    size: int = 1
    key: Any = None
    key_line: int = 0
    has_key: bool = False
    anchor: str | None = None


def load_text(
    text: str, file: str, default_namespace: str = "default"
) -> tuple[list[Resource], list[InputError]]:
    """Every Kubernetes object in `text`, and an error for each document that could not be used."""
    resources: list[Resource] = []
    errors: list[InputError] = []
    for start_line, chunk in _split_documents(text):
        try:
            parsed = list(_parse_chunk(chunk, start_line))
        except DocumentError as exc:
            if file.endswith(".json") or chunk.lstrip().startswith(("{", "[")):
                fallback = _parse_json(chunk, start_line)
                if fallback is not None:
                    parsed = [fallback]
                else:
                    errors.append(InputError(file, exc.line, exc.message))
                    continue
            else:
                errors.append(InputError(file, exc.line, exc.message))
                continue
        for value, line, lines in parsed:
            _collect(value, line, lines, file, default_namespace, resources, errors)
    return resources, errors


def _collect(
    value: Any,
    line: int,
    lines: dict[str, int],
    file: str,
    default_namespace: str,
    resources: list[Resource],
    errors: list[InputError],
) -> None:
    if value is None:
        return
    problem = _not_an_object(value)
    if problem:
        errors.append(InputError(file, line, f"not a Kubernetes object: {problem}"))
        return
    if value["kind"] == "List" or (value["kind"].endswith("List") and isinstance(value.get("items"), list)):
        for index, item in enumerate(value.get("items") or []):
            prefix = f"items[{index}]"
            item_lines = {k[len(prefix) + 1 :]: v for k, v in lines.items() if k.startswith(prefix + ".")}
            _collect(item, lines.get(prefix, line), item_lines, file, default_namespace, resources, errors)
        return
    resources.append(Resource(value, default_namespace, Origin(file, line, lines)))


def _not_an_object(value: Any) -> str:
    if not isinstance(value, dict):
        return f"expected a mapping with apiVersion and kind, found a {type(value).__name__}"
    for key in ("apiVersion", "kind"):
        if not isinstance(value.get(key), str) or not value[key]:
            return f"missing {key!r}"
    if value["kind"].endswith("List"):
        return ""
    meta = value.get("metadata")
    if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
        return f"{value['kind']} has no metadata.name"
    return ""


def _split_documents(text: str) -> Iterator[tuple[int, str]]:
    """Cuts a stream at `---` lines so that one broken document cannot hide the others."""
    pos, line = 0, 1
    for match in _SEPARATOR.finditer(text):
        chunk = text[pos : match.start()]
        if chunk.strip():
            yield line, chunk
        line += chunk.count("\n")
        end = text.find("\n", match.end())
        rest = text[match.end() : end if end != -1 else len(text)]
        if match.group(1) == "---" and rest.strip() and not rest.strip().startswith("#"):
            # `--- {a: 1}` starts a document on the separator line itself
            yield line, " " * 3 + rest + "\n"
        pos = end + 1 if end != -1 else len(text)
        line += 1
    chunk = text[pos:]
    if chunk.strip():
        yield line, chunk


def _parse_json(chunk: str, start_line: int) -> tuple[Any, int, dict[str, int]] | None:
    try:
        return json.loads(chunk), start_line, {}
    except (ValueError, RecursionError):
        return None


# A plain scalar can only be null, bool, int or float when it starts with one of these.
_MAYBE_TYPED = frozenset("-+.0123456789~nNtTfFyYoO")


def _scalar(event: yaml.ScalarEvent) -> Any:
    value = event.value
    tag = event.tag
    if tag is None or tag == "!":
        if event.style or not event.implicit[0]:
            return value
        if value and value[0] not in _MAYBE_TYPED:
            return value
        tag = _resolver.resolve(ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    if tag not in _RESOLVED_TAGS:
        return value
    return _constructor.construct_object(ScalarNode(tag, value), deep=True)


def _parse_chunk(chunk: str, start_line: int) -> Iterator[tuple[Any, int, dict[str, int]]]:
    offset = start_line - 1
    stack: list[_Frame] = []
    anchors: dict[str, Any] = {}
    sizes: dict[int, int] = {}
    lines: dict[str, int] = {}
    doc_line = start_line
    root: Any = None
    try:
        events: Iterator[Any] = yaml.parse(chunk, Loader=_Loader)  # dispatched on exact type below
        for event in events:
            kind = type(event)
            if kind is yaml.ScalarEvent:
                value = _scalar(event)
                size = 1
                if event.anchor:
                    anchors[event.anchor] = value
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                line = event.start_mark.line + 1 + offset
                if len(stack) >= MAX_DEPTH:
                    raise DocumentError(line, f"document is nested deeper than {MAX_DEPTH} levels")
                is_map = kind is yaml.MappingStartEvent
                container: dict[Any, Any] | list[Any] = {} if is_map else []
                path = ""
                if stack:
                    path = _child_path(stack[-1])
                    lines[path] = stack[-1].key_line if stack[-1].is_map else line
                stack.append(_Frame(container, path, is_map, anchor=event.anchor))
                continue
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                frame = stack.pop()
                sizes[id(frame.container)] = frame.size
                if frame.anchor:
                    anchors[frame.anchor] = frame.container
                if not stack:
                    root = frame.container
                    continue
                value, size = frame.container, frame.size
            elif kind is yaml.AliasEvent:
                if event.anchor not in anchors:
                    raise DocumentError(event.start_mark.line + 1 + offset, f"unknown alias *{event.anchor}")
                value = anchors[event.anchor]
                size = sizes.get(id(value), 1)
            elif kind is yaml.DocumentStartEvent:
                lines, anchors, sizes, root = {}, {}, {}, None
                doc_line = event.start_mark.line + 1 + offset
                continue
            elif kind is yaml.DocumentEndEvent:
                yield root, doc_line, lines
                continue
            else:  # stream start and end
                continue
            if not stack:
                root = value
                continue
            top = stack[-1]
            if top.is_map and not top.has_key:
                top.key, top.key_line, top.has_key = value, event.start_mark.line + 1 + offset, True
                continue
            if kind is not yaml.MappingEndEvent and kind is not yaml.SequenceEndEvent:
                lines[_child_path(top)] = top.key_line if top.is_map else event.start_mark.line + 1 + offset
            _attach(top, value, size)
            if top.size > MAX_NODES:
                line = event.start_mark.line + 1 + offset
                raise DocumentError(
                    line, f"document expands to more than {MAX_NODES:,} nodes (YAML alias bomb?)"
                )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        last_line = offset + len(chunk.rstrip().splitlines())  # errors found at end of input
        where = min(mark.line + 1 + offset, last_line) if mark is not None else start_line
        raise DocumentError(where, f"YAML syntax error: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise DocumentError(start_line, f"YAML error: {exc}") from None


def _child_path(top: _Frame) -> str:
    if top.is_map:
        key = str(top.key)
        return f"{top.path}.{key}" if top.path else key
    return f"{top.path}[{len(top.container)}]"


def _attach(top: _Frame, value: Any, size: int) -> None:
    top.size += size
    if not top.is_map:
        top.container.append(value)  # type: ignore[union-attr]
        return
    key = top.key
    top.has_key = False
    container: dict[Any, Any] = top.container  # type: ignore[assignment]
    if key == "<<" and isinstance(value, (dict, list)):
        for source in value if isinstance(value, list) else [value]:
            if isinstance(source, dict):
                for k, v in source.items():
                    container.setdefault(k, v)
        return
    try:
        container[key] = value
    except TypeError:
        raise DocumentError(top.key_line, f"mapping key {key!r} is not a scalar") from None
