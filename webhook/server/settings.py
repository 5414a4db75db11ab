"""What `meshwarden serve` was asked to do, in one immutable value shared by master and workers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024


@dataclass(frozen=True)
class ServerSettings:
    cert: Path
    key: Path
    host: str = "0.0.0.0"
    port: int = 8443
    policy: Path | None = None
    context: tuple[str, ...] = ()
    workers: int = 2
    threads: int = 8
    own_namespace: str | None = None
    """The server's namespace (env POD_NAMESPACE): always exempt, so it can never block itself."""
    max_body_bytes: int = 16 * MiB
    """An UPDATE review carries object and oldObject: two 1.5 MiB objects, managedFields, JSON overhead."""
    drain_seconds: float = 5.0
    """After SIGTERM: how long /readyz fails while requests are still served, before connections close."""

    @property
    def bind(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
