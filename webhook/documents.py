"""Reads YAML and JSON documents with the line of every field.

Built on libyaml's event stream rather than `yaml.load`, so that every field's line is known,
aliases are never expanded into memory, and hostile documents (alias bombs, extreme nesting,
numbers too long to convert) are refused with a clear error instead of exhausting memory, the C
stack or the interpreter's limits. Input is read in blocks and parsed one document at a time
(a document ends at a `---` or `...` line), so that one broken document cannot hide the others
and memory follows the values kept, not the raw text. A document in the plain block style that
tools write is first offered to a line reader (webhook.block_yaml), which reads it two to three
times faster than building it from libyaml's events, and leaves every other shape to libyaml.
"""

from __future__ import annotations

import codecs
import functools
import io
import itertools
import json
import marshal
import re
import sys
from array import array
from collections import deque
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from webhook.block_yaml import (
    MAX_INTERNED,
    MAYBE_TYPED,
    TYPED_WORDS,
    WORD_VALUES,
    Block,
    Limits,
    interned,
    read_block,
)
from webhook.reading_pool import ReadingPool, read_result

MAX_DEPTH = 100
MAX_NODES = 1_000_000
"""Limit on a document's size with every alias expanded: a YAML "billion laughs" is refused."""
MAX_NUMBER_LENGTH = 4300
"""Python's own limit on converting decimal text to an integer; no Kubernetes number comes near."""
BLOCK = 1 << 16
"""Bytes read at a time; also the longest piece of a line handed to libyaml at once."""
BLOCK_READ_LIMIT = 1 << 22
"""Documents up to this many characters are first offered to the line reader (webhook.block_yaml);
longer ones libyaml reads as they stream."""
_LIMITS = Limits(MAX_DEPTH, MAX_NODES)

if TYPE_CHECKING:
    from concurrent.futures import Future

    import yaml
    from yaml.constructor import SafeConstructor
    from yaml.resolver import Resolver

_SEPARATOR = re.compile(r"^(---|\.\.\.)(?=[ \t\r\n]|$)", re.MULTILINE)
_CONTENT = re.compile(r"^[ \t]*([^\s#])", re.MULTILINE)
_MANIFEST_WORD = re.compile(r"\b(apiversion|kind)\b", re.IGNORECASE)
_SOURCE = re.compile(r"^# Source: (\S.*?)\s*$", re.MULTILINE)
_STANDARD_TAG = "tag:yaml.org,2002:"
_RESOLVED_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
}
_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
NUMBER_CHARACTERS = frozenset("0123456789+-_.:~bxabcdefABCDEFeEinfINFnaNA")
"""Every character of YAML 1.1's nulls, ints and floats as PyYAML resolves them: signs, digits,
`_` and `:` separators, the `0b` and `0x` prefixes, hex digits, exponents, `.inf` and `.nan`."""
_END = "\0end of stream"
_TEMPLATE_HINT = " (an unrendered template? pipe `helm template CHART` into meshwarden check -)"


@functools.cache
def _event_parser() -> Any:
    """libyaml's parser alone: events are all this module reads, no constructor or resolver.
    PyYAML is imported on first use: documents the line reader reads need none of it."""
    try:
        from yaml._yaml import CParser

        return CParser
    except ImportError:  # pragma: no cover - libyaml is part of the PyYAML wheels
        from yaml import SafeLoader

        return SafeLoader


@functools.cache
def _resolving() -> tuple[Resolver, SafeConstructor]:
    from yaml.constructor import SafeConstructor
    from yaml.resolver import Resolver

    return Resolver(), SafeConstructor()


class DocumentError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message
        self.manifest_like = True
        """Whether the document mentions apiVersion or kind: one that does not is no broken
        manifest (a data file, another tool's file)."""


class ForeignTag(DocumentError):
    """A YAML tag of another tool (GitLab's `!reference`, CloudFormation's `!Ref`)."""

    def __init__(self, line: int, tag: str):
        super().__init__(line, f"YAML tag {tag} is not Kubernetes YAML (a file of another tool?)")
        self.tag = tag


