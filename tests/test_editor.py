"""The editor writes each kind of edit in the style of its surroundings and leaves the rest of the
text byte for byte."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import yaml

from webhook.editor import EditError, Region, Replacement, Source, SourceError, Target, apply, region
from webhook.findings import Autofix, Edit, FieldPath, Safety

SERVICE = """\
# the shop's services
apiVersion: v1
kind: Service
metadata:
  name: web   # public
  annotations:
    sidecar.istio.io/inject: 'false'
spec:
  ports:
  - port: 9080

  # the admin port
  - name: admin
    port: 8080
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
"""


def fixed(text: str, *edits: Edit, line: int = 2) -> str:
    source = Source(text)
    replacements = source.replacements(Target(line, "", ""), Autofix("t", edits, Safety.SAFE))
    result = apply(text, replacements)
    Source(result)  # still YAML
    return result


def loaded(text: str) -> list[object]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def test_adding_a_key_writes_it_after_its_siblings_at_their_indentation() -> None:
    result = fixed(SERVICE, Edit(("spec", "ports", 0, "name"), None, "http"))
    assert result == SERVICE.replace("  - port: 9080\n", "  - port: 9080\n    name: http\n")


def test_replacing_a_scalar_keeps_its_quotes() -> None:
    result = fixed(SERVICE, Edit(("metadata", "annotations", "sidecar.istio.io/inject"), "false", "true"))
    assert result == SERVICE.replace("'false'", "'true'")


def test_new_strings_are_quoted_only_when_plain_would_read_back_as_another_type() -> None:
    text = "a: 1\n"
    result = fixed(
        text,
        Edit(("b",), None, "false"),
        Edit(("c",), None, "5s"),
        Edit(("d",), None, "5"),
        Edit(("e",), None, 5),
        Edit(("f",), None, True),
        Edit(("g",), None, "istio-system/public-gateway"),
        Edit(("h",), None, "a: b"),
        line=1,
    )
    assert (
        result
        == 'a: 1\nb: "false"\nc: 5s\nd: "5"\ne: 5\nf: true\ng: istio-system/public-gateway\nh: "a: b"\n'
    )
    assert loaded(result) == [
        {"a": 1, "b": "false", "c": "5s", "d": "5", "e": 5, "f": True, "g": "istio-system/public-gateway"}
        | {"h": "a: b"}
    ]


def test_adding_under_missing_maps_creates_them_once() -> None:
    result = fixed(
        SERVICE,
        Edit(("spec", "template", "metadata", "labels", "sidecar.istio.io/inject"), None, "false"),
        Edit(("spec", "template", "metadata", "labels", "app"), None, "web"),
    )
    added = "  template:\n    metadata:\n      labels:\n"
    added += '        sidecar.istio.io/inject: "false"\n        app: web\n'
    assert result == SERVICE.replace("    port: 8080\n", "    port: 8080\n" + added)


def test_removing_the_last_key_of_a_map_removes_the_map() -> None:
    result = fixed(SERVICE, Edit(("metadata", "annotations", "sidecar.istio.io/inject"), "false", None))
    assert result == SERVICE.replace("  annotations:\n    sidecar.istio.io/inject: 'false'\n", "")


def test_removing_the_first_key_of_a_list_item_moves_the_next_one_up() -> None:
    result = fixed(SERVICE, Edit(("spec", "ports", 1, "name"), "admin", None))
    assert result == SERVICE.replace("  - name: admin\n    port: 8080", "  - port: 8080")


def test_appending_to_a_block_list_and_to_a_flow_list() -> None:
    block = fixed(
        "spec:\n  gateways:\n  - public  # edge\n", Edit(("spec", "gateways", 1), None, "mesh"), line=1
    )
    assert block == "spec:\n  gateways:\n  - public  # edge\n  - mesh\n"
    flow = fixed("spec:\n  gateways: [public]\n", Edit(("spec", "gateways", 1), None, "mesh"), line=1)
    assert flow == "spec:\n  gateways: [public, mesh]\n"


def test_a_list_or_map_as_new_value_is_written_in_the_documents_layout() -> None:
    text = "spec:\n    hosts:\n        - a\n    http:\n        - match:\n              - uri: {prefix: /a}\n"
    route = {"route": [{"destination": {"host": "a"}}]}
    result = fixed(text, Edit(("spec", "http", 1), None, route), line=1)
    assert result == text + "        - route:\n              - destination:\n                    host: a\n"
    assert loaded(result)[0]["spec"]["http"][1] == route  # type: ignore[index]


def test_a_null_field_gets_its_value() -> None:
    text = "metadata:\n  annotations:\n  name: x\n"
    result = fixed(text, Edit(("metadata", "annotations", "a"), None, "b"), line=1)
    assert result == "metadata:\n  annotations:\n    a: b\n  name: x\n"


def test_json_stays_json_in_its_own_layout() -> None:
    text = json.dumps(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {}}, indent=2
    )
    result = fixed(
        text,
        Edit(("spec", "ports"), None, [{"port": 80, "name": "http"}]),
        Edit(("metadata", "annotations", "a"), None, "5"),
        line=1,
    )
    assert json.loads(result) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x", "annotations": {"a": "5"}},
        "spec": {"ports": [{"port": 80, "name": "http"}]},
    }
    assert result.startswith(
        '{\n  "apiVersion": "v1",\n  "kind": "Service",\n  "metadata": {\n    "name": "x",\n'
    )


def test_flow_maps_lose_and_gain_entries_in_place() -> None:
    text = "a: {x: 1, y: 2, z: 3}  # keep\n"
    result = fixed(text, Edit(("a", "x"), 1, None), Edit(("a", "w"), None, "yes"), line=1)
    assert result == 'a: {y: 2, z: 3, w: "yes"}  # keep\n'


def test_the_object_is_found_by_its_line_in_a_multi_document_file() -> None:
    result = fixed(SERVICE, Edit(("metadata", "labels"), None, {"app": "c"}), line=16)
    assert result == SERVICE.replace("metadata: {name: c}", "metadata: {name: c, labels: {app: c}}")


def test_windows_line_ends_stay() -> None:
    text = "a:\r\n  b: 1\r\n"
    assert fixed(text, Edit(("a", "c"), None, 2), line=1) == "a:\r\n  b: 1\r\n  c: 2\r\n"


def test_an_edit_whose_old_value_is_not_there_is_refused() -> None:
    with pytest.raises(EditError, match="is not"):
        fixed(SERVICE, Edit(("spec", "ports", 0, "port"), 80, 8080))
    with pytest.raises(EditError, match="already set"):
        fixed(SERVICE, Edit(("spec", "ports", 0, "port"), None, 80))


def test_a_document_with_anchors_is_not_edited() -> None:
    text = "a: &x {b: 1}\nc: *x\n"
    with pytest.raises(EditError, match="anchors"):
        fixed(text, Edit(("a", "b"), 1, 2), line=1)


def test_text_that_does_not_parse_is_refused() -> None:
    with pytest.raises(SourceError) as raised:
        Source("a: [1\nb: 2\n")
    assert raised.value.line == 2


def test_regions_count_lines_and_columns_from_one() -> None:
    text = "a: 1\nbc: 2\n"
    assert region(text, Replacement(9, 10, "3")) == Region(2, 5, 2, 6, "3")
    assert region(text, Replacement(4, 4, "\nd: 4")) == Region(1, 5, 1, 5, "\nd: 4")


def test_overlapping_replacements_are_told_apart() -> None:
    assert Replacement(1, 5, "").overlaps(Replacement(3, 8, ""))
    assert Replacement(4, 4, "x").overlaps(Replacement(4, 4, "y"))
    assert Replacement(4, 4, "x").overlaps(Replacement(2, 6, ""))
    assert not Replacement(1, 3, "").overlaps(Replacement(3, 5, ""))


def test_text_outside_the_edits_is_byte_for_byte() -> None:
    result = fixed(dedent(SERVICE), Edit(("spec", "ports", 1, "appProtocol"), None, "http"))
    before, after = SERVICE.splitlines(keepends=True), result.splitlines(keepends=True)
    assert [line for line in after if line not in before] == ["    appProtocol: http\n"]
    assert [line for line in after if line != "    appProtocol: http\n"] == before


def _fields(value: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _fields(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _fields(item, (*path, index))


def _edits(data: dict[str, Any]) -> Iterator[Edit]:
    """One edit of each kind for each field of `data`."""
    for path, value in _fields(data):
        if not path:
            continue
        if isinstance(value, dict):
            yield Edit((*path, "added"), None, {"hosts": ["a", "5s"], "enabled": "false"})
        elif isinstance(value, list):
            yield Edit((*path, len(value)), None, {"route": [{"destination": {"host": "h"}}]})
            yield Edit((*path, len(value)), None, "mesh")
        elif value is not None:
            yield Edit(path, value, "istio-system/gw: 1")
            yield Edit(path, value, 42)
            yield Edit(path, value, None)


def _expected(data: dict[str, Any], edit: Edit) -> dict[str, Any]:
    """`data` with `edit` made as the Edit's semantics say."""
    result = copy.deepcopy(data)
    *head, last = edit.path
    parent: Any = result
    for key in head:
        parent = parent[key]
    if edit.new is not None and isinstance(parent, list) and last == len(parent):
        parent.append(edit.new)
    elif edit.new is not None:
        parent[last] = edit.new
    else:
        del parent[last]
        while head:  # a map or list item the removal leaves empty goes too
            *head, last = head
            parent = result
            for key in head:
                parent = parent[key]
            if parent[last]:
                break
            del parent[last]
    return result


CORPUS = [
    p
    for directory in ("examples", "tests/conformance", "tests/istio_samples")
    for p in sorted((Path(__file__).resolve().parent.parent / directory).rglob("*.y*ml"))
]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_every_kind_of_edit_on_real_manifests_loads_back_as_the_edit_says(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    source = Source(text)
    documents = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None]
    nodes = [n for n in source._documents if n.tag != "tag:yaml.org,2002:null"]
    picks = random.Random(path.name)
    for index, (node, data) in enumerate(zip(nodes, documents, strict=True)):
        if not isinstance(data, dict):
            continue
        edits = list(_edits(data))
        for edit in picks.sample(edits, min(len(edits), 12)):
            target = Target(node.start_mark.line + 1, "", "")
            result = apply(text, source.replacements(target, Autofix("t", (edit,), Safety.SAFE)))
            after = [d for d in yaml.load_all(result, Loader=yaml.CSafeLoader) if d is not None]
            assert after[index] == _expected(data, edit), edit
            assert after[:index] + after[index + 1 :] == documents[:index] + documents[index + 1 :]
