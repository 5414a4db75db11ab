"""A long stream is cut into runs of whole documents that worker processes read: what comes out
is what reading it here gives, document for document, line for line, error for error."""

from __future__ import annotations

import io
import multiprocessing
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import webhook.documents
from tests.test_block_yaml import TESTS, YAML_FILES, _summary
from webhook.documents import read_documents
from webhook.inputs import Inputs, read_inputs
from webhook.loader import LoadOptions
from webhook.reading_pool import ReadingPool, WorkerStopped, cgroup_cpus, reading_pool


@pytest.fixture(scope="module", params=["short runs", "one long run"])
def pool(request: pytest.FixtureRequest) -> Iterator[ReadingPool]:
    """Short runs: every `---` line past the first 200 characters ends a run. One long run: the
    first document is the first run, and a worker reads all the others as one run."""
    if request.param == "short runs":
        shared = ReadingPool(2, first_run=200, run_size=1)
    else:
        shared = ReadingPool(2, first_run=1, run_size=1 << 40)
    yield shared
    shared.close()


def _read(data: bytes, pool: ReadingPool | None = None) -> list[Any]:
    return [_summary(d) for d in read_documents(io.BytesIO(data), len(data), pool)]


MIXED = """\
# Source: chart/templates/service.yaml
apiVersion: v1
kind: Service
metadata: {name: web, labels: {app: web}}
spec:
  ports:
  - port: 80
---
{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "json"}, "data": {"a": "\\ud83d\\ude00"}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Values.name }}
---
kind: Secret
data: !Ref Something
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: in-a-list
- apiVersion: v1
  kind: Pod
  metadata:
    name: also
...
---
base: &base {app: web}
copy: *base
---
# only a comment
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: block
data:
  script: |
    ---
    echo the line above ends the document in YAML too
  tab:\there
---
key: [unclosed
"""


def test_a_stream_of_every_kind_of_document_reads_the_same_in_runs(pool: ReadingPool) -> None:
    data = "---\n".join([MIXED] * 4).encode()
    here = _read(data)
    assert len(here) == 4 * 8
    errors = [s for s in here if s[0] == "error"]
    assert {e[1] for e in errors} == {"DocumentError", "ForeignTag"}
    assert any("unrendered template" in e[3] for e in errors)
    assert any(s[3] for s in here if s[0] != "error")  # a List's members, with their own lines
    assert any(s[4] == "chart/templates/service.yaml" for s in here)
    assert _read(data, pool) == here


def test_every_yaml_file_the_tests_carry_reads_the_same_in_runs(pool: ReadingPool) -> None:
    cut = 0
    for path in YAML_FILES:
        data = path.read_bytes()
        assert _read(data, pool) == _read(data), path
        cut += data.count(b"\n---") > 2
    assert cut > 10  # files of several documents, each cut into runs


def test_a_stream_with_documents_too_long_for_a_run_reads_the_same(
    pool: ReadingPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook.documents, "BLOCK_READ_LIMIT", 2_000)
    long = "kind: ConfigMap\ndata:\n" + "".join(f"  key{n}: value {n}\n" for n in range(200))
    short = "kind: Service\nmetadata:\n  name: web\n"
    data = "---\n".join([short] * 20 + [long] + [short] * 20 + [long, short]).encode()
    assert len(long) > 2_000
    here = _read(data)
    assert len(here) == 43
    assert _read(data, pool) == here


def test_workers_start_only_for_a_stream_longer_than_the_first_run() -> None:
    before = set(multiprocessing.active_children())  # the other tests' pool
    pool = ReadingPool(2, first_run=10_000, run_size=1_000)
    short = "kind: Service\nmetadata:\n  name: web\n---\n"
    try:
        _read((short * 100).encode(), pool)
        assert set(multiprocessing.active_children()) == before
        _read((short * 1_000).encode(), pool)
        assert len(set(multiprocessing.active_children()) - before) == 2
    finally:
        pool.close()
    assert set(multiprocessing.active_children()) == before


def test_one_cpu_reads_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("webhook.reading_pool.cgroup_cpus", lambda: None)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0})
    assert reading_pool() is None
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(64)))
    pool = reading_pool()
    assert pool is not None and pool.workers == 3
    monkeypatch.setattr("webhook.reading_pool.cgroup_cpus", lambda: 1)  # a container's CPU limit
    assert reading_pool() is None


@pytest.mark.parametrize(
    ("files", "cpus"),
    [
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.max": "150000 100000\n"}, 1),
        ({"cpu.max": "50000 100000\n"}, 1),
        ({"cpu.max": "400000 100000\n"}, 4),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2),
        ({}, None),
        ({"cpu.max": "nonsense\n"}, None),
    ],
)
def test_a_containers_cpu_limit_is_read_from_its_cgroup(
    files: dict[str, str], cpus: int | None, tmp_path: Path
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_cpus(tmp_path) == cpus


def test_a_worker_that_dies_stops_the_stream_with_an_error() -> None:
    before = set(multiprocessing.active_children())
    pool = ReadingPool(2, first_run=100, run_size=1)
    text = "kind: Service\nmetadata:\n  name: web\n---\n" * 2_000
    documents = read_documents(io.BytesIO(text.encode()), len(text), pool)
    try:
        next(documents)
        for worker in set(multiprocessing.active_children()) - before:
            os.kill(worker.pid or 0, signal.SIGKILL)
        with pytest.raises(WorkerStopped, match="a worker process reading it stopped"):
            list(documents)
    finally:
        pool.close()


def _inputs_summary(inputs: Inputs) -> list[Any]:
    resources = [(r.ref, r.origin and (r.origin.file, r.origin.line), repr(r.body)) for r in inputs.resources]
    return [resources, inputs.errors, inputs.notes, inputs.skipped_files]


def test_the_files_of_a_walk_read_by_workers_give_what_reading_them_here_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "service.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n")
    (tmp_path / "app" / "latin1.yaml").write_bytes(b"kind: Service\nmetadata:\n  name: caf\xe9\n")
    (tmp_path / "app" / "large.yaml").write_text("kind: ConfigMap\ndata:\n" + "  k: v\n" * 20_000)
    (tmp_path / "app" / "broken.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: [\n")
    (tmp_path / "app" / "ci.yaml").write_text("job: !reference [.setup, script]\n")
    (tmp_path / "app" / "kustomization.yaml").write_text("patches:\n- path: patch.yaml\n")
    (tmp_path / "app" / "patch.yaml").write_text("kind: Deployment\nmetadata:\n  name: web\n")
    (tmp_path / "app" / "empty.yaml").write_text("# nothing\n")
    shutil.copytree(TESTS / "data", tmp_path / "data")
    shutil.copytree(TESTS / "istio_samples", tmp_path / "istio_samples")
    paths = [str(tmp_path)]
    options = LoadOptions(namespace="default")
    here = read_inputs(paths, options, max_size=100_000)
    monkeypatch.setattr("webhook.inputs.reading_pool", lambda: ReadingPool(2, first_run=1, run_size=1))
    by_workers = read_inputs(paths, options, max_size=100_000, parallel=True)
    assert len(here.resources) > 25
    problems = " ".join(e.message for e in here.errors)
    assert "not UTF-8 text" in problems and "larger than the --max-input-size limit" in problems
    assert _inputs_summary(by_workers) == _inputs_summary(here)