class InputTooLarge(Exception):
    pass


class LineMap(Mapping[str, int]):
    """Field paths (`spec.ports[0]`) to lines, stored compactly: objects of one structure share
    their paths, and each keeps only its lines' offsets from its first line."""

    __slots__ = ("_base", "_index", "_offsets")

    def __init__(self, base: int, index: Mapping[str, int], offsets: bytes | array[int]):
        self._base = base
        self._index = index
        self._offsets = offsets

    def rebased(self, base: int) -> LineMap:
        return LineMap(base, self._index, self._offsets)

    def parts(self) -> tuple[tuple[str, ...], bytes | list[int]]:
        """Its paths and offsets, as marshal carries them (Shapes.lines_of)."""
        offsets = self._offsets
        return tuple(self._index), offsets if type(offsets) is bytes else list(offsets)

    def __getitem__(self, path: str) -> int:
        return self._base + self._offsets[self._index[path]]

    def __contains__(self, path: object) -> bool:
        return path in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


EMPTY_LINES = LineMap(0, {}, b"")
MAX_SHAPES = 10_000


class Shapes:
    """The field paths of every object structure seen, shared by the LineMaps of every input read
    (a repository's files repeat a few structures), up to MAX_SHAPES structures."""

    def __init__(self) -> None:
        self._indexes: dict[tuple[str, ...], dict[str, int]] = {}

    def line_map(self, base: int, record: list[tuple[str, int]]) -> LineMap:
        if not record:
            return LineMap(base, {}, b"")
        paths, lines = zip(*record, strict=True)
        offsets = [line - base for line in lines]
        try:
            packed: bytes | array[int] = bytes(offsets)
        except ValueError:  # an offset outside 0-255
            packed = array("q", offsets)
        return self.lines_of(base, paths, packed)

    def lines_of(self, base: int, paths: tuple[str, ...], offsets: bytes | array[int] | list[int]) -> LineMap:
        """The lines of fields at `paths`, at `offsets` from `base` (a list: as marshal carries an
        array)."""
        index = self._indexes.get(paths)
        if index is None:
            index = {sys.intern(p): i for i, p in enumerate(paths)}
            if len(self._indexes) < MAX_SHAPES:
                self._indexes[paths] = index
        return LineMap(base, index, array("q", offsets) if isinstance(offsets, list) else offsets)


SHAPES = Shapes()
"""This process's structures."""


@dataclass(slots=True)
class Parsed:
    """A value read from a document, with its first line and the lines of its fields."""

    value: Any
    line: int
    lines: LineMap


@dataclass(slots=True)
class Document(Parsed):
    """One document. `items` holds the members of a `kind: *List`, each with its own lines;
    `source` is the template that Helm's `# Source:` comment names, at `source_line`."""

    items: list[Parsed] | None = None
    source: str | None = None
    source_line: int = 0


def is_list(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("kind"), str)
        and value["kind"].endswith("List")
        and isinstance(value.get("items"), list)
    )


def read_documents(
    stream: IO[bytes], limit: int, pool: ReadingPool | None = None
) -> Iterator[Document | DocumentError]:
    """Every document of `stream`, or the error that made it unreadable. Raises InputTooLarge
    past `limit` bytes and UnicodeDecodeError for text that is not UTF-8. The stream is cut into
    runs of whole documents, each read at once (_run_of); with a `pool`, the pool's worker
    processes read a long stream's runs, a few runs ahead of the one whose documents come out:
    in their order all the same."""
    pieces, line = yield from _read_in_runs(_pieces(stream, limit), pool)
    yield from _read(_Splitter(pieces, line))


def _read(documents: _Splitter) -> Iterator[Document | DocumentError]:
    while documents.next_document():
        try:
            document: Document | DocumentError | None = _parse(documents)
        except DocumentError as exc:
            documents.drain()
            document = _parse_json(documents.json_text(), documents.start_line)
            if document is None:
                if documents.templated and not isinstance(exc, ForeignTag):
                    exc.message += _TEMPLATE_HINT
                exc.manifest_like = documents.manifest_like
                document = exc
        if document is not None:
            yield document


