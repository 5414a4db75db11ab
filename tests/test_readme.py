"""The README's example outputs are what `meshwarden check` and `meshwarden fix` really print."""

import os
import shutil
from pathlib import Path

import pytest

from webhook.commands import main
from webhook.docs import inputs_table

ROOT = Path(__file__).resolve().parent.parent


def test_readme_example_matches_real_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["check", "--color", "never", os.path.join("examples", "bookinfo", "")]) == 1
    output = capsys.readouterr().out
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"$ meshwarden check examples/bookinfo/\n{output}```" in readme


def test_readme_table_of_the_rules_inputs_is_current() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert inputs_table() in readme, "README.md's table of rule inputs is stale: run `make docs`"


def test_readme_fix_example_matches_real_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ROOT / "examples" / "bookinfo", tmp_path / "examples" / "bookinfo")
    monkeypatch.chdir(tmp_path)
    target = os.path.join("examples", "bookinfo", "")
    assert main(["fix", "--diff", "--color", "never", target]) == 1
    diff = capsys.readouterr().out
    assert main(["fix", "--color", "never", target]) == 1
    captured = capsys.readouterr()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"$ meshwarden fix examples/bookinfo/\n{captured.err}{captured.out}```" in readme
    assert f"```diff\n{diff}```" in readme
