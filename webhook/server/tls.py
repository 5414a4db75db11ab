"""TLS for the admission server: TLS 1.2+ only, one context per worker, rebuilt when the files change.

gunicorn's default builds a new SSLContext and re-parses the key pair for every connection. Here
gunicorn's `ssl_context` hook returns a cached context instead, rebuilt only when the certificate
or key file changes (a Secret volume swaps a symlink), so rotation needs no restart.
"""

from __future__ import annotations

import datetime
import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509

from webhook.server.watch import WatchedFile

CIPHERS_TLS12 = "ECDHE+AESGCM:ECDHE+CHACHA20"
"""Forward-secret AEAD suites only; TLS 1.3 suites are OpenSSL's (all AEAD)."""

BLOCKING_IO_TIMEOUT_SECONDS = 10.0
"""How long a worker thread waits on one write of an answer to a client that does not read it."""

log = logging.getLogger("meshwarden.tls")


class _BoundedSSLSocket(ssl.SSLSocket):
    """An SSL socket whose "blocking" mode has a deadline per operation.

    gunicorn switches a connection to blocking mode while a thread serves it. The request has been
    read already (worker.py), but the thread writes the answer: without a deadline, a client that
    stops reading would hold the thread once the socket's buffers are full.
    """

    def setblocking(self, flag: bool) -> None:
        self.settimeout(BLOCKING_IO_TIMEOUT_SECONDS if flag else 0.0)


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS_TLS12)
    context.set_alpn_protocols(["http/1.1"])
    context.load_cert_chain(cert, key)
    context.sslsocket_class = _BoundedSSLSocket
    return context


class ReloadingContext:
    """gunicorn's `ssl_context(config, default_factory)` hook, with a context cached per process."""

    def __init__(self, cert: Path, key: Path):
        self._cert = cert
        self._key = key
        self._files = (WatchedFile(cert), WatchedFile(key))
        self._context = server_context(cert, key)

    def __call__(self, config: Any, default_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        return self.current()

    def current(self) -> ssl.SSLContext:
        changed = [watched.changed() for watched in self._files]  # both, so each sees its own change
        if any(changed):
            try:
                self._context = server_context(self._cert, self._key)
            except (OSError, ssl.SSLError) as exc:
                # Mid-rotation the pair can briefly mismatch: keep serving the old one and retry
                # on the next change.
                log.error(
                    "serving certificate not reloaded; keeping the previous one",
                    extra={"fields": {"cert": str(self._cert), "error": str(exc)}},
                )
            else:
                log.info("serving certificate reloaded", extra={"fields": {"cert": str(self._cert)}})
        return self._context


class CertificateExpiry:
    """When the serving certificate expires, re-read only when its file changes."""

    def __init__(self, cert: Path):
        self._file = WatchedFile(cert)
        self._not_after = _not_after(cert)

    def seconds_left(self, now: datetime.datetime | None = None) -> float | None:
        if self._file.changed():
            self._not_after = _not_after(self._file.path)
        if self._not_after is None:
            return None
        return (self._not_after - (now or datetime.datetime.now(datetime.UTC))).total_seconds()


def _not_after(cert: Path) -> datetime.datetime | None:
    try:
        return x509.load_pem_x509_certificate(cert.read_bytes()).not_valid_after_utc
    except (OSError, ValueError):
        return None