Pieces = Iterator[tuple[str, bool]]


def _read_in_runs(
    pieces: Pieces, pool: ReadingPool | None
) -> Generator[Document | DocumentError, None, tuple[Pieces, int]]:
    """The documents of `pieces`, cut into runs of whole documents: with a `pool`, the first run,
    of about `pool.first_run` characters, is read here, and the others go to the pool's workers;
    without, runs of about a BLOCK are read here one after another. Returns the pieces left to
    read here, and their first line: the rest of the stream from a document too long to end a
    run."""
    first_run, run_size, most_ahead = (
        (pool.first_run, pool.run_size, pool.ahead) if pool else (BLOCK, BLOCK, 0)
    )
    # Runs sent to a worker, and the first run, which is read here when its turn comes.
    ahead: deque[Future[bytes] | tuple[str, int]] = deque()
    run: list[str] = []
    size = 0
    line = 1
    for piece, _ in pieces:
        run.append(piece)
        size += len(piece)
        if size < (run_size if ahead else first_run):
            continue
        text = "".join(run)
        cut = _last_separator(text)
        if cut == 0 and size < BLOCK_READ_LIMIT:
            run = [text]
            continue
        if cut == 0:
            break  # a document too long for a run: read here, from its run on
        ahead.append(pool.submit(_read_run, text[:cut], line) if pool and ahead else (text[:cut], line))
        line += text.count("\n", 0, cut)
        run = [text[cut:]]
        size = len(run[0])
        if len(ahead) > most_ahead:
            yield from _run_documents(ahead.popleft())
    else:  # the end of the stream: the rest is whole documents too
        rest = "".join(run)
        ahead.append(pool.submit(_read_run, rest, line) if pool and ahead else (rest, line))
        run = []
    while ahead:
        yield from _run_documents(ahead.popleft())
    return itertools.chain([("".join(run), True)], pieces), line


def _run_documents(run: Future[bytes] | tuple[str, int]) -> Iterator[Document | DocumentError]:
    if isinstance(run, tuple):
        return _run_of(*run)
    return unpack(marshal.loads(read_result(run)))


def _last_separator(text: str) -> int:
    """Where the last `---` line of `text` starts, 0 when there is none after its first line."""
    end = len(text)
    while (found := text.rfind("\n---", 0, end)) != -1:
        if _SEPARATOR.match(text, found + 1):
            return found + 1
        end = found
    return 0


def _read_run(text: str, first_line: int) -> bytes:
    """`_run_of` in a worker process, whose answer marshal carries back several times faster than
    pickle."""
    return marshal.dumps(portable(_run_of(text, first_line)))


def _run_of(text: str, first_line: int) -> Iterator[Document | DocumentError]:
    """The documents of a run of whole documents that starts on `first_line`. The text is whole,
    so each document after a bare `---` line goes straight to the line reader, without the
    splitter's pieces (5% fewer instructions per document); a document the line reader leaves,
    and the rest of the run from any other separator line (`...`, `--- |`), the splitter reads,
    as it reads a stream."""
    start, line = 0, first_line
    for separator in itertools.chain(_SEPARATOR.finditer(text), [None]):
        end = len(text) if separator is None else separator.start()
        if end > start:
            document = _whole_document(text[start:end], line)
            if document is None:  # left to the splitter, from the separator before it
                before = start - 4 if start else 0
                document_line = line - 1 if start else line
                yield from _read(_Splitter(iter([(text[before:end], True)]), document_line))
            elif document is not _NOTHING:
                yield document
        if separator is None:
            return
        line += text.count("\n", start, end) + 1
        start = text.find("\n", end) + 1
        if start - end != 4 or text[end] != "-":  # `...`, `--- |`, `--- {a: 1}`: more on the line
            yield from _read(_Splitter(iter([(text[end:], True)]), line - 1))
            return


_NOTHING = Document(None, 0, EMPTY_LINES)
"""What _whole_document returns for a text without content: no document."""


