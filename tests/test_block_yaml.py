"""The line reader (webhook.block_yaml) against libyaml, the reference: for every document it
reads, the same values (types included), field lines, List members and errors; for every shape it
leaves, libyaml's reading."""

from __future__ import annotations

import io
import random
import time
from pathlib import Path
from typing import Any

import pytest

import webhook.documents
from webhook.block_yaml import Limits, read_block
from webhook.documents import MAX_DEPTH, MAX_NODES, NUMBER_CHARACTERS, DocumentError, _plain, read_documents

TESTS = Path(__file__).parent
LIMITS = Limits(MAX_DEPTH, MAX_NODES)


def _summary(document: Any) -> Any:
    if isinstance(document, DocumentError):
        return ("error", type(document).__name__, document.line, document.message, document.manifest_like)
    items = document.items and [(repr(p.value), p.line, sorted(p.lines.items())) for p in document.items]
    fields = sorted(document.lines.items())
    return (repr(document.value), document.line, fields, items, document.source, document.source_line)


def _read(data: bytes, monkeypatch: pytest.MonkeyPatch, *, line_reader: bool) -> list[Any]:
    with monkeypatch.context() as patch:
        if not line_reader:
            patch.setattr(webhook.documents, "BLOCK_READ_LIMIT", -1)  # every document to libyaml
        return [_summary(d) for d in read_documents(io.BytesIO(data), len(data))]


def _line_read(text: str) -> bool:
    return read_block(text, 1, _plain, LIMITS) is not None


YAML_FILES = sorted(p for p in TESTS.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())


def test_every_yaml_file_the_tests_carry_reads_as_libyaml_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(YAML_FILES) > 50
    read = 0
    total = 0
    for path in YAML_FILES:
        data = path.read_bytes()
        assert _read(data, monkeypatch, line_reader=True) == _read(data, monkeypatch, line_reader=False), path
        for document in data.decode("utf-8", "replace").split("\n---"):
            total += 1
            read += _line_read(document)
    assert read > total / 2  # the comparison is not vacuous: most documents take the line reader


READ = {
    "comments and blank lines anywhere": "a: 1 # one\n\n   # odd indent\nb:   two  # two\n#\nc: x#y\n",
    "quoted strings": "a: 'it''s'\nb: \"x # not a comment\"\nc: '' # empty\nd: \"\"\ne: 'a: b'\n",
    "YAML 1.1 types": "a: yes\nb: Off\nc: ~\nd: 0x1F\ne: 1e3\nf: .5\ng: 1.10\nh: -1\ni: 010\nj: +12\n",
    "dates and versions": "a: 2001-12-14\nb: v1.2\nc: 1.2.3\nd: 12:30:00\ne: 190:20:30\n",
    "strings that look like other things": "a: null-ish\nb: http://x:80/y\nc: a:b\nd: -x\ne: ?x\nf: :x\n",
    "nulls": "a:\nb: # nothing\nc:\n  d:\ne:\n",
    "indentless and indented sequences": "a:\n- 1\n- x\nb:\n  - y\n  -   z: 1\n      w: 2\n",
    "a mapping item on the dash's line and after it": "a:\n- name: x\n  port: 80\n-\n  name: y\n",
    "empty flow collections": "a: {}\nb: []\nc:\n- {}\n- [] # none\nd: [ ]\n",
    "one-line flow mappings": "meta: {name: a, ns: 'b', x: 1, y: yes,}  # c\nspec:\n- {port: 80}\ne: { }\n",
    "one-line flow sequences": "a: [x, 'y''s', \"z #1\", 1, true, ~, -1, -x, a b ]  # ok\nb:\n- [p,]\n",
    "literal block strings": "a: |\n  one\n    two\n\n  three\n\n\nb: |-\n  x\n  y\nc: |  # keep\n  z\n",
    "folded block strings": "a: >\n  one\n  two\n\n  three\n\n\n  four\n\nb: >-\n  x\n  y\nc:\n- >\n  z\n",
    "literal strings in a sequence": "a:\n- |\n  one\n- |-\n  two\nb: 1\n",
    "duplicate keys": "a: 1\nb: 2\na: {}\n",
    "a List": "apiVersion: v1\nkind: List\nitems:\n- kind: A\n  metadata:\n    name: a\n- kind: B\n",
    "an items field of a non-List": "kind: Thing\nitems:\n- a: 1\n",
    "a root sequence": "- a\n- b: 1\n  c: 2\n",
    "an indented root": "  a: 1\n  b:\n    c: 2\n",
    "unicode": "a: héllo wörld ✓\nb: '日本'\n",
    "JSON in a double-quoted string": 'status: "{\\"containers\\":[\\"istio-proxy\\"],\\"x\\":null}"  # c\n',
    "the escapes read here": 'a: "\\"\\\\\\/\\n\\t"\nb: "C:\\\\temp\\\\"\nc: "tab\\there"\n',
}

