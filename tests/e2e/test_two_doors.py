"""The same answer through both doors, with the real server (gunicorn, TLS, `--kubeconfig`) as the
server's door, for a few of the scenarios tests/cluster/test_two_doors.py runs in process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.fakeapi import FakeApi
from tests.cluster.two_doors import (
    POLICY,
    Body,
    Scenario,
    World,
    assert_same_answer,
    cli_answer,
    corpus,
    load,
    server_answer,
)
from tests.e2e.harness import Certs, start_server

SCENARIOS = [s for s in corpus() if s.id == "bookinfo"]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_the_real_server_gives_the_cli_answer(scenario: Scenario, certs: Certs, tmp_path: Path) -> None:
    paths = scenario.write(tmp_path / "files")
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    resources = load(paths)
    fake = FakeApi().start()
    world = World(fake)
    world.become(resources)  # before the server starts: ready means its first sync saw it all
    kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
    args = ["--config", str(policy), "--kubeconfig", str(kubeconfig), "--kube-context", "fake"]
    server = start_server(certs, tmp_path / "server.log", args)
    try:

        def review(body: Body) -> Body:
            reply = server.review(body)
            assert reply.status == 200, reply.raw
            return reply.response

        answer = server_answer(review, world, resources)
    finally:
        server.stop()
        fake.stop()
    assert_same_answer(scenario, cli_answer(paths, policy), answer)