def _whole_document(text: str, line: int) -> Document | None:
    """The document `text`, from its first `line`, as _parse has the line reader read it; None
    when it leaves it to libyaml (JSON, a long document, other shapes); _NOTHING when `text`
    holds only comments."""
    content = _CONTENT.search(text)
    if content is None:
        return _NOTHING
    if content.group(1) in "{[" or len(text) > BLOCK_READ_LIMIT:
        return None
    block = read_block(text, line, _plain, _LIMITS)
    if block is None:
        return None
    return _document(block, *_source(text[: content.start()], line))


def _source(head: str, line: int) -> tuple[str | None, int]:
    """The path of a `# Source:` comment in `head`, the text before a document's content from
    `line`, and the comment's line; (None, 0) without one. Most heads are empty or a blank line:
    looked for as text before the pattern runs."""
    match = _SOURCE.search(head) if "# Source: " in head else None
    if match is None:
        return None, 0
    return match.group(1), line + head.count("\n", 0, match.start())


def portable(documents: Iterable[Document | DocumentError]) -> list[tuple[Any, ...]]:
    """`documents` as marshal carries them, to `unpack`."""
    return [_portable(document) for document in documents]


def _portable(document: Document | DocumentError) -> tuple[Any, ...]:
    if isinstance(document, DocumentError):
        tag = document.tag if isinstance(document, ForeignTag) else None
        return (False, document.line, document.message, document.manifest_like, tag)
    items = None
    if document.items is not None:
        items = [(item.value, item.line, *item.lines.parts()) for item in document.items]
    lines = document.lines.parts()
    return (True, document.value, document.line, *lines, items, document.source, document.source_line)


def unpack(parts: list[tuple[Any, ...]]) -> Iterator[Document | DocumentError]:
    """The documents that `portable` made of them in a worker."""
    for read, *fields in parts:
        if not read:
            line, message, manifest_like, tag = fields
            error = ForeignTag(line, tag) if tag is not None else DocumentError(line, message)
            error.manifest_like = manifest_like
            yield error
            continue
        value, line, paths, offsets, items, source, source_line = fields
        members = None
        if items is not None:
            members = [Parsed(v, n, SHAPES.lines_of(n, p, o)) for v, n, p, o in items]
        yield Document(value, line, SHAPES.lines_of(line, paths, offsets), members, source, source_line)


def read_text(text: str) -> Iterator[Document | DocumentError]:
    """`read_documents` over a string."""
    data = text.encode("utf-8")
    return read_documents(io.BytesIO(data), len(data))


