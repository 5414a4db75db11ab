"""Applies fixes (webhook.findings.Edit) to the text of a YAML or JSON file, changing the edited
nodes only: every byte outside them (comments, key order, quoting, flow or block style, document
separators, blank lines) stays as it was.

The text is composed with PyYAML, whose nodes know their start and end in the text, and each edit
becomes a replacement of a span of text; the new value is written in the style of its surroundings
(the indentation of its siblings, flow inside flow, JSON in JSON). A round-trip library
(ruamel.yaml) was the alternative: it re-emits the whole file, and with no edit at all (quotes
preserved) it rewrote 96 of 153 YAML files of Istio's samples and this project's examples and
conformance cases (indentation of sequences, `---` at the end, spacing), so it cannot keep the rest
of a file byte for byte. Splicing needs no new dependency either.

A document that uses anchors and aliases is not edited: one node would stand for several fields.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.emitter import Emitter
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from webhook.findings import Autofix, Edit, FieldPath, field_text

_STR_TAG = "tag:yaml.org,2002:str"
_BLOCK_SCALAR_STYLES = ("|", ">")
_resolver = Resolver()


class SourceError(Exception):
    """A file that does not parse as YAML: it is left as it is."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class EditError(Exception):
    """A fix that cannot be placed in the text (the field is not where the object says, or the
    document uses anchors)."""


@dataclass(frozen=True, slots=True, order=True)
class Replacement:
    """Characters `start` to `end` of the text become `text` (an insertion when start == end)."""

    start: int
    end: int
    text: str

    def overlaps(self, other: Replacement) -> bool:
        if self.start == other.start:
            return True
        return max(self.start, other.start) < min(self.end, other.end) or any(
            a.start == a.end and b.start < a.start < b.end for a, b in ((self, other), (other, self))
        )


@dataclass(frozen=True, slots=True)
class Target:
    """The object of a file a fix applies to: the line its mapping starts on, and its kind and
    name, which must match there (and find it elsewhere when the line does not)."""

    line: int
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Region:
    """A replacement as lines and columns (from 1, in characters; the end is exclusive), as
    SARIF's `deletedRegion` and `insertedContent` describe it."""

    start_line: int
    start_column: int
    end_line: int
    end_column: int
    text: str


def region(text: str, replacement: Replacement) -> Region:
    return Region(*_position(text, replacement.start), *_position(text, replacement.end), replacement.text)


