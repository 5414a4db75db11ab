"""Forked workers: a long stream is cut into runs of whole documents that they read, and many
objects are checked by them. What comes out is what doing it here gives: document for document,
line for line, error for error, finding for finding."""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import webhook.documents
from tests.test_block_yaml import YAML_FILES, _summary
from webhook.commands import FORK_CHECKS_FROM, _parser, build_engine, check_resources
from webhook.documents import read_documents
from webhook.findings import Action
from webhook.inventory import Inventory, World
from webhook.loader import load_text
from webhook.model import Resource
from webhook.output import render
from webhook.parallel import ReadingPool, WorkerStopped, forked_map, reading_pool, worker_count


@pytest.fixture(scope="module")
def pool() -> Iterator[ReadingPool]:
    """Every `---` line past the first 200 characters ends a run."""
    shared = ReadingPool(2, first_run=200, run_size=1)
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


def test_one_worker_per_cpu_up_to_three_and_none_on_one_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0})
    assert worker_count() == 0
    assert reading_pool() is None
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    assert worker_count() == 2
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(64)))
    assert worker_count() == 3


def test_forked_map_gives_the_results_in_order_from_workers_that_inherit_what_they_use() -> None:
    unpicklable = threading.Lock()  # reached by the function: inherited, never pickled
    results = list(forked_map(lambda n: (n * n, os.getpid(), unpicklable.locked()), range(50), 2, chunk=7))
    assert [square for square, _, _ in results] == [n * n for n in range(50)]
    assert os.getpid() not in {pid for _, pid, _ in results}


def test_forked_map_raises_when_a_worker_dies() -> None:
    def die_at_seven(n: int) -> int:
        if n == 7:
            os.kill(os.getpid(), signal.SIGKILL)
        return n

    with pytest.raises(WorkerStopped, match="a worker process stopped"):
        list(forked_map(die_at_seven, range(20), 2, chunk=1))


def test_many_objects_checked_by_workers_give_the_report_checked_here() -> None:
    args = _parser("check").parse_args(["check", "--format", "json", "unused.yaml"])
    engine = build_engine(args)
    resources: list[Resource] = []
    copy = 0
    while sum(engine.covers(r.group_kind) for r in resources) < FORK_CHECKS_FROM:
        copy += 1
        for path in YAML_FILES:
            resources += load_text(path.read_text(encoding="utf-8"), str(path), f"copy-{copy}")[0]
    inventory = Inventory()
    for resource in resources:
        inventory.add(resource)
    here = check_resources(engine, resources, World(inventory), args)
    forked = check_resources(engine, resources, World(inventory), args, workers=2)
    assert len(here.findings) > 1_000
    assert {f.action for f in here.findings} >= {Action.DENY, Action.WARN}
    assert render("json", forked) == render("json", here)


def test_a_worker_that_dies_makes_the_stream_an_input_error() -> None:
    before = set(multiprocessing.active_children())
    pool = ReadingPool(2, first_run=100, run_size=1)
    text = "kind: Service\nmetadata:\n  name: web\n---\n" * 2_000
    documents = read_documents(io.BytesIO(text.encode()), len(text), pool)
    try:
        next(documents)
        for worker in set(multiprocessing.active_children()) - before:
            os.kill(worker.pid or 0, signal.SIGKILL)
        with pytest.raises(WorkerStopped, match="a worker process stopped"):
            list(documents)
    finally:
        pool.close()