def _pieces(stream: IO[bytes], limit: int) -> Iterator[tuple[str, bool]]:
    """The text of `stream` in pieces of whole lines, each with whether it starts a line: a line
    longer than a block comes in several pieces."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    carry, at_start, total = "", True, 0
    while True:
        block = stream.read(BLOCK)
        total += len(block)
        if total > limit:
            raise InputTooLarge(limit)
        text = carry + decoder.decode(block, final=not block)
        cut = text.rfind("\n") + 1
        if cut:
            yield text[:cut], at_start
            text, at_start = text[cut:], True
        if not block:
            if text:
                yield text, at_start
            return
        if len(text) >= BLOCK:
            yield text, at_start
            text, at_start = "", False
        carry = text


def _segments(pieces: Iterator[tuple[str, bool]]) -> Iterator[str | None]:
    """Document text, with None for each separator line."""
    for piece, at_start in pieces:
        pos = 0
        for match in _SEPARATOR.finditer(piece):
            if match.start() == 0 and not at_start:
                continue
            if match.start() > pos:
                yield piece[pos : match.start()]
            end = piece.find("\n", match.end())
            end = len(piece) if end == -1 else end + 1
            rest = piece[match.end() : end]
            yield None
            # `--- {a: 1}` starts a document on the separator line itself (its columns kept)
            yield "   " + rest if match.group(1) == "---" else "\n" * rest.count("\n")
            pos = end
        if pos < len(piece):
            yield piece[pos:]


class _Splitter:
    """Cuts a stream into documents; libyaml reads each one as a stream of its own (`read`)."""

    def __init__(self, pieces: Iterator[tuple[str, bool]], first_line: int = 1):
        self._segments = _segments(pieces)
        self._in_document = False
        self._at_end = False
        self._pending: list[str] = []
        self.line = first_line
        """The line the next text starts on."""
        self.start_line = 1
        self._head = ""
        self._looked = False
        self._json: list[str] | None = None
        self.templated = False
        """Whether the document holds `{{`, as unrendered Helm and Go templates do."""
        self.manifest_like = False
        """Whether the document mentions apiVersion or kind."""

    def next_document(self) -> bool:
        """Moves to the next document that has content; False at the end of the stream."""
        while True:
            self.drain()
            if self._at_end:
                return False
            self._in_document = True
            self.start_line = self.line
            self._head, self._looked, self._json = "", False, None
            self.templated = self.manifest_like = False
            while not self._looked and self._in_document:  # comments alone need no parser
                segment = self._next()
                if segment:
                    self._pending.append(segment)
            if self._looked:
                return True

    def whole(self, limit: int) -> str | None:
        """The rest of the document's text, or None (reading nothing) when it is longer than
        `limit` characters."""
        parts: list[str] = []
        size = 0
        while size <= limit:
            part = self.read()
            if not part:
                return "".join(parts)
            parts.append(part)
            size += len(part)
        self._pending[:0] = parts
        return None

    def unread(self, text: str) -> None:
        self._pending.insert(0, text)

    def drain(self) -> None:
        while self.read():
            pass

    def read(self, size: int = BLOCK) -> str:
        """The document's next text (libyaml's read); "" at its end."""
        if self._pending:
            return self._pending.pop(0)
        return self._next()

    def _next(self) -> str:
        if not self._in_document:
            return ""
        segment = next(self._segments, _END)
        if segment is None or segment is _END:
            self._in_document = False
            self._at_end = segment is _END
            return ""
        self.line += segment.count("\n")
        self.templated = self.templated or "{{" in segment
        self.manifest_like = self.manifest_like or _MANIFEST_WORD.search(segment) is not None
        if self._json is not None:
            self._json.append(segment)
        elif not self._looked:
            self._look(segment)
        return segment

    def _look(self, segment: str) -> None:
        """Keeps the comments before the content (for `# Source:`) and notes JSON documents,
        whose text is kept: libyaml refuses some valid JSON (keys over 1,024 characters, escaped
        surrogate pairs), which the JSON parser then reads."""
        content = _CONTENT.search(segment)
        if content is None:
            if len(self._head) < BLOCK:
                self._head += segment
            return
        self._looked = True
        self._head += segment[: content.start()]
        if content.group(1) in "{[":
            self._json = [segment[content.start(1) :]]

    def json_text(self) -> str | None:
        return "".join(self._json) if self._json is not None else None

    def source(self) -> tuple[str | None, int]:
        """The path of a `# Source:` comment before the document's content, and its line."""
        return _source(self._head, self.start_line)


def _parse_json(text: str | None, start_line: int) -> Document | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    items = [Parsed(item, start_line, EMPTY_LINES) for item in value["items"]] if is_list(value) else None
    return Document(value, start_line, EMPTY_LINES, items)


def _scalar(event: yaml.ScalarEvent, line: int) -> Any:
    value = event.value
    tag = event.tag
    if tag is None or tag == "!":
        if event.style or not event.implicit[0]:
            return interned(value)
        return _plain(value, line)
    if not tag.startswith(_STANDARD_TAG):
        raise ForeignTag(line, tag)
    return _typed(value, tag, line)


def _plain(value: str, line: int = 0) -> Any:
    """A plain scalar's value: a string unless it reads as a null, bool or number."""
    if value and value[0] not in MAYBE_TYPED:
        return WORD_VALUES[value] if value in TYPED_WORDS else interned(value)
    if value.isdecimal() and value.isascii() and len(value) < 19 and (value[0] != "0" or value == "0"):
        return int(value)  # the common case, decided without the resolver's patterns
    if not NUMBER_CHARACTERS.issuperset(value):
        return interned(value)  # `100m`, `128Mi`, `30s`, `--port`: no pattern of the resolver matches
    from yaml.nodes import ScalarNode

    resolver = _resolving()[0]
    return _typed(value, resolver.resolve(ScalarNode, value, (True, False)), line)  # type: ignore[no-untyped-call]


