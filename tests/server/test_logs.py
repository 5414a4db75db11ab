"""Log lines: the decision lines, written without the logging module, read like every other line."""

from __future__ import annotations

import datetime
import logging

import orjson
import pytest

from webhook.server.admission import Decision, Verdict
from webhook.server.logs import DecisionLog, JsonFormatter
from webhook.server.review import parse_review


@pytest.mark.parametrize(
    "created",
    [
        1700000000.0,
        1700000000.0015,
        1665848727.0009995,  # rounds up to the next millisecond at the microsecond
        1700000059.9999996,  # rounds up to the next minute
        1725014137.4809995,
    ],
)
def test_times_are_utc_milliseconds_as_datetime_writes_them(created: float) -> None:
    record = logging.LogRecord("meshwarden.server", logging.INFO, __file__, 1, "worker loaded", None, None)
    record.created = created
    line = orjson.loads(JsonFormatter().format(record))
    expected = datetime.datetime.fromtimestamp(created, datetime.UTC).isoformat(timespec="milliseconds")
    assert line["time"] == expected


def test_a_decision_line_has_the_fields_of_every_other_line(capsys: pytest.CaptureFixture[str]) -> None:
    request = parse_review(
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {"uid": "u-1", "kind": {"kind": "Pod"}, "operation": "DELETE", "namespace": "shop"},
        }
    )
    before = datetime.datetime.now(datetime.UTC)
    DecisionLog().write(request, Verdict(Decision.SKIP, message="DELETE is not checked"), 0.0012345)
    after = datetime.datetime.now(datetime.UTC)
    written = capsys.readouterr().err
    assert written.endswith("\n") and written.count("\n") == 1
    line = orjson.loads(written)
    assert list(line)[:4] == ["time", "level", "logger", "message"]
    assert (
        before - datetime.timedelta(milliseconds=1) <= datetime.datetime.fromisoformat(line["time"]) <= after
    )
    assert {
        k: line[k] for k in ("level", "logger", "message", "uid", "decision", "reason", "duration_ms")
    } == {
        "level": "info",
        "logger": "meshwarden.admission",
        "message": "admission decision",
        "uid": "u-1",
        "decision": "skip",
        "reason": "DELETE is not checked",
        "duration_ms": 1.234,
    }
