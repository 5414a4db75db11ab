"""The live inventory at cluster scale: memory per process, time to first sync, cost of cross rules.

Run from the repository root (the fake API server comes from the tests):

    PYTHONPATH=. .venv/bin/python bench/cluster_inventory.py [--services 10000] [--pods 50000]
        [--istio 5000] [--reviews 2000]

1. Inventory memory: objects shaped as the API sends them (whole injected Pods with their status,
   kinds read at metadata detail as PartialObjectMetadata, with managedFields and kubectl's
   last-applied annotation), decoded and slimmed to the detail the rules declare as the watches do
   and added to one Inventory, in a child process: tracemalloc's count of what stays allocated,
   and how long a full garbage collection then takes.
   Then what the pods' detail costs: bytes per pod on the wire and time per pod to decode and
   keep it, read as PartialObjectMetadata (metadata) and whole but kept slim (container ports).
2. First sync: the tests' fake API server holds the same objects in a child process; a LiveSource
   in this process lists them in pages of 500 through the real client until ready(). The growth of
   this process's resident set is what each process watching the cluster pays.
3. Review cost: Engine.check on VirtualServices against that live inventory (cross rules run) and
   against an empty, incomplete one (cross rules skipped), interleaved; p50 and p99 of each.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path

import orjson
from cluster_objects import as_sent, cluster, kept, pod, virtual_service

from tests.cluster.fakeapi import FakeApi
from webhook.cluster import LiveSettings, connect
from webhook.cluster.api import _decode
from webhook.cluster.objects import inventory_resource
from webhook.cluster.reflector import WatchSettings
from webhook.cluster.resources import API_RESOURCES
from webhook.engine import Engine
from webhook.inventory import Inventory, World
from webhook.inventory.detail import Detail
from webhook.kinds import POD
from webhook.model import Resource
from webhook.policy import Policy


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def measure_memory(args: argparse.Namespace, out: Connection) -> None:
    tracemalloc.start()
    inventory = Inventory()
    for body in cluster(args.services, args.pods, args.istio):
        inventory.add(kept(body))
    gc.collect()
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out.send((len(inventory), traced / 2**20, full_collection_ms()))


def measure_pod_detail() -> str:
    """Per pod, at each detail the rules could declare: bytes sent and microseconds to decode a
    500-pod page and keep what the inventory keeps (the best of 20 pages)."""
    pods = [pod(i, i % 100, f"team-{i % 10}") for i in range(500)]
    shown = []
    for detail in (Detail.METADATA, Detail.PORTS):
        resource = replace(API_RESOURCES[POD], detail=detail).at("v1")
        page = orjson.dumps({"items": [orjson.loads(as_sent(p, resource)) for p in pods]})
        best = float("inf")
        for _ in range(20):
            started = time.perf_counter()
            for item in _decode(page)["items"]:  # as the watches decode: cyclic GC paused
                inventory_resource(item, resource)
            best = min(best, time.perf_counter() - started)
        shown.append(f"{detail}: {len(page) / len(pods):.0f} bytes, {best / len(pods) * 1e6:.0f} us")
    return "; ".join(shown)


def full_collection_ms() -> float:
    started = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - started) * 1000


def serve_fake(args: argparse.Namespace, kubeconfig: Path, ready: Connection, stop: Connection) -> None:
    fake = FakeApi()
    for body in cluster(args.services, args.pods, args.istio):
        fake.put(body)
    fake.start()
    fake.write_kubeconfig(kubeconfig)
    ready.send(True)
    stop.recv()
    fake.stop()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def time_reviews(world: World, reviews: int) -> tuple[list[float], list[float]]:
    """Seconds per Engine.check of a VirtualService, with the inventory and without, interleaved
    (after a warm-up round that fills the engine's caches)."""
    engine = Engine(Policy())
    empty = World(Inventory(), "cross rules skipped")
    objects = [Resource(virtual_service(i, f"team-{i % 7}", 500)) for i in range(20)]
    with_cross: list[float] = []
    without: list[float] = []
    for n in range(-len(objects), reviews):
        vs = objects[n % len(objects)]
        for target, samples in ((world, with_cross), (empty, without)):
            started = time.perf_counter()
            engine.check(vs, target)
            if n >= 0:
                samples.append(time.perf_counter() - started)
    return with_cross, without


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--pods", type=int, default=50_000)
    parser.add_argument("--istio", type=int, default=5_000)
    parser.add_argument("--reviews", type=int, default=2_000)
    args = parser.parse_args()
    fork = multiprocessing.get_context("fork")
    print(
        f"cluster: {args.services} Services, {args.pods} Pods, {args.istio} Istio objects, "
        f"{max(1, args.services // 50)} Namespaces",
        flush=True,
    )

    receive, send = fork.Pipe(duplex=False)
    child = fork.Process(target=measure_memory, args=(args, send))
    child.start()
    objects, traced, collection = receive.recv()
    child.join()
    print(
        f"inventory memory: {objects} objects, {traced:.0f} MiB allocated (tracemalloc); "
        f"a full garbage collection then takes {collection:.0f} ms",
        flush=True,
    )
    print(f"per pod, on the wire and to decode and keep: {measure_pod_detail()}", flush=True)

    ready_in, ready_out = fork.Pipe(duplex=False)
    stop_in, stop_out = fork.Pipe(duplex=False)
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        server = fork.Process(target=serve_fake, args=(args, kubeconfig, ready_out, stop_in))
        server.start()
        ready_in.recv()
        gc.collect()
        rss_before = rss_mib()
        started = time.perf_counter()
        settings = LiveSettings(watch=WatchSettings(page_size=500))
        live = connect(str(kubeconfig), "fake", settings=settings, registry=None)
        while not live.ready():
            time.sleep(0.01)
        synced = time.perf_counter() - started
        collection = full_collection_ms()
        print(
            f"first sync: {synced:.1f} s for {len(live.inventory)} objects; this process's resident set "
            f"+{rss_mib() - rss_before:.0f} MiB (the inventory and the client's buffers); "
            f"a full garbage collection after the sync's gc.freeze() takes {collection:.0f} ms",
            flush=True,
        )
        with_cross, without = time_reviews(live.current(), args.reviews)
        live.stop()
        stop_out.send(True)
        server.join()
    ms = 1000
    p50 = (percentile(with_cross, 0.5) * ms, percentile(without, 0.5) * ms)
    p99 = (percentile(with_cross, 0.99) * ms, percentile(without, 0.99) * ms)
    print(
        f"VirtualService review, {args.reviews} each: with the inventory p50 {p50[0]:.3f} ms "
        f"p99 {p99[0]:.3f} ms; cross rules skipped p50 {p50[1]:.3f} ms p99 {p99[1]:.3f} ms"
    )
    print(
        f"added by cross rules: p50 {p50[0] - p50[1]:.3f} ms, p99 {p99[0] - p99[1]:.3f} ms "
        f"(mean {statistics.fmean(with_cross) * ms - statistics.fmean(without) * ms:.3f} ms)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident set of this process: {peak:.0f} MiB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