def _typed(value: str, tag: str, line: int) -> Any:
    if tag not in _RESOLVED_TAGS:
        return interned(value)
    if tag in _NUMBER_TAGS and len(value) > MAX_NUMBER_LENGTH:
        raise DocumentError(line, f"a number of {len(value):,} characters is too long to read")
    from yaml.nodes import ScalarNode

    constructor = _resolving()[1]
    try:  # the constructor's own construct_object would cache every node for the process's life
        return constructor.yaml_constructors[tag](constructor, ScalarNode(tag, value))
    except (ValueError, KeyError, TypeError) as exc:
        raise DocumentError(line, f"{value[:40]!r} is not a valid {tag.rpartition(':')[2]}: {exc}") from None


@dataclass(slots=True)
class _Frame:
    container: dict[Any, Any] | list[Any]
    path: str
    """Relative to the object the frame belongs to: the document, or a member of a List."""
    is_map: bool
    line: int
    record: list[tuple[str, int]]
    """(path, line) of every field of that object."""
    size: int = 1
    key: Any = None
    key_line: int = 0
    has_key: bool = False
    anchor: str | None = None


def _parse(documents: _Splitter) -> Document | None:
    """The document read from `documents`, None when it holds only comments: by the line reader
    when it can, else by libyaml."""
    text = documents.whole(BLOCK_READ_LIMIT)
    if text is not None:
        block = read_block(text, documents.start_line, _plain, _LIMITS)
        if block is not None:
            return _document(block, *documents.source())
        documents.unread(text)
    return _parse_events(documents)


