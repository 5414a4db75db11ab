"""Istio's own analyzer cases, mapped to Meshwarden codes, must score perfectly."""

import json
import subprocess
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "conformance"


def test_istio_conformance_corpus_scores_perfectly() -> None:
    assert (SHARED / "score.py").exists(), f"conformance corpus not found at {SHARED}"
    result = subprocess.run(
        [
            sys.executable,
            str(SHARED / "score.py"),
            str(SHARED / "istio"),
            "--json",
            "--cmd",
            f"{sys.executable} -m webhook",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    differing = [c for c in report["cases"] if c["status"] != "ok" or c["missing"] or c["unexpected"]]
    totals = report["totals"]
    assert (totals["precision"], totals["recall"]) == (1.0, 1.0), json.dumps(differing, indent=1)[:4000]