LEFT_TO_LIBYAML = {
    "a flow sequence over lines": "a: [1,\n  2]\n",
    "a nested flow sequence": "a: [[1], 2]\n",
    "a flow sequence with a mapping": "a: [b: 1]\n",
    "a flow sequence with an escape": 'a: ["\\t"]\n',
    "a flow sequence with a colon or hash in a plain item": "a: [b:c, d#e]\n",
    "a flow sequence with an empty item": "a: [b, , c]\n",
    "a nested flow mapping": "a: {b: {c: 1}}\n",
    "a flow mapping with a key alone": "a: {b, c: 1}\n",
    "a flow mapping with a boolean key": "a: {on: 1}\n",
    "a flow mapping with a quoted key": 'a: {"b": 1}\n',
    "a flow mapping with an empty value": "a: {b: }\n",
    "a flow mapping over lines": "a: {b: 1,\n  c: 2}\n",
    "a flow mapping with a list": "a: {b: [1]}\n",
    "anchors and aliases": "a: &x 1\nb: *x\n",
    "tags": "a: !!str 1\n",
    "folded strings with lines indented further": "a: >\n  one\n    two\n  three\n",
    "folded strings with trailing spaces": "a: >\n  one \n  two\n",
    "keep chomping": "a: |+\n  one\n\n",
    "an indentation indicator": "a: |2\n   one\n",
    "a literal string without a final line break": "a: |\n  one",
    "a literal string with leading blank lines": "a: |\n\n  one\n",
    "a multi-line plain string": "a: one\n  two\n",
    "a multi-line quoted string": "a: 'one\n  two'\n",
    "other escapes": 'a: "\\x41"\n',
    "a unicode escape": 'a: "caf\\u00e9"\n',
    "an escaped line break": 'a: "one\\\n  two"\n',
    "tabs": "a:\tb\n",
    "CR line ends": "a: 1\r\nb: 2\r\n",
    "quoted keys": '"a": 1\n',
    "a key that is a boolean": "name: ci\non: push\n",
    "a key that is a boolean in a sequence's mapping": "- on: push\n",
    "a key that is a number": "ports:\n  80: http\n",
    "a key that is null": "a:\n  null: x\n",
    "complex keys": "? a\n: b\n",
    "nested sequences on one line": "- - a\n",
    "an empty sequence item": "a:\n-\n- b\n",
    "a scalar document": "just text\n",
    "a mapping where a string must be": "a: b: c\n",
    "text after a quoted string": "a: 'b' c\n",
    "a second root": "a: 1\n b: 2\nc: 3\n",
    "a List member that is not a key: value": "kind: List\nitems:\n- a\n",
    "a number too long to read": "a: 1" + "0" * 5000 + "\n",
}