def _parse_events(documents: _Splitter) -> Document | None:
    import yaml
    from yaml import (
        AliasEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
    )

    offset = documents.start_line - 1
    stack: list[_Frame] = []
    anchors: dict[str, Any] = {}
    sizes: dict[int, int] = {}
    members: dict[int, _Frame] = {}
    """Frames of the mappings in the top mapping's `items`, which keep their own lines."""
    root: Any = None
    root_frame: _Frame | None = None
    top: _Frame | None = None
    line = documents.start_line
    intern = sys.intern
    # The loop runs once per YAML node of every input: its common cases (a plain or quoted
    # string, a key, a mapping or sequence) are written out inline.
    try:
        next_event = _event_parser()(documents).get_event
        while (event := next_event()) is not None:
            kind = type(event)
            line = event.start_mark.line + 1 + offset
            if kind is ScalarEvent:
                value = event.value
                if event.tag is None and (
                    event.style or (value and value[0] not in MAYBE_TYPED and value not in TYPED_WORDS)
                ):
                    if len(value) <= MAX_INTERNED:
                        value = intern(value)
                else:
                    value = _scalar(event, line)
                if event.anchor:
                    anchors[event.anchor] = value
                if top is None:
                    root = value
                    continue
                if top.is_map and not top.has_key:
                    top.key, top.key_line, top.has_key = value, line, True
                    continue
                key = top.key
                if top.size >= MAX_NODES or (top.is_map and type(key) is not str):
                    top.record.append((_child_path(top), top.key_line if top.is_map else line))
                    _attach(top, value, 1, line)
                elif top.is_map:  # a string key and a scalar: no merge, no unhashable key
                    top.record.append((f"{top.path}.{key}" if top.path else key, top.key_line))
                    top.container[intern(key)] = value  # type: ignore[call-overload]
                    top.size += 1
                    top.has_key = False
                else:
                    top.record.append((f"{top.path}[{len(top.container)}]", line))
                    top.container.append(value)  # type: ignore[union-attr]
                    top.size += 1
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if event.tag and event.tag != "!" and not event.tag.startswith(_STANDARD_TAG):
                    raise ForeignTag(line, event.tag)
                if len(stack) >= MAX_DEPTH:
                    raise DocumentError(line, f"document is nested deeper than {MAX_DEPTH} levels")
                is_map = kind is MappingStartEvent
                container: dict[Any, Any] | list[Any] = {} if is_map else []
                if top is None:
                    frame = _Frame(container, "", is_map, line, [], anchor=event.anchor)
                elif len(stack) == 2 and stack[1].path == "items" and not stack[1].is_map and is_map:
                    frame = _Frame(container, "", is_map, line, [], anchor=event.anchor)
                    members[id(container)] = frame
                else:
                    path = _child_path(top)
                    top.record.append((path, top.key_line if top.is_map else line))
                    frame = _Frame(container, path, is_map, line, top.record, anchor=event.anchor)
                stack.append(frame)
                top = frame
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                frame = stack.pop()
                sizes[id(frame.container)] = frame.size
                if frame.anchor:
                    anchors[frame.anchor] = frame.container
                if not stack:
                    root_frame, top = frame, None
                    continue
                top = stack[-1]
                if not (top.is_map and not top.has_key):
                    _attach(top, frame.container, frame.size, line)
                else:  # a mapping or sequence as a key: refused when its value comes
                    top.key, top.key_line, top.has_key = frame.container, line, True
            elif kind is AliasEvent:
                if event.anchor not in anchors:
                    raise DocumentError(line, f"unknown alias *{event.anchor}")
                value = anchors[event.anchor]
                if top is None:
                    root = value
                    continue
                if top.is_map and not top.has_key:
                    top.key, top.key_line, top.has_key = value, line, True
                    continue
                top.record.append((_child_path(top), top.key_line if top.is_map else line))
                _attach(top, value, sizes.get(id(value), 1), line)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        last = max(documents.line - 1, documents.start_line)  # errors found at the end of input
        where = min(mark.line + 1 + offset, last) if mark is not None else documents.start_line
        raise DocumentError(where, f"YAML syntax error: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise DocumentError(line, f"YAML error: {exc}") from None
    source, source_line = documents.source()
    if root_frame is None:
        return None if root is None else Document(root, documents.start_line, EMPTY_LINES, None, source)
    block = Block(
        root_frame.container,
        root_frame.line,
        root_frame.record,
        {key: (frame.line, frame.record) for key, frame in members.items()},
    )
    return _document(block, source, source_line)


def _document(block: Block, source: str | None, source_line: int) -> Document:
    value = block.value
    if is_list(value):
        items = []
        for index, item in enumerate(value["items"]):
            member = block.members.get(id(item))
            if member is not None:
                line, fields = member
                items.append(Parsed(item, line, SHAPES.line_map(line, fields)))
            else:  # a scalar, a list or an alias
                line = next((n for p, n in block.record if p == f"items[{index}]"), block.line)
                items.append(Parsed(item, line, EMPTY_LINES))
        return Document(value, block.line, EMPTY_LINES, items, source, source_line)
    record = block.record
    if block.members:  # an `items` field of something that is no List: its lines are the document's
        record = list(record)
        for index, item in enumerate(value.get("items") or []):
            member = block.members.get(id(item))
            if member is not None:
                line, fields = member
                record.append((f"items[{index}]", line))
                record += [(f"items[{index}].{path}", n) for path, n in fields]
    return Document(value, block.line, SHAPES.line_map(block.line, record), None, source, source_line)


def _child_path(top: _Frame) -> str:
    if top.is_map:
        key = str(top.key)
        return f"{top.path}.{key}" if top.path else key
    return f"{top.path}[{len(top.container)}]"


def _attach(top: _Frame, value: Any, size: int, line: int) -> None:
    top.size += size
    if top.size > MAX_NODES:
        raise DocumentError(line, f"document expands to more than {MAX_NODES:,} nodes (YAML alias bomb?)")
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
    if isinstance(key, str):
        key = sys.intern(key)
    try:
        container[key] = value
    except TypeError:
        raise DocumentError(top.key_line, f"mapping key {key!r} is not a scalar") from None
