"""Fixtures: fake API servers on loopback, kubeconfigs for them, and live sources watching them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tests.cluster.fakeapi import FakeApi
from tests.polling import wait_for
from webhook.cluster import LiveSettings, LiveSource, connect
from webhook.cluster.reflector import WatchSettings

# Small pages so that every list is paginated; short delays so that failures heal quickly.
FAST = LiveSettings(
    stale_after=0.5,
    confirm_timeout=0.5,
    watch=WatchSettings(page_size=2, backoff_base=0.02, backoff_cap=0.1),
)


@pytest.fixture
def make_fake() -> Iterator[Callable[..., FakeApi]]:
    """Starts fake API servers (FakeApi options as keywords); stops them after the test."""
    fakes: list[FakeApi] = []

    def make(**options: Any) -> FakeApi:
        fakes.append(FakeApi(**options).start())
        return fakes[-1]

    yield make
    for fake in fakes:
        fake.stop()


@pytest.fixture
def fake(make_fake: Callable[..., FakeApi]) -> FakeApi:
    return make_fake()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def start_live(
    fake: FakeApi, tmp_path: Path, registry: CollectorRegistry
) -> Iterator[Callable[..., LiveSource]]:
    """Starts a live source watching `fake` (or the fake given), through a kubeconfig's context."""
    started: list[LiveSource] = []

    def start(against: FakeApi = fake) -> LiveSource:
        kubeconfig = against.write_kubeconfig(tmp_path / f"kubeconfig-{against.port}")
        started.append(connect(str(kubeconfig), "fake", settings=FAST, registry=registry))
        return started[-1]

    yield start
    for source in started:
        source.stop()


@pytest.fixture
def live(start_live: Callable[..., LiveSource]) -> LiveSource:
    """A live source that has completed its first sync."""
    source = start_live()
    wait_for(source.ready, "the first sync")
    return source
