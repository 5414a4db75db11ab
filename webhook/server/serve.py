"""`meshwarden serve`: flags, start-up checks, and the throwaway certificates of `--dev`."""

from __future__ import annotations

import argparse
import os
import ssl
import sys
from pathlib import Path

from webhook.certs import create_ca, create_serving_certificate, write_material
from webhook.policy import PolicyError, load_policy
from webhook.rules import CATALOGUE
from webhook.server.inventory import InventoryError, check_cluster_access, load_context
from webhook.server.metrics_dir import metrics_directory
from webhook.server.settings import ClusterAccess, ServerSettings
from webhook.server.tls import ReloadingContext

DEV_CERTS = Path("certs/dev")
DEV_NAMES = ("localhost",)
DEV_ADDRESSES = ("127.0.0.1", "::1")
IN_POD = "KUBERNETES_SERVICE_HOST"
"""Set by the kubelet in every container: the pod's service account reaches the cluster's API."""

# Without the live inventory, two processes share the load and the CPU limit. With it, each
# process would list and watch the whole cluster and keep its own copy (API load and memory times
# the processes), so a pod runs one process with twice the threads and scales out by replicas.
WORKERS, THREADS = 2, 8
LIVE_WORKERS, LIVE_THREADS = 1, 16


class StartupError(Exception):
    pass


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cert", metavar="FILE", help="serving certificate, PEM (re-read when the file changes)"
    )
    parser.add_argument("--key", metavar="FILE", help="its private key, PEM")
    parser.add_argument(
        "--host", metavar="H", help="address to listen on (default: 0.0.0.0; with --dev 127.0.0.1)"
    )
    parser.add_argument("--port", metavar="P", type=int, default=8443, help="port (default: %(default)s)")
    parser.add_argument("--config", metavar="FILE", help="policy file (YAML; reloaded when it changes)")
    parser.add_argument(
        "--context",
        metavar="PATH",
        action="extend",
        nargs="+",
        default=[],
        help="objects for cross-object rules, e.g. a cluster dump (repeatable); instead of the live cluster",
    )
    parser.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="watch the cluster of this kubeconfig for cross-object rules "
        "(default in a pod: its service account)",
    )
    parser.add_argument(
        "--kube-context",
        metavar="NAME",
        help="kubeconfig context to watch (default: the current one)",
    )
    parser.add_argument(
        "--no-cluster",
        action="store_true",
        help="do not watch the cluster, even in a pod: without --context, cross-object rules are skipped",
    )
    parser.add_argument(
        "--stale-after",
        metavar="S",
        type=float,
        default=30.0,
        help="skip cross-object rules once a watch of the cluster has failed for this long "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        metavar="N",
        type=int,
        help=f"processes (default: {WORKERS}; {LIVE_WORKERS} when watching the cluster)",
    )
    parser.add_argument(
        "--threads",
        metavar="N",
        type=int,
        help=f"threads per process serving requests (default: {THREADS}; "
        f"{LIVE_THREADS} when watching the cluster)",
    )
    parser.add_argument(
        "--drain-seconds",
        metavar="S",
        type=float,
        default=5.0,
        help="on SIGTERM, fail /readyz and keep serving this long before closing (default: %(default)s)",
    )
    parser.add_argument(
        "--read-timeout",
        metavar="S",
        type=float,
        default=3.0,
        help="a request (headers and body) must arrive within this many seconds of its first byte; "
        "set it to the webhook's timeoutSeconds (default: %(default)s)",
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help=f"local development: without --cert/--key, create a throwaway CA and a "
        f"certificate for localhost in {DEV_CERTS}/",
    )


def run_serve(args: argparse.Namespace) -> int:
    """Checks everything gunicorn's workers will need, then serves; returns only on a start-up error."""
    try:
        settings = _settings(args)
        tls = ReloadingContext(settings.cert, settings.key)
        _check_policy_and_inventory(settings)
    except (StartupError, PolicyError, InventoryError) as exc:
        print(f"meshwarden serve: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ssl.SSLError) as exc:
        print(f"meshwarden serve: error: cannot use --cert/--key: {exc}", file=sys.stderr)
        return 2
    # Imported here so that `meshwarden check` never loads gunicorn and flask.
    from webhook.server.runner import serve

    with metrics_directory():
        serve(settings, tls)
    return 0


def _settings(args: argparse.Namespace) -> ServerSettings:
    if (args.cert is None) != (args.key is None):
        raise StartupError("--cert and --key go together")
    if args.cert is None and not args.dev:
        raise StartupError("--cert and --key are required (or --dev for a throwaway local certificate)")
    if not 0 < args.port < 65536:
        raise StartupError(f"--port {args.port}: expected 1-65535")
    if (args.workers is not None and args.workers < 1) or (args.threads is not None and args.threads < 1):
        raise StartupError("--workers and --threads must be at least 1")
    if args.drain_seconds < 0:
        raise StartupError("--drain-seconds must not be negative")
    if args.stale_after <= 0:
        raise StartupError("--stale-after must be positive")
    if args.read_timeout <= 0:
        raise StartupError("--read-timeout must be positive")
    cluster = _cluster_access(args)
    workers, threads = (LIVE_WORKERS, LIVE_THREADS) if cluster else (WORKERS, THREADS)
    cert, key = (Path(args.cert), Path(args.key)) if args.cert else _dev_material()
    return ServerSettings(
        cert=cert,
        key=key,
        host=args.host or ("127.0.0.1" if args.dev else "0.0.0.0"),
        port=args.port,
        policy=Path(args.config) if args.config else None,
        context=tuple(args.context),
        cluster=cluster,
        workers=workers if args.workers is None else args.workers,
        threads=threads if args.threads is None else args.threads,
        own_namespace=os.environ.get("POD_NAMESPACE") or None,
        drain_seconds=args.drain_seconds,
        read_timeout=args.read_timeout,
    )


def _cluster_access(args: argparse.Namespace) -> ClusterAccess | None:
    """The live inventory's API, or None: `--context` files or, without them, no inventory."""
    named = args.kubeconfig is not None or args.kube_context is not None
    if named and args.context:
        raise StartupError("--context replaces the live cluster: give it or --kubeconfig/--kube-context")
    if named and args.no_cluster:
        raise StartupError("--no-cluster contradicts --kubeconfig/--kube-context")
    if args.context or args.no_cluster or not (named or IN_POD in os.environ):
        return None
    return ClusterAccess(args.kubeconfig, args.kube_context, args.stale_after)


def _check_policy_and_inventory(settings: ServerSettings) -> None:
    """The workers load these again; failing here gives a clear message and exit status 2."""
    if settings.policy:
        load_policy(settings.policy, CATALOGUE)
    load_context(settings.context)
    if settings.cluster:
        check_cluster_access(settings.cluster)


def _dev_material() -> tuple[Path, Path]:
    ca = create_ca("meshwarden-dev-ca")
    serving = create_serving_certificate(ca, DEV_NAMES, DEV_ADDRESSES, days=30)
    written = write_material(DEV_CERTS, ca, serving)
    print(
        f"meshwarden serve --dev: throwaway CA and certificate for localhost in {DEV_CERTS}/ "
        f"(clients trust {written.ca_cert}, e.g. curl --cacert {written.ca_cert})",
        file=sys.stderr,
    )
    return written.cert, written.key
