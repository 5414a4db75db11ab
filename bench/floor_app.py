"""The floor: an admission webhook that allows everything, the least a webhook on this stack can do.

It reads the review, answers with its uid and `allowed: true`, and nothing else. `bench/server.py`
serves it on the same gunicorn gthread + TLS setup as `meshwarden serve` and loads both in the
same run: the difference is what Meshwarden's checks, logging and metrics cost.
"""

from typing import Any

from flask import Flask, request

app = Flask(__name__)


@app.post("/validate")
def validate() -> dict[str, Any]:
    review = request.get_json(force=True)
    return {
        "apiVersion": review["apiVersion"],
        "kind": "AdmissionReview",
        "response": {"uid": review["request"]["uid"], "allowed": True},
    }
