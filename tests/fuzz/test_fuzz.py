"""The fuzzer's short run: hostile bodies through the real app, then through the real server over TLS.

Every answer must be HTTP 200 echoing the request's uid and apiVersion, or 400/413 with a JSON
error; never a 5xx, a dropped connection, a crashed rule or a restarted worker. `make fuzz` is the
long run (bench/fuzz.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.test import Client

from tests.e2e.harness import Server, make_certs
from tests.fuzz.bodies import FULL, Fuzzer, Limits
from tests.fuzz.live import fuzz_server, start_fuzz_server, worker_pids
from tests.fuzz.oracle import Tally, judge
from tests.fuzz.seeds import RESOURCES, context_objects, seed_objects
from webhook.inventory.source import StaticSource
from webhook.model import GroupKind, Resource
from webhook.rules import CATALOGUE
from webhook.server.app import create_app
from webhook.server.inventory import ServedInventory
from webhook.server.settings import ServerSettings

SEED = 20250301
APP_BODIES = 3_000
SERVER_BODIES = 400
SHORT = Limits(
    hostile_length=FULL.hostile_length,
    object_depth=FULL.object_depth,
    envelope_depth=FULL.envelope_depth,
    list_items=FULL.list_items,
    oversize_rate=0.003,
)


def assert_clean(tally: Tally) -> None:
    assert not tally.problems, "\n".join(tally.failures())
    assert set(tally.statuses) <= {200, 400, 413}, tally.statuses


def test_the_seeds_cover_every_kind_the_rules_check() -> None:
    assert {obj["kind"] for obj in seed_objects()} == set(RESOURCES)
    assert {GroupKind(group, kind) for kind, (group, _, _) in RESOURCES.items()} == CATALOGUE.kinds


def test_a_body_is_the_same_for_the_same_seed_and_index() -> None:
    first, again = Fuzzer(SEED, SHORT), Fuzzer(SEED, SHORT)
    assert [first.case(i).body for i in range(200)] == [again.case(i).body for i in range(200)]
    assert Fuzzer(SEED + 1, SHORT).case(0).body != first.case(0).body


def test_hostile_bodies_through_the_app_get_a_right_answer_each(tmp_path: Path) -> None:
    settings = ServerSettings(cert=tmp_path / "none.crt", key=tmp_path / "none.key")
    inventory = StaticSource([Resource(o) for o in context_objects()], known=True)
    client = Client(create_app(settings, ServedInventory(inventory)))
    fuzzer = Fuzzer(SEED, SHORT)
    tally = Tally()
    kinds = set()
    for index in range(APP_BODIES):
        case = fuzzer.case(index)
        kinds.add(case.kind)
        reply = client.post("/validate", data=case.body, content_type="application/json")
        tally.add(case, reply.status_code, judge(case, reply.status_code, reply.data), 0.0)
    assert_clean(tally)
    assert kinds == set(RESOURCES)
    assert tally.statuses[200] > APP_BODIES / 2 and tally.statuses[400] > APP_BODIES / 10


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("fuzz")
    server = start_fuzz_server(make_certs(directory / "certs"), directory)
    yield server
    server.stop()


def test_hostile_bodies_through_the_server_get_a_right_answer_each_and_no_worker_dies(
    fuzz_target: Server,
) -> None:
    workers = worker_pids(fuzz_target)
    tally = fuzz_server(fuzz_target, Fuzzer(SEED, SHORT).case, SERVER_BODIES, connections=4, timeout=30.0)
    assert_clean(tally)
    assert tally.bodies == SERVER_BODIES
    assert fuzz_target.process.poll() is None
    assert worker_pids(fuzz_target) == workers
