"""What `meshwarden serve` was asked to do, in one immutable value shared by master and workers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KiB = 1024
MiB = 1024 * KiB


@dataclass(frozen=True)
class ClusterAccess:
    """How the live inventory reaches the Kubernetes API."""

    kubeconfig: str | None
    """With `context` None too: the pod's service account."""
    context: str | None
    stale_after: float
    """Seconds a watch may stay broken before cross-object checks are skipped."""

    def describe(self) -> str:
        if self.kubeconfig is None and self.context is None:
            return "the pod's service account"
        where = f"kubeconfig {self.kubeconfig}" if self.kubeconfig else "the default kubeconfig"
        return f"{where}, context {self.context or '(current)'}"


@dataclass(frozen=True)
class ServerSettings:
    cert: Path
    key: Path
    host: str = "0.0.0.0"
    port: int = 8443
    policy: Path | None = None
    context: tuple[str, ...] = ()
    cluster: ClusterAccess | None = None
    """The live inventory's API; None: `context` files, or no inventory (cross rules skipped)."""
    workers: int = 2
    threads: int = 8
    own_namespace: str | None = None
    """The server's namespace (env POD_NAMESPACE): always exempt, so it can never block itself."""
    max_body_bytes: int = 16 * MiB
    """An UPDATE review carries object and oldObject: two 1.5 MiB objects, managedFields, JSON overhead."""
    read_timeout: float = 3.0
    """Seconds from a request's first byte (or a connection's, for the TLS handshake) until all of
    it must have arrived: the webhook's timeoutSeconds, after which the API server stops waiting."""
    drain_seconds: float = 5.0
    """After SIGTERM: how long /readyz fails while requests are still served, before connections close."""

    @property
    def buffer_budget_bytes(self) -> int:
        """Request bytes a worker holds at most across its connections: two bodies at the limit."""
        return 2 * self.max_body_bytes

    @property
    def bind(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
