"""The JSON report is written in pieces, a batch of findings at a time, and reads as one document
exactly as orjson writes it whole."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import orjson

from webhook.commands import main
from webhook.output.json_report import FINDINGS_AT_ONCE

UNNAMED_PORT = """\
apiVersion: v1
kind: Service
metadata:
  name: svc-{i}
  namespace: shop
spec:
  selector: {{app: svc-{i}}}
  ports:
  - port: 80
---
"""


def _report(path: Path) -> bytes:
    out = io.StringIO()
    with redirect_stdout(out):
        main(["check", "--format", "json", "--fail-on", "never", str(path)])
    return out.getvalue().encode()


def test_a_report_written_in_pieces_is_the_document_orjson_writes_whole(tmp_path: Path) -> None:
    count = 2 * FINDINGS_AT_ONCE + 3
    path = tmp_path / "services.yaml"
    path.write_text("".join(UNNAMED_PORT.format(i=i) for i in range(count)))
    written = _report(path)
    document = orjson.loads(written)
    assert len(document["findings"]) == count
    assert [f["object"]["name"] for f in document["findings"]] == [f"svc-{i}" for i in range(count)]
    assert written == orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def test_a_report_without_findings_is_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "service.yaml"
    path.write_text(UNNAMED_PORT.format(i=0).replace("- port: 80", "- name: http\n    port: 80"))
    written = _report(path)
    document = orjson.loads(written)
    assert document["findings"] == [] and document["summary"]["deny"] == 0
    assert written == orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
