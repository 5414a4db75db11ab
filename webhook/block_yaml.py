"""Reads the block-style YAML that tools write (kubectl, Helm, kustomize, PyYAML's dump) line by
line, two to three times faster than the same document built from libyaml's events.

A document is read here only when every line has one of a few plain shapes: `key: value`,
`- item`, `- key: value`, a key or dash alone before a nested block, a plain or single-line
quoted string (in double quotes with no escapes but `\\"`, `\\\\`, `\\/`, `\\n` and `\\t`), a one-line
flow sequence or mapping of strings without escapes (`[a, "b"]`, `{name: a, port: 80}`), or a
literal or folded block string (`|`, `|-`, `>`, `>-`). Anything else (nested or multi-line flow
collections, anchors, aliases, tags, multi-line plain or quoted strings, other escapes, tabs, CR
line ends, keys that are not plain names) returns None, and libyaml reads the document: its
values, lines and errors are the reference, and for what this module reads it gives the same
values and lines (tests/test_block_yaml.py compares the two over every YAML file the tests
carry).
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

MAYBE_TYPED = frozenset("-+.0123456789~")
"""A plain scalar is a null, bool, int or float only when it starts with one of these, or is one
of TYPED_WORDS."""
WORD_VALUES = {
    variant: value
    for word, value in (
        ("null", None),
        ("true", True),
        ("false", False),
        ("yes", True),
        ("no", False),
        ("on", True),
        ("off", False),
    )
    for variant in (word, word.capitalize(), word.upper())
}
"""YAML 1.1's booleans and nulls, as PyYAML's resolver and constructor read them."""
TYPED_WORDS = frozenset(WORD_VALUES)
MAX_INTERNED = 64
"""Strings up to this length are interned: kinds, keys, label values and names repeat."""


def interned(value: str) -> str:
    """Short strings repeat (kinds, label values, the name of an object in its labels and
    selectors): each is stored once."""
    return sys.intern(value) if len(value) <= MAX_INTERNED else value


_READ_ASCII = bytes(range(0x20, 0x7F)) + b"\n"
"""The ASCII characters read here: the printable ones and the line break."""
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
"""The keys read here: plain names, which are strings unless they are one of TYPED_WORDS."""


@functools.cache
def _unread_beyond_ascii() -> re.Pattern[str]:
    """Characters this module leaves to libyaml: tabs, CRs and other controls, and beyond ASCII
    other line breaks (NEL, U+2028, U+2029), byte order marks and what YAML does not allow;
    compiled on first use (its classes take milliseconds)."""
    allowed = r"\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff"
    return re.compile(f"[^{allowed}]")


_PLAIN_START = frozenset(",[]{}#&*!|>'\"%@`")
_LOOK_FIRST = _PLAIN_START | MAYBE_TYPED | frozenset("?:")
"""First characters of a value that _value looks at closely; other values are plain strings
unless they hold a comment or `: `, or end in a space or colon."""
_QUOTED_TAIL = re.compile(r"(?: +#.*)? *")
_ESCAPED = re.compile(r'"((?:[^"\\]|\\["\\/nt])*+)"')
"""A double-quoted string whose escapes are all among _UNESCAPED (JSON in an annotation, as
`sidecar.istio.io/status` holds it); libyaml reads the other escapes (`\\x41`, `\\u00e9`, `\\N`...)."""
_ESCAPE = re.compile(r"\\(.)")
_UNESCAPED = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t"}


def _unescape(escape: re.Match[str]) -> str:
    return _UNESCAPED[escape[1]]


_PLAIN_CHARACTER = r"[^\s,\[\]{}:#]"
_FLOW_ITEM = (
    r'(?:"[^"\\]*+"'  # double-quoted, without escapes
    r"|'(?:[^']|'')*+'"  # single-quoted
    r"|(?:[^\s,\[\]{}#&*!|>'\"%@`?:-]|[-?]" + _PLAIN_CHARACTER + ")"  # plain: no indicator first
    r"(?:" + _PLAIN_CHARACTER + r"| ++(?=" + _PLAIN_CHARACTER + r"))*+)"  # inner spaces, none at the end
)
"""An item of a one-line flow collection read here: a quoted string without escapes, or a plain
one without `:` or `#` (libyaml versions differ on those in flow context). Every part of the
pattern can match a text in one way only, and the quantifiers are possessive: a line that does
not match fails in linear time, without backtracking through the ways to split its spaces."""
_FLOW_KEY = r"[A-Za-z_][A-Za-z0-9_./-]*+"
_FLOW_PAIR = _FLOW_KEY + r": ++" + _FLOW_ITEM


@functools.cache
def _flow_sequence() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A one-line flow sequence, and each of its items; compiled on first use, like the mapping's
    (together 3 ms, a fortieth of the CLI's start-up, and most inputs have neither)."""
    whole = r"\[ *+((?:" + _FLOW_ITEM + r" *+, *+)*+(?:" + _FLOW_ITEM + r" *+,? *+)?)\](?: +#.*)? *"
    return re.compile(whole), re.compile("(" + _FLOW_ITEM + r") *+(?:,|$)")


