"""What a right answer to a fuzzed body is, and the tally of a run.

Right answers: HTTP 200 with an AdmissionReview in the request's apiVersion echoing its uid (and
only for a body that is a review), or HTTP 400/413 with a JSON error (never for an intact review).
A 200 that carries Meshwarden's own failure (a rule that crashed, a check that failed) is an
engine error: the object went through unchecked.
"""

from __future__ import annotations

import math
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.fuzz.bodies import NOT_JSON, Case
from webhook.findings import INTERNAL_ERROR_CODE
from webhook.server.app import INTERNAL_ERROR_WARNING
from webhook.server.messages import MAX_WARNING_CHARS

PROBLEMS = (
    "5xx",
    "wrong uid",
    "wrong apiVersion",
    "dropped connection",
    "refused review",
    "malformed answer",
    "engine error",
)
"""Every kind of wrong answer, in the order a report lists them."""
KEPT_EXAMPLES = 5


def judge(case: Case, status: int, raw: bytes) -> tuple[str, str] | None:
    """The problem with this answer, and a detail for the report; None when the answer is right."""
    if status >= 500:
        return "5xx", f"HTTP {status}: {raw[:200]!r}"
    if status == 200:
        return _judge_review(case, raw)
    if status not in (400, 413):
        return "malformed answer", f"HTTP {status}"
    if case.must_admit:
        return "refused review", f"HTTP {status}: {raw[:300]!r}"
    error = _loads(raw)
    if not isinstance(error, dict) or not isinstance(error.get("error"), str) or not error["error"]:
        return "malformed answer", f"HTTP {status} without a JSON error: {raw[:200]!r}"
    return None


def _judge_review(case: Case, raw: bytes) -> tuple[str, str] | None:
    sent = case.sent
    request = sent.get("request") if isinstance(sent, dict) else None
    if sent is NOT_JSON or not isinstance(request, dict):
        return "malformed answer", "HTTP 200 for a body that is no review"
    answer = _loads(raw)
    response = answer.get("response") if isinstance(answer, dict) else None
    if not isinstance(response, dict) or answer.get("kind") != "AdmissionReview":
        return "malformed answer", f"HTTP 200 without an AdmissionReview: {raw[:200]!r}"
    if response.get("uid") != request.get("uid"):
        return "wrong uid", f"sent {str(request.get('uid'))[:80]!r}, got {str(response.get('uid'))[:80]!r}"
    if answer.get("apiVersion") != sent.get("apiVersion"):
        return "wrong apiVersion", f"sent {sent.get('apiVersion')!r}, got {answer.get('apiVersion')!r}"
    problem = _answer_problem(response)
    if problem:
        return "malformed answer", problem
    warnings = response.get("warnings", [])
    if INTERNAL_ERROR_WARNING in warnings or any(w.startswith(INTERNAL_ERROR_CODE) for w in warnings):
        return "engine error", "; ".join(warnings)[:600]
    return None


def _answer_problem(response: dict[str, Any]) -> str:
    if not isinstance(response.get("allowed"), bool):
        return f"allowed is {response.get('allowed')!r}"
    status = response.get("status")
    if not response["allowed"] and (not isinstance(status, dict) or status.get("code") != 403):
        return f"a denial with status {status!r}"
    warnings = response.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        return f"warnings {warnings!r}"
    for warning in warnings:
        if not 0 < len(warning) <= MAX_WARNING_CHARS or any(
            unicodedata.category(c) in ("Cc", "Cs") for c in warning
        ):
            return f"a warning the API server would drop: {warning!r}"
    return ""


def _loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


@dataclass
class Tally:
    """Counts of a run; safe to add to from several threads."""

    bodies: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[tuple[Case, str]]] = field(default_factory=dict, repr=False)
    latencies: list[float] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, case: Case, status: int | None, problem: tuple[str, str] | None, seconds: float) -> int:
        """Counts one answer (`status` None: none came); returns the bodies counted so far."""
        with self._lock:
            self.bodies += 1
            self.latencies.append(seconds)
            if status is not None:
                self.statuses[status] += 1
            if problem is not None:
                kind, detail = problem
                self.problems[kind] += 1
                kept = self.examples.setdefault(kind, [])
                if len(kept) < KEPT_EXAMPLES:
                    kept.append((case, detail))
            return self.bodies

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]

    def failures(self) -> list[str]:
        """One line per kept example of each problem."""
        return [
            f"{kind}: {case.describe()} -> {detail}"
            for kind in PROBLEMS
            for case, detail in self.examples.get(kind, [])
        ]