def _position(text: str, index: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def apply(text: str, replacements: Sequence[Replacement]) -> str:
    """`text` with non-overlapping `replacements` made, back to front."""
    for replacement in sorted(replacements, reverse=True):
        text = text[: replacement.start] + replacement.text + text[replacement.end :]
    return text


class Source:
    """A file's text, composed into one node tree per document."""

    def __init__(self, text: str):
        self.text = text
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self._writers: dict[int, _Writer] = {}
        try:
            self._documents = [d for d in yaml.compose_all(text, Loader=yaml.SafeLoader) if d is not None]
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            last = max(len(text.splitlines()), 1)  # an error found at the end of the text
            raise SourceError(
                min(mark.line + 1, last) if mark else 1, f"YAML syntax error: {exc.problem}"
            ) from None
        except yaml.YAMLError as exc:
            raise SourceError(1, f"YAML error: {exc}") from None

    def replacements(self, target: Target, autofix: Autofix) -> tuple[Replacement, ...]:
        """The replacements that make `autofix` to the object `target`; EditError when they cannot
        be placed."""
        document, root = self._find(target)
        writer = self._writers.get(id(document))
        if writer is None:  # the document's layout and aliases are looked at once, for all its fixes
            writer = self._writers[id(document)] = _Writer(self.text, self.newline, document)
        done = writer.fix(root, autofix.edits)
        ordered = sorted(done)
        if any(a.overlaps(b) for a, b in itertools.pairwise(ordered)):
            raise EditError("its edits overlap")
        return tuple(ordered)

    def _find(self, target: Target) -> tuple[Node, Node]:
        by_identity = []
        for document in self._documents:
            for root in _objects(document):
                same = _identity(root) == (target.kind, target.name)
                if root.start_mark.line + 1 == target.line and (same or not target.kind):
                    return document, root
                if same:
                    by_identity.append((document, root))
        if len(by_identity) == 1:
            return by_identity[0]
        raise EditError(f"no single {target.kind} {target.name} at line {target.line}")


def _objects(document: Node) -> Iterator[Node]:
    """The document's object, or the objects of a `kind: *List`."""
    yield document
    if isinstance(document, MappingNode):
        for key, value in document.value:
            if key.value == "items" and isinstance(value, SequenceNode):
                yield from (item for item in value.value if isinstance(item, MappingNode))


def _identity(node: Node) -> tuple[str, str] | None:
    if not isinstance(node, MappingNode):
        return None
    kind = _child(node, "kind")
    metadata = _child(node, "metadata")
    name = _child(metadata, "name") if metadata is not None else None
    if isinstance(kind, ScalarNode) and isinstance(name, ScalarNode):
        return kind.value, name.value
    return None


def _child(node: Node, key: str | int) -> Node | None:
    if isinstance(node, MappingNode) and isinstance(key, str):
        return next((v for k, v in node.value if isinstance(k, ScalarNode) and k.value == key), None)
    if isinstance(node, SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        item: Node = node.value[key]
        return item
    return None


def _entry_index(node: MappingNode, key: str) -> int:
    return next(i for i, (k, _) in enumerate(node.value) if isinstance(k, ScalarNode) and k.value == key)


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _value(node: Node) -> Any:
    return SafeConstructor().construct_object(node, deep=True)


def _shared(root: Node) -> bool:
    """Whether a node appears twice under `root`: an alias."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return True
        seen.add(id(node))
        if isinstance(node, MappingNode):
            stack += [n for pair in node.value for n in pair]
        elif isinstance(node, SequenceNode):
            stack += node.value
    return False


@dataclass
class _Addition:
    """Values added under one existing node: keys of a mapping, items of a sequence, or the value
    of a null field (`annotations:` with nothing after it)."""

    node: Node
    parent: MappingNode | None
    value: Any


class _Writer:
    def __init__(self, text: str, newline: str, document: Node):
        self.text = text
        self.newline = newline
        if _shared(document):
            raise EditError("the document uses YAML anchors and aliases")
        self.json = isinstance(document, MappingNode) and bool(document.flow_style)
        self.step, self.indentless = _layout(document)

    def fix(self, root: Node, edits: Sequence[Edit]) -> list[Replacement]:
        done: list[Replacement] = []
        additions: dict[int, _Addition] = {}
        removals: dict[int, tuple[Node, list[int]]] = {}
        for edit in edits:
            if edit.old is None:
                self._add(root, edit, additions, done)
            elif edit.new is None:
                self._remove(root, edit.path, edit.old, removals)
            else:
                done.append(self._replace(root, edit))
        done += [self._insert(addition) for addition in additions.values()]
        for parent, indices in removals.values():
            done += self._cut(parent, indices)
        return done

    def _walk(self, root: Node, path: FieldPath) -> tuple[list[Node], Node | None]:
        """The nodes along `path` that exist, and the field's node (None when absent)."""
        nodes = [root]
        for key in path:
            child = _child(nodes[-1], key)
            if child is None or _is_null(child):
                return nodes, child
            nodes.append(child)
        return nodes[:-1], nodes[-1]

    def _add(self, root: Node, edit: Edit, additions: dict[int, _Addition], done: list[Replacement]) -> None:
        nodes, node = self._walk(root, edit.path)
        depth = len(nodes)
        if node is not None and depth == len(edit.path) and _is_null(node):
            done.append(self._replace_node(node, _parent_map(nodes[-1]), edit.new))
            return
        if node is not None and not _is_null(node):
            raise EditError(f"{_show(edit.path)} is already set")
        anchor, parent = nodes[-1], None
        rest = edit.path[depth - 1 :]
        if node is not None:  # a null field on the way: its value is written whole
            anchor, parent = node, _parent_map(nodes[-1])
            rest = edit.path[depth:]
            nested = _nest(rest, edit.new)
        elif isinstance(anchor, SequenceNode):
            if rest[0] != len(anchor.value) or len(rest) > 1:
                raise EditError(f"{_show(edit.path)} does not append to its list")
            nested = [edit.new]
        elif isinstance(anchor, MappingNode):
            nested = _nest(rest, edit.new)
        else:
            raise EditError(f"{_show(edit.path[: depth - 1])} is not a mapping")
        addition = additions.setdefault(id(anchor), _Addition(anchor, parent, type(nested)()))
        _merge(addition.value, nested)

    def _remove(
        self, root: Node, path: FieldPath, old: object, removals: dict[int, tuple[Node, list[int]]]
    ) -> None:
        nodes, node = self._walk(root, path)
        if node is None or len(nodes) != len(path):
            raise EditError(f"{_show(path)} is not there")
        if _value(node) != old:
            raise EditError(f"{_show(path)} is not {old!r}")
        depth = len(path)
        while True:
            parent, key = nodes[depth - 1], path[depth - 1]
            index = _entry_index(parent, str(key)) if isinstance(parent, MappingNode) else int(key)
            _, indices = removals.setdefault(id(parent), (parent, []))
            if index not in indices:
                indices.append(index)
            if len(indices) < len(parent.value) or depth == 1:
                return
            del removals[id(parent)]  # the removal empties it: the field that holds it goes
            depth -= 1

    def _replace(self, root: Node, edit: Edit) -> Replacement:
        nodes, node = self._walk(root, edit.path)
        if node is None or len(nodes) != len(edit.path):
            raise EditError(f"{_show(edit.path)} is not there")
        if _value(node) != edit.old:
            raise EditError(f"{_show(edit.path)} is not {edit.old!r}")
        return self._replace_node(node, _parent_map(nodes[-1]), edit.new)

    # -- text

    def _replace_node(self, node: Node, parent: MappingNode | None, new: object) -> Replacement:
        start, end = node.start_mark.index, _end(node, self.text)
        flow = self._flow(node, parent)
        if not isinstance(new, (dict, list)) or not new or flow:
            if isinstance(new, (dict, list)):
                rendered = self._flow_value(new)
            else:
                rendered = self._scalar(
                    new, flow=flow, style=node.style if isinstance(node, ScalarNode) else None
                )
            if (
                isinstance(node, ScalarNode)
                and node.style in _BLOCK_SCALAR_STYLES
                and self.text[start - 1] != " "
            ):
                rendered = " " + rendered
            return Replacement(start, end, rendered)
        if isinstance(node, (MappingNode, SequenceNode)):  # a block collection, replaced in place
            column = node.start_mark.column
            lines = self._lines(new, column)
            return Replacement(start, end, self.newline.join([lines[0][column:], *lines[1:]]))
        # a scalar after `key:` becomes a block below the key
        assert parent is not None
        key = next(k for k, v in parent.value if v is node)
        column = key.start_mark.column + (0 if isinstance(new, list) and self.indentless else self.step)
        colon = self.text.index(":", _end(key, self.text)) + 1
        return Replacement(colon, end, self.newline + self.newline.join(self._lines(new, column)))

    def _insert(self, addition: _Addition) -> Replacement:
        node, value = addition.node, addition.value
        if _is_null(node):
            return self._replace_node(node, addition.parent, value)
        assert isinstance(node, (MappingNode, SequenceNode))
        entries = list(value.items()) if isinstance(value, dict) else value
        if node.flow_style:
            return self._insert_flow(node, entries)
        column = node.start_mark.column
        if isinstance(node, MappingNode):
            lines = [line for key, item in entries for line in self._entry(key, item, column)]
        else:
            lines = [line for item in entries for line in self._item(item, column)]
        at = self._line_end(_end(node, self.text))
        return Replacement(at, at, self.newline + self.newline.join(lines))

    def _insert_flow(self, node: Node, entries: list[Any]) -> Replacement:
        if isinstance(node, MappingNode):
            parts = [f"{self._key(k)}: {self._flow_value(v)}" for k, v in entries]
        else:
            parts = [self._flow_value(v) for v in entries]
        close = node.end_mark.index - 1
        if not node.value:
            return Replacement(close, close, ", ".join(parts))
        last = node.value[-1][1] if isinstance(node, MappingNode) else node.value[-1]
        first = node.value[0][0] if isinstance(node, MappingNode) else node.value[0]
        at = _end(last, self.text)
        if first.start_mark.line != node.start_mark.line:  # one entry a line, as pretty JSON is
            pad = self.newline + " " * first.start_mark.column
            return Replacement(at, at, "".join(f",{pad}{part}" for part in parts))
        return Replacement(at, at, "".join(f", {part}" for part in parts))

    def _cut(self, parent: Node, indices: list[int]) -> Iterator[Replacement]:
        """Removes the entries (or items) at `indices` of `parent`."""
        entries: list[tuple[Node, Node]] = (
            parent.value if isinstance(parent, MappingNode) else [(n, n) for n in parent.value]
        )
        removed = set(indices)
        if len(removed) == len(entries):  # the document itself, or a list item, emptied
            empty = "{}" if isinstance(parent, MappingNode) else "[]"
            yield Replacement(parent.start_mark.index, _end(parent, self.text), empty)
            return
        leading = True
        for index, (first, last) in enumerate(entries):
            if index not in removed:
                leading = False
                continue
            start, end = self._entry_start(parent, first), _end(last, self.text)
            if getattr(parent, "flow_style", False):
                if leading:
                    yield Replacement(start, entries[index + 1][0].start_mark.index, "")
                else:
                    yield Replacement(_end(entries[index - 1][1], self.text), end, "")
                continue
            line_start = self.text.rfind("\n", 0, start) + 1
            if self.text[line_start:start].strip():  # the first key of a list item, after `- `
                yield Replacement(start, entries[index + 1][0].start_mark.index, "")
                continue
            yield Replacement(line_start, self._line_end(end, past=True), "")

    def _entry_start(self, parent: Node, first: Node) -> int:
        """Where an entry starts: its key, or for a block sequence item its `-`."""
        start: int = first.start_mark.index
        if isinstance(parent, SequenceNode) and not parent.flow_style:
            start = self.text.rfind("-", 0, start)
        return start

    def _line_end(self, index: int, past: bool = False) -> int:
        end = self.text.find("\n", index)
        if end == -1:
            return len(self.text)
        if past:
            return end + 1
        return end - 1 if self.text[end - 1] == "\r" else end

    def _flow(self, node: Node, parent: MappingNode | None) -> bool:
        if self.json:
            return True
        if isinstance(node, (MappingNode, SequenceNode)):
            return bool(node.flow_style)
        return parent is not None and bool(parent.flow_style)

    # -- rendering new values

    def _lines(self, value: Any, column: int) -> list[str]:
        """A mapping or sequence as block lines at `column`."""
        if isinstance(value, dict):
            return [line for key, item in value.items() for line in self._entry(key, item, column)]
        return [line for item in value for line in self._item(item, column)]

    def _entry(self, key: str, value: Any, column: int) -> list[str]:
        head = f"{' ' * column}{self._key(key)}:"
        if isinstance(value, dict) and value:
            return [head, *self._lines(value, column + self.step)]
        if isinstance(value, list) and value:
            return [head, *self._lines(value, column + (0 if self.indentless else self.step))]
        return [f"{head} {self._flow_value(value)}"]

    def _item(self, value: Any, column: int) -> list[str]:
        if isinstance(value, (dict, list)) and value:
            lines = self._lines(value, column + 2)
            return [f"{' ' * column}- {lines[0][column + 2 :]}", *lines[1:]]
        return [f"{' ' * column}- {self._flow_value(value)}"]

    def _key(self, key: str) -> str:
        return json.dumps(key, ensure_ascii=False) if self.json else self._scalar(key, flow=False)

    def _flow_value(self, value: Any) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{self._key(k)}: {self._flow_value(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self._flow_value(v) for v in value) + "]"
        return self._scalar(value, flow=True)

    def _scalar(self, value: object, *, flow: bool, style: str | None = None) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if not isinstance(value, str):
            raise EditError(f"cannot write a {type(value).__name__}")
        if self.json:
            return json.dumps(value, ensure_ascii=False)
        if style == "'" and _printable_line(value):
            return "'" + value.replace("'", "''") + "'"
        if style != '"' and _plain(value, flow):
            return value
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _plain(value: str, flow: bool) -> bool:
    """Whether `value` written plain reads back as the same string."""
    if not value or value != value.strip() or "\n" in value:
        return False
    if _resolver.resolve(ScalarNode, value, (True, False)) != _STR_TAG:  # type: ignore[no-untyped-call]
        return False
    analysis = Emitter(io.StringIO()).analyze_scalar(value)
    return bool(analysis.allow_flow_plain if flow else analysis.allow_block_plain)


def _printable_line(value: str) -> bool:
    return value.isprintable() and value == value.strip()


def _end(node: Node, text: str) -> int:
    """Where a node's text ends: a block collection ends with its last value, a block scalar
    before the line breaks that follow it."""
    if isinstance(node, ScalarNode):
        end: int = node.end_mark.index
        if node.style in _BLOCK_SCALAR_STYLES:
            while end > node.start_mark.index and text[end - 1] in " \t\r\n":
                end -= 1
        return end
    if getattr(node, "flow_style", False) or not node.value:
        index: int = node.end_mark.index
        return index
    last = node.value[-1]
    return _end(last[1] if isinstance(node, MappingNode) else last, text)


def _layout(document: Node) -> tuple[int, bool]:
    """The document's indentation step and whether its block sequences sit at their key's column
    (`indentless`, as kubectl writes them); 2 and True when the document shows neither."""
    step: int | None = None
    indentless: bool | None = None
    stack = [document]
    while stack and (step is None or indentless is None):
        node = stack.pop()
        if isinstance(node, MappingNode) and not node.flow_style:
            for key, value in node.value:
                if isinstance(value, MappingNode) and not value.flow_style and step is None:
                    step = value.start_mark.column - key.start_mark.column if value.value else None
                if isinstance(value, SequenceNode) and not value.flow_style and indentless is None:
                    indentless = value.start_mark.column == key.start_mark.column
                stack.append(value)
        elif isinstance(node, SequenceNode):
            stack += node.value
    return (step if step and step > 0 else 2), (True if indentless is None else indentless)


def _parent_map(node: Node) -> MappingNode | None:
    return node if isinstance(node, MappingNode) else None


def _nest(path: FieldPath, value: object) -> Any:
    """`value` under the missing fields of `path` (an index creates a list, of one item)."""
    for key in reversed(path):
        if isinstance(key, int):
            if key != 0:
                raise EditError(f"item {key} of a list that does not exist")
            value = [value]
        else:
            value = {key: value}
    return value


def _merge(into: Any, value: Any) -> None:
    if isinstance(into, list):
        into.extend(value)
        return
    for key, item in value.items():
        if isinstance(into.get(key), dict) and isinstance(item, dict):
            _merge(into[key], item)
        elif key in into:
            raise EditError(f"two edits add {key}")
        else:
            into[key] = item


def _show(path: FieldPath) -> str:
    return field_text(path) or "the object"
