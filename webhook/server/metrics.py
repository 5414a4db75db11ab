"""Prometheus metrics, correct across gunicorn workers.

With PROMETHEUS_MULTIPROC_DIR set (the runner sets it before prometheus_client is imported), each
worker writes its values to files there and /metrics merges every worker's files, so a scrape that
lands on any worker sees the whole server.

Collectors computed at scrape time (the certificate's expiry, the live inventory's objects, watch
ages and restarts) describe the process that answers the scrape. The certificate is the same in
every worker; the live inventory is one copy per worker, which is why the server runs a single
worker when it watches the cluster (see serve.py).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from webhook.server.admission import Decision, Verdict

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
OTHER_KIND = "other"
"""Kind label for objects no rule checks: the label set stays bounded whatever a client sends."""


class Metrics:
    def __init__(
        self, certificate_seconds_left: Callable[[], float | None], collectors: Sequence[Collector] = ()
    ):
        self._registry = CollectorRegistry()
        self.requests = Counter(
            "meshwarden_admission_requests",
            "Admission reviews answered, by object kind, operation and decision.",
            ["kind", "operation", "decision"],
            registry=self._registry,
        )
        self.invalid_requests = Counter(
            "meshwarden_admission_invalid_requests",
            "Request bodies refused with HTTP 400 (not an AdmissionReview).",
            registry=self._registry,
        )
        self.findings = Counter(
            "meshwarden_findings",
            "Findings reported in admission reviews, by rule code and effective action "
            "(deny, warn, or suppressed).",
            ["code", "action"],
            registry=self._registry,
        )
        self.confirmations = Counter(
            "meshwarden_absence_confirmations",
            "Lookups re-asked before denying for a missing object, by result.",
            ["result"],
            registry=self._registry,
        )
        self.evaluation_seconds = Histogram(
            "meshwarden_evaluation_duration_seconds",
            "Time spent deciding one review (rules and lookups).",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=self._registry,
        )
        self.request_seconds = Histogram(
            "meshwarden_admission_request_duration_seconds",
            "Time from reading the request body to having the answer, per /validate request.",
            buckets=LATENCY_BUCKETS,
            registry=self._registry,
        )
        self.policy_reloads = Counter(
            "meshwarden_policy_reloads",
            "Policy file reloads after a change, by result (success, failure).",
            ["result"],
            registry=self._registry,
        )
        self.policy_last_reload_ok = Gauge(
            "meshwarden_policy_last_reload_success",
            "1 when every worker's last policy load succeeded; 0 while a refused policy file is mounted.",
            multiprocess_mode="livemin",
            registry=self._registry,
        )
        self.policy_last_reload_ok.set(1)
        # Each label set's child, looked up once: labels() checks and converts its arguments every call.
        self._requests_by = functools.cache(self.requests.labels)
        self._evaluation_seconds_by = functools.cache(self.evaluation_seconds.labels)
        self._findings_by = functools.cache(self.findings.labels)
        self._scraped = (_CertificateCollector(certificate_seconds_left), *collectors)
        for collector in self._scraped:
            self._registry.register(collector)

    def record(
        self,
        kind: str,
        operation: str,
        verdict: Verdict,
        evaluation_seconds: float,
        request_seconds: float,
        checked: bool,
    ) -> None:
        """One answered review. `checked`: a rule checks the kind; other kinds share one label,
        whatever a client sends (label sets stay bounded, and so do the cached children)."""
        label = kind if checked else OTHER_KIND
        self._requests_by(label, operation, verdict.decision).inc()
        self.request_seconds.observe(request_seconds)
        if verdict.decision in (Decision.SKIP, Decision.ERROR):
            return
        self._evaluation_seconds_by(label).observe(evaluation_seconds)
        for reported in verdict.reported:
            self._findings_by(reported.finding.code, reported.action).inc()
        for finding in verdict.suppressed:
            self._findings_by(finding.code, "suppressed").inc()
        if verdict.confirmation is not None:
            self.confirmations.labels(verdict.confirmation).inc()

    def record_reload(self, ok: bool) -> None:
        self.policy_reloads.labels("success" if ok else "failure").inc()
        self.policy_last_reload_ok.set(1 if ok else 0)

    def exposition(self) -> tuple[bytes, str]:
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            return generate_latest(self._registry), CONTENT_TYPE_LATEST
        merged = CollectorRegistry()
        MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        for collector in self._scraped:
            merged.register(collector)
        return generate_latest(merged), CONTENT_TYPE_LATEST


class _CertificateCollector(Collector):
    """Computed at scrape time, so the value keeps falling between certificate changes."""

    def __init__(self, seconds_left: Callable[[], float | None]):
        self._seconds_left = seconds_left

    def collect(self) -> Iterable[Metric]:
        seconds = self._seconds_left()
        if seconds is not None:
            yield GaugeMetricFamily(
                "meshwarden_tls_certificate_expiry_seconds",
                "Seconds until the serving certificate expires (negative: expired).",
                value=seconds,
            )