@pytest.mark.parametrize("text", READ.values(), ids=READ.keys())
def test_the_line_reader_reads_as_libyaml(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _line_read(text)
    data = text.encode()
    assert _read(data, monkeypatch, line_reader=True) == _read(data, monkeypatch, line_reader=False)


@pytest.mark.parametrize("text", LEFT_TO_LIBYAML.values(), ids=LEFT_TO_LIBYAML.keys())
def test_other_shapes_are_left_to_libyaml(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _line_read(text)
    data = text.encode()
    assert _read(data, monkeypatch, line_reader=True) == _read(data, monkeypatch, line_reader=False)


@pytest.mark.parametrize("escape", [chr(c) for c in range(0x20, 0x7F)])
def test_every_escape_reads_as_libyaml_reads_it(escape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = f'a: "x\\{escape}y"\nb: "\\{escape}"\n'.encode()
    assert _read(data, monkeypatch, line_reader=True) == _read(data, monkeypatch, line_reader=False)


ASCII_CONTROLS = [*range(0x00, 0x0A), *range(0x0B, 0x20), 0x7F]
"""Every ASCII character but the printable ones and the line break."""


@pytest.mark.parametrize("code", ASCII_CONTROLS, ids=[f"{c:#04x}" for c in ASCII_CONTROLS])
def test_every_ascii_control_but_the_line_break_is_left_to_libyaml(code: int) -> None:
    assert read_block(f"a: 'b{chr(code)}c'\n", 1, _plain, LIMITS) is None


def test_every_printable_ascii_character_is_read_here() -> None:
    for code in range(0x20, 0x7F):
        if chr(code) != "'":
            block = read_block(f"a: 'b{chr(code)}c'\n", 1, _plain, LIMITS)
            assert block is not None and block.value == {"a": f"b{chr(code)}c"}, chr(code)


def test_field_lines_of_a_line_read_document() -> None:
    text = "# head\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - name: http\n\n    port: 80\n"
    block = read_block(text, 10, _plain, LIMITS)
    assert block is not None
    assert block.line == 11
    assert dict(block.record) == {
        "kind": 11,
        "metadata": 12,
        "metadata.name": 13,
        "spec": 14,
        "spec.ports": 15,
        "spec.ports[0]": 16,
        "spec.ports[0].name": 16,
        "spec.ports[0].port": 18,
    }


def test_nesting_past_the_limit_is_left_to_libyaml() -> None:
    keys = "".join(f"{'  ' * depth}k:\n" for depth in range(MAX_DEPTH + 1))
    deep = keys + f"{'  ' * (MAX_DEPTH + 1)}v: 1\n"
    assert not _line_read(deep)
    [document] = read_documents(io.BytesIO(deep.encode()), len(deep))
    assert isinstance(document, DocumentError)
    assert "nested deeper" in document.message


def test_text_outside_the_number_characters_is_never_a_number() -> None:
    """`100m`, `128Mi` and `30s` skip PyYAML's resolver: no null, int or float pattern admits them."""
    from yaml.nodes import ScalarNode
    from yaml.resolver import Resolver

    resolver = Resolver()
    alphabet = sorted(NUMBER_CHARACTERS) + list("mMsGKiptoyuOlL ,/%")
    generator = random.Random(1)
    for _ in range(50_000):
        text = generator.choice("-+.0123456789~") + "".join(
            generator.choice(alphabet) for _ in range(generator.randint(0, 6))
        )
        tag = resolver.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
        if not NUMBER_CHARACTERS.issuperset(text):
            assert tag.rpartition(":")[2] not in {"null", "bool", "int", "float"}, text
            assert _plain(text) == text


def test_documents_past_the_node_limit_are_left_to_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook.documents, "MAX_NODES", 1_000)
    monkeypatch.setattr(webhook.documents, "_LIMITS", Limits(MAX_DEPTH, 1_000))
    text = "items:\n" + "- 1\n" * 1_000
    assert read_block(text, 1, _plain, Limits(MAX_DEPTH, 1_000)) is None
    [document] = read_documents(io.BytesIO(text.encode()), len(text))
    assert isinstance(document, DocumentError)
    assert "more than 1,000 nodes" in document.message


MUTATIONS = [" ", "  ", "-", "- ", ":", ": ", "#", " #", "'", '"', "|", "|-", ">", "\n", "\n  ", "\n- "]
MUTATIONS += ["a", "1", "~", "yes", "on", "0x1", "{}", "[]", "[a, 'b']", "[1,", "]", ", ", "&a", "*a"]
MUTATIONS += ["{a: b}", "{a: 1,", "}", "{", " {x: 'y'}", ">-", ": >\n  a\n  b"]
MUTATIONS += ["!", "\\", "\t", "\r", "\u2028", "\ufeff", "é"]


def test_damaged_documents_read_as_libyaml_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each case: a file the tests carry with a few characters inserted, deleted or lines repeated
    or removed, so that every shape near the reader's edges comes up (a fixed seed)."""
    sources = [p.read_text(encoding="utf-8") for p in YAML_FILES if p.stat().st_size < 4000]
    generator = random.Random(7)
    for _ in range(600):
        lines = generator.choice(sources).split("\n")
        for _ in range(generator.randint(1, 4)):
            at = generator.randrange(len(lines))
            line, where = lines[at], generator.randint(0, len(lines[at]))
            change = generator.random()
            if change < 0.4:
                lines[at] = line[:where] + generator.choice(MUTATIONS) + line[where:]
            elif change < 0.6:
                lines[at] = line[:where] + line[where + 1 :]
            elif change < 0.8:
                lines.insert(at, generator.choice(lines))
            elif len(lines) > 1:
                del lines[at]
        data = "\n".join(lines).encode()
        assert _read(data, monkeypatch, line_reader=True) == _read(data, monkeypatch, line_reader=False), data


def test_flow_collections_that_do_not_match_fail_fast() -> None:
    """Each line would take hours with a pattern that backtracks through the ways to split the
    spaces around its items (it took seconds for 10 items of 3 spaces, growing 4× per item)."""
    items = ("x   ," * 40) + "x   "
    pairs = ("a: x   ," * 40) + "a: x   "
    spaced, quotes = "a " * 20_000, "''" * 20_000
    text = f"a: [{items}]]\nb: {{{pairs}}}}}\nc: [{spaced}]]\nd: ['{quotes}]\n"
    started = time.process_time()
    assert not _line_read(text)
    list(read_documents(io.BytesIO(text.encode()), len(text)))
    assert time.process_time() - started < 5  # generous: linear, it takes milliseconds
