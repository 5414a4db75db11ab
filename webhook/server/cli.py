"""`meshwarden serve`: flags, start-up checks, and the throwaway certificates of `--dev`."""

from __future__ import annotations

import argparse
import os
import ssl
import sys
from pathlib import Path

from webhook.certs import create_ca, create_serving_certificate, write_material
from webhook.policy import PolicyError, load_policy
from webhook.server.inventory import ContextError, load_context
from webhook.server.metrics_dir import metrics_directory
from webhook.server.settings import ServerSettings
from webhook.server.tls import ReloadingContext

DEV_CERTS = Path("certs/dev")
DEV_NAMES = ("localhost",)
DEV_ADDRESSES = ("127.0.0.1", "::1")


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
        help="objects for cross-object rules, e.g. a cluster dump (repeatable)",
    )
    parser.add_argument(
        "--workers", metavar="N", type=int, default=2, help="processes (default: %(default)s)"
    )
    parser.add_argument(
        "--threads",
        metavar="N",
        type=int,
        default=8,
        help="threads per process serving requests (default: %(default)s)",
    )
    parser.add_argument(
        "--drain-seconds",
        metavar="S",
        type=float,
        default=5.0,
        help="on SIGTERM, fail /readyz and keep serving this long before closing (default: %(default)s)",
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
        _check_policy_and_context(settings)
    except (StartupError, PolicyError, ContextError) as exc:
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
    if args.workers < 1 or args.threads < 1:
        raise StartupError("--workers and --threads must be at least 1")
    if args.drain_seconds < 0:
        raise StartupError("--drain-seconds must not be negative")
    cert, key = (Path(args.cert), Path(args.key)) if args.cert else _dev_material()
    return ServerSettings(
        cert=cert,
        key=key,
        host=args.host or ("127.0.0.1" if args.dev else "0.0.0.0"),
        port=args.port,
        policy=Path(args.config) if args.config else None,
        context=tuple(args.context),
        workers=args.workers,
        threads=args.threads,
        own_namespace=os.environ.get("POD_NAMESPACE") or None,
        drain_seconds=args.drain_seconds,
    )


def _check_policy_and_context(settings: ServerSettings) -> None:
    """The workers load these again; failing here gives a clear message and exit status 2."""
    if settings.policy:
        load_policy(settings.policy)
    load_context(settings.context)


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