@functools.cache
def _flow_mapping() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A one-line flow mapping, and each of its pairs."""
    whole = r"\{ *+((?:" + _FLOW_PAIR + r" *+, *+)*+(?:" + _FLOW_PAIR + r" *+,? *+)?)\}(?: +#.*)? *"
    return re.compile(whole), re.compile("(" + _FLOW_KEY + r"): ++(" + _FLOW_ITEM + r") *+(?:,|$)")


_BLOCK_HEADER = re.compile(r"([|>])(-?)(?: +#.*)? *")

Record = list[tuple[str, int]]
"""(path, line) of every field of an object, in the order libyaml meets them."""


class Block:
    """A document read: its root value, the root's first line and the lines of its fields, and
    the same for each mapping among the root's `items` (the members of a `kind: *List`)."""

    __slots__ = ("line", "members", "record", "value")

    def __init__(self, value: Any, line: int, record: Record, members: dict[int, tuple[int, Record]]):
        self.value = value
        self.line = line
        self.record = record
        self.members = members


class Limits(NamedTuple):
    """documents.MAX_DEPTH and MAX_NODES: a document beyond them is libyaml's to refuse."""

    depth: int
    nodes: int


class _Unread(Exception):
    """The document has a shape this module leaves to libyaml."""


class _Frame:
    __slots__ = ("container", "indent", "is_map", "path", "record")

    def __init__(self, indent: int, container: Any, path: str, record: Record):
        self.indent = indent
        self.container = container
        self.is_map = type(container) is dict
        self.path = path
        self.record = record


_KNOWN_KEYS: dict[str, str] = {}
"""Keys seen, interned: the same few hundred names make up most lines of most manifests."""
MAX_KNOWN_KEYS = 10_000


def _known_key(key: str) -> str:
    key = sys.intern(key)
    if len(_KNOWN_KEYS) < MAX_KNOWN_KEYS:
        _KNOWN_KEYS[key] = key
    return key


def read_block(text: str, first_line: int, resolve: Callable[[str], Any], limits: Limits) -> Block | None:
    """The document `text`, whose first line is `first_line`, or None when libyaml must read it.
    `resolve` turns a plain scalar that may be a null, bool or number into its value (raising
    when it is malformed); documents beyond the `limits` are left to libyaml, which refuses them."""
    if text.isascii():
        if text.encode("ascii").translate(None, _READ_ASCII):
            return None  # a tab, CR or other control: found three times faster than by a pattern
    elif _unread_beyond_ascii().search(text):
        return None
    try:
        return _Reader(text, first_line, resolve, limits).read()
    except _Unread:
        return None


