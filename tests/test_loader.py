"""Reading manifests: line numbers, multi-document streams, lists, JSON, hostile input."""

import time

import pytest
import yaml

from webhook.documents import MAX_DEPTH
from webhook.loader import load_text

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - name: http
    port: 80
  - port: 81
"""


def test_field_lines_follow_the_source() -> None:
    [service], errors = load_text(SERVICE, "svc.yaml")
    assert errors == []
    assert service.origin is not None
    assert service.origin.line == 1
    assert service.origin.line_of("spec.ports[1]") == 9
    assert service.origin.line_of("spec.ports[0].port") == 8
    assert service.origin.line_of("spec.ports[7].name") == 6  # unknown paths fall back to the parent


def test_objects_default_to_the_given_namespace_and_keep_their_own() -> None:
    text = SERVICE + "---\n" + SERVICE.replace("name: web", "name: api\n  namespace: shop")
    resources, _ = load_text(text, "x.yaml", "team")
    assert [(r.namespace, r.name) for r in resources] == [("team", "web"), ("shop", "api")]
    assert resources[1].origin is not None and resources[1].origin.line == 11


def test_a_broken_document_does_not_hide_the_others() -> None:
    text = SERVICE + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: [oops\n---\n" + SERVICE
    resources, errors = load_text(text, "x.yaml")
    assert len(resources) == 2
    assert [(e.line, e.message.split(":")[0]) for e in errors] == [(13, "YAML syntax error")]
    assert resources[1].origin is not None and resources[1].origin.line == 15


def test_documents_that_are_not_objects_are_errors_with_lines() -> None:
    text = "- a\n- b\n---\nkind: Service\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Service\n"
    resources, errors = load_text(text, "x.yaml")
    assert resources == []
    assert [(e.line, e.message) for e in errors] == [
        (1, "not a Kubernetes object: expected a mapping with apiVersion and kind, found a list"),
        (4, "not a Kubernetes object: missing 'apiVersion'"),
        (7, "not a Kubernetes object: Service has no metadata.name"),
    ]


def test_lists_are_flattened_with_item_lines() -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        f"- apiVersion: v1\n  kind: Service\n  metadata:\n    name: s{i}\n"
        "  spec:\n    ports: [{port: 80}]\n"
        for i in range(2)
    )
    resources, errors = load_text(text, "list.yaml")
    assert errors == []
    assert [(r.name, r.origin.line if r.origin else 0) for r in resources] == [("s0", 4), ("s1", 10)]
    assert resources[1].origin is not None and resources[1].origin.line_of("spec.ports[0]") == 15


def test_json_is_read_with_lines_and_tabs_fall_back_to_the_json_parser() -> None:
    text = '{\n  "apiVersion": "v1",\n  "kind": "Service",\n  "metadata": {"name": "j"}\n}\n'
    [resource], errors = load_text(text, "x.json")
    assert errors == [] and resource.origin is not None and resource.origin.line_of("metadata") == 4
    [tabbed], errors = load_text(text.replace("  ", "\t"), "x.json")
    assert errors == [] and tabbed.name == "j"


def test_scalars_resolve_like_kubernetes_yaml() -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: 1, b: 'on', c: on, d: 2024-01-01}\n"
    )
    [resource], _ = load_text(text, "x.yaml")
    assert resource.body["data"] == {"a": 1, "b": "on", "c": True, "d": "2024-01-01"}


PLAIN_SCALARS = [
    *(v for w in ("null", "true", "false", "yes", "no", "on", "off") for v in (w, w.capitalize(), w.upper())),
    *("nULL", "tRUE", "oN", "n", "y", "t", "f", "o", "~", "nope", "Tru", "onward", "offset", "NO_PROXY"),
    *("yes!", "true-ish", "TCP", "fooBar", "0", "7", "08", "0o17", "0x1F", "1_000", "1.5", "1e3", "-1"),
    *("+12", ".inf", ".NaN", "190:20:30", "3s", "100m", "istio-proxy"),
]


@pytest.mark.parametrize("plain", PLAIN_SCALARS)
def test_plain_scalars_are_typed_as_pyyaml_types_them(plain: str) -> None:
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata:\n  v: {plain}\n  {plain}: k\n"
    [resource], errors = load_text(text, "x.yaml")
    expected = yaml.safe_load(text)["data"]
    assert errors == []
    assert resource.body["data"] == expected
    assert [type(k) for k in resource.body["data"]] == [type(k) for k in expected]


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev = chr(ord("a") + i - 1)
        lines.append(f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [" + ", ".join([f"*{prev}"] * 10) + "]")
    started = time.process_time()
    resources, errors = load_text("\n".join(lines) + "\n", "bomb.yaml")
    assert resources == []
    assert "alias bomb" in errors[0].message
    assert time.process_time() - started < 5  # generous: expansion would take hours


def test_deep_nesting_is_refused() -> None:
    resources, errors = load_text("[" * 100_000 + "]" * 100_000, "deep.yaml")
    assert resources == []
    assert len(errors) == 1
    assert "nest" in errors[0].message
    shallow = "a: " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2)
    assert "nested deeper" not in str(load_text(shallow, "ok.yaml")[1])


def test_merge_keys_and_anchors_work() -> None:
    text = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: m, labels: &l {app: web}}\n"
        "spec:\n  selector: *l\n  extra:\n    <<: {a: 1}\n    b: 2\n"
    )
    [resource], errors = load_text(text, "x.yaml")
    assert errors == []
    assert resource.spec == {"selector": {"app": "web"}, "extra": {"a": 1, "b": 2}}
