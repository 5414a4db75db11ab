"""Istio's own analyzer cases, mapped to Meshwarden codes, must score perfectly.

The cases live in tests/conformance/istio (see its README for their origin and format); each runs
`meshwarden check` as a user would and compares the findings in scope with the expectations.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from webhook.commands import main

CASES_DIR = Path(__file__).resolve().parent / "conformance" / "istio"
CASES: list[dict[str, Any]] = json.loads((CASES_DIR / "expected.json").read_text())["cases"]

Key = tuple[str, str, str, str]  # code, kind, namespace, name


def _key(code: str, kind: str, namespace: str | None, name: str) -> Key:
    return (code.upper(), kind, namespace or "default", name)


def expected(case: dict[str, Any]) -> Counter[Key]:
    return Counter(
        {
            _key(e["code"], e["kind"], e.get("namespace"), e["name"]): e.get("count", 1)
            for e in case.get("expect", [])
        }
    )


def found(case: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Counter[Key]:
    argv = ["check", "--format", "json", "--fail-on", "never"]
    for path in case.get("context", []):
        argv += ["--context", path]
    assert main([*argv, *case.get("args", []), *case["files"]]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == []
    codes = {c.upper() for c in case["codes"]}
    return Counter(
        _key(f["code"], f["object"]["kind"], f["object"]["namespace"], f["object"]["name"])
        for f in report["findings"]
        if not f["suppressed"] and f["code"] in codes
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_istio_case_scores_perfectly(
    case: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CASES_DIR)
    want, got = expected(case), found(case, capsys)
    assert {"missing": sorted((want - got).elements()), "unexpected": sorted((got - want).elements())} == {
        "missing": [],
        "unexpected": [],
    }, case.get("note", "")


def test_every_case_file_is_in_the_repository() -> None:
    for case in CASES:
        for path in [*case["files"], *case.get("context", [])]:
            assert (CASES_DIR / path).is_file(), f"{case['name']}: {path}"