class _Reader:
    def __init__(self, text: str, first_line: int, resolve: Callable[[str], Any], limits: Limits):
        self.lines = text.split("\n")
        self.first_line = first_line
        self.resolve = resolve
        self.limits = limits
        self.resume = 0
        """The index of the line after a block string."""

    def read(self) -> Block:
        intern = sys.intern
        max_depth = self.limits.depth
        stack: list[_Frame] = []
        top: _Frame | None = None
        root: _Frame | None = None
        root_line = 0
        members: dict[int, tuple[int, Record]] = {}
        pending: tuple[_Frame, str, Any, int] | None = None
        """A key or dash whose value starts on a later line: its frame, path, key and line."""
        first_line = self.first_line
        keys = _KNOWN_KEYS
        for index, raw in enumerate(self.lines):
            if index < self.resume:
                continue
            text = raw.lstrip(" ")
            if not text or text[0] == "#":
                continue  # a blank or comment line
            column = len(raw) - len(text)
            line = first_line + index
            dash = 0
            if text[0] == "-" and (len(text) == 1 or text[1] == " "):
                rest = text[1:].lstrip(" ")
                dash = len(text) - len(rest)
                text = rest
            key: Any = None
            candidate, colon, value = text.partition(": ")
            if not colon and text[-1:] == ":":
                candidate, colon, value = text[:-1], ":", ""
            if colon and candidate:
                key = keys.get(candidate)
                if key is None and _KEY.fullmatch(candidate) and candidate not in TYPED_WORDS:
                    key = _known_key(candidate)
                if key is not None:
                    text = value.lstrip(" ")
            if key is None and not dash:
                raise _Unread  # a multi-line plain string, a flow collection, an unusual key
            if pending is not None:
                parent, path, pending_key, pending_line = pending
                pending = None
                if column > parent.indent or (dash and parent.is_map and column == parent.indent):
                    if len(stack) >= max_depth:
                        raise _Unread
                    child = _Frame(column, [] if dash else {}, path, parent.record)
                    if parent.is_map:
                        parent.record.append((path, pending_line))
                        parent.container[pending_key] = child.container
                    else:
                        parent.record.append((path, line))
                        parent.container.append(child.container)
                    stack.append(child)
                    top = child
                elif parent.is_map:
                    parent.record.append((path, pending_line))
                    parent.container[pending_key] = None
                else:  # an empty item: libyaml places its null at a mark of its own
                    raise _Unread
            while top is not None and (
                column < top.indent or (column == top.indent and not dash and not top.is_map)
            ):
                stack.pop()
                top = stack[-1] if stack else None
            if top is None:
                if root is not None:
                    raise _Unread  # a second root: libyaml refuses it
                top = root = _Frame(column, [] if dash else {}, "", [])
                root_line = line
                stack.append(top)
            elif column != top.indent:
                raise _Unread  # a multi-line plain string, or an error libyaml reports
            if dash:
                if top.is_map:
                    raise _Unread
                items: list[Any] = top.container
                path = f"{top.path}[{len(items)}]"
                in_list = len(stack) == 2 and top.path == "items"
                if key is not None:  # `- key: value` starts a mapping at the key's column
                    if len(stack) >= max_depth:
                        raise _Unread
                    if in_list:  # a List's member keeps lines of its own
                        record: Record = []
                        child = _Frame(column + dash, {}, "", record)
                        members[id(child.container)] = (line, record)
                    else:
                        child = _Frame(column + dash, {}, path, top.record)
                        top.record.append((path, line))
                    items.append(child.container)
                    stack.append(child)
                    top = child
                elif in_list:
                    raise _Unread  # a List's member that is no `- key: value` mapping: rare
                elif not text or text[0] == "#":
                    pending = (top, path, None, line)
                    continue
                else:
                    top.record.append((path, line))
                    items.append(self._value(text, column, index, path, top.record))
                    continue
            elif not top.is_map:
                raise _Unread
            path = f"{top.path}.{key}" if top.path else key
            if not text or text[0] == "#":
                pending = (top, path, key, line)
                continue
            top.record.append((path, line))
            if (
                text[0] in _LOOK_FIRST
                or text[-1] in " :"
                or " #" in text
                or ": " in text
                or text in TYPED_WORDS
            ):
                if text.isdecimal():  # a number (a port, replicas): most of the values looked at closely
                    top.container[key] = self._plain(text)
                else:
                    top.container[key] = self._value(text, top.indent, index, path, top.record)
            else:
                top.container[key] = intern(text) if len(text) <= MAX_INTERNED else text  # interned(), inline
        if pending is not None:
            parent, path, pending_key, pending_line = pending
            if not parent.is_map:
                raise _Unread
            parent.record.append((path, pending_line))
            parent.container[pending_key] = None
        if root is None:
            raise _Unread
        nodes = 1 + len(root.record) + sum(1 + len(fields) for _, fields in members.values())
        if nodes >= self.limits.nodes:
            raise _Unread
        return Block(root.container, root_line, root.record, members)

    def _value(self, text: str, parent_indent: int, index: int, path: str, record: Record) -> Any:
        """The value written as `text` at the end of line `index`, after the key or dash of the
        field at `path`; a flow sequence's items go to `record`."""
        first = text[0]
        if first == '"' or first == "'":
            return self._quoted(text)
        if first == "|" or first == ">":
            return self._block_string(text, parent_indent, index + 1)
        if first == "[":
            return self._flow_sequence(text, path, self.first_line + index, record)
        if first == "{":
            return self._flow_mapping(text, path, self.first_line + index, record)
        if first in _PLAIN_START:
            raise _Unread
        if first in "-?:" and (len(text) == 1 or text[1] == " "):
            raise _Unread
        comment = text.find(" #")
        if comment != -1:
            text = text[:comment]
        text = text.rstrip(" ")
        if ": " in text or text.endswith(":"):
            raise _Unread  # libyaml refuses a mapping here
        return self._plain(text)

    def _plain(self, text: str) -> Any:
        try:
            return self.resolve(text)
        except Exception:  # a malformed number or date: libyaml's reading reports it
            raise _Unread from None

    def _flow_sequence(self, text: str, path: str, line: int, record: Record) -> list[Any]:
        """`[a, "b", 3]` on one line."""
        whole, each = _flow_sequence()
        found = whole.fullmatch(text)
        if found is None:
            raise _Unread  # nested, spread over lines, or with a mapping, escape or comment inside
        items: list[Any] = []
        for item in each.findall(found.group(1)):
            record.append((f"{path}[{len(items)}]", line))
            items.append(self._flow_scalar(item))
        return items

    def _flow_mapping(self, text: str, path: str, line: int, record: Record) -> dict[str, Any]:
        """`{a: b, c: "d"}` on one line, with plain names as keys."""
        whole, each = _flow_mapping()
        found = whole.fullmatch(text)
        if found is None:
            raise _Unread  # nested, spread over lines, a key alone, or an escape or comment inside
        mapping: dict[str, Any] = {}
        for key, item in each.findall(found.group(1)):
            if key in TYPED_WORDS:
                raise _Unread
            key = sys.intern(key)
            record.append((f"{path}.{key}", line))
            mapping[key] = self._flow_scalar(item)
        return mapping

    def _flow_scalar(self, item: str) -> Any:
        if item[0] == '"':
            return interned(item[1:-1])
        if item[0] == "'":
            return interned(item[1:-1].replace("''", "'"))
        return self._plain(item)

    def _quoted(self, text: str) -> str:
        quote = text[0]
        if quote == '"':
            end = text.find('"', 1)
            if end == -1:
                raise _Unread  # a string that goes on to the next line
            if "\\" in text[:end]:
                escaped = _ESCAPED.match(text)
                if escaped is None:
                    raise _Unread  # an escape left to libyaml, or a string that goes on
                end = escaped.end() - 1
                value = _ESCAPE.sub(_unescape, escaped[1])
            else:
                value = text[1:end]
        else:
            end = 1
            while True:
                end = text.find("'", end)
                if end == -1:
                    raise _Unread
                if not text.startswith("''", end):
                    break
                end += 2
            value = text[1:end].replace("''", "'")
        if not _QUOTED_TAIL.fullmatch(text, end + 1):
            raise _Unread
        return interned(value)

    def _block_string(self, header: str, parent_indent: int, start: int) -> str:
        """A literal (`|`, `|-`) or folded (`>`, `>-`) block string: the following lines indented
        deeper than its parent."""
        found = _BLOCK_HEADER.fullmatch(header)
        if found is None:
            raise _Unread  # an indentation indicator, keep chomping, or text after the header
        style, strip = found.groups()
        lines = self.lines
        if start >= len(lines) or not lines[start].strip(" "):
            raise _Unread  # leading blank lines, or an empty string
        indent = len(lines[start]) - len(lines[start].lstrip(" "))
        if indent <= parent_indent:
            raise _Unread
        prefix = " " * indent
        end = start
        while end < len(lines):
            raw = lines[end]
            if not raw.strip(" "):
                if len(raw) > indent:
                    raise _Unread  # a line of spaces that are content
            elif not raw.startswith(prefix):
                break
            end += 1
        while not lines[end - 1].strip(" "):
            end -= 1
        if end == len(lines):
            raise _Unread  # the input's last line, without the line break that clipping keeps
        self.resume = end
        content = [raw[indent:] for raw in lines[start:end]]
        body = "\n".join(content) if style == "|" else _folded(content)
        return body if strip else body + "\n"


def _folded(content: list[str]) -> str:
    """Folded lines: a single line break between two lines becomes a space, and each empty line
    between them a line break. Lines indented further, or ending in a space, keep their breaks
    and spaces by rules not written here: left to libyaml."""
    pieces: list[str] = []
    empty = 0
    for text in content:
        if not text:
            empty += 1
            continue
        if text[0] == " " or text[-1] == " ":
            raise _Unread
        if pieces:
            pieces.append("\n" * empty if empty else " ")
        pieces.append(text)
        empty = 0
    return "".join(pieces)
