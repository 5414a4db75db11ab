"""The README's example output is what `meshwarden check` really prints."""

import os
from pathlib import Path

import pytest

from webhook.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_readme_example_matches_real_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["check", "--color", "never", os.path.join("examples", "bookinfo", "")]) == 1
    output = capsys.readouterr().out
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"$ meshwarden check examples/bookinfo/\n{output}```" in readme
