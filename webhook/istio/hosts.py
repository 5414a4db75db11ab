"""Host names as Istio resolves them: short names, FQDNs, wildcards, exportTo visibility."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from webhook.kube import CLUSTER_SUFFIX
from webhook.model import scalar_text

EXPORT_ANNOTATION = "networking.istio.io/exportTo"
MAX_HOST_LENGTH = 255
"""Istio's limit for a host name (CheckDNS1123Preconditions)."""


def is_wildcard(host: str) -> bool:
    return host.startswith("*")


# The same few hosts recur on every review. At most 256 kept: a host's forms can be 32 KiB.
@lru_cache(maxsize=256)
def covering_hosts(host: str) -> tuple[str, ...]:
    """The host and every wildcard host that matches it, most specific first.

    `a.b.com` gives `a.b.com`, `*.b.com`, `*.com`, `*`: looking each up in an exact-host index
    finds wildcard ServiceEntries and DestinationRules without scanning them. Istio refuses hosts
    over MAX_HOST_LENGTH, so longer wildcard forms are left out: a long host costs linear time.
    """
    host = host.strip().lower()
    if not host:
        return ()
    if len(host) > MAX_HOST_LENGTH:  # no object can have such a host; its forms would grow quadratically
        return (host,)
    labels = host.split(".")
    forms = [host, *("*." + ".".join(labels[i:]) for i in range(1, len(labels))), "*"]
    return tuple(dict.fromkeys(forms))


def hosts_overlap(a: str, b: str) -> bool:
    """Istio's symmetric overlap: equal, `*` for anything, or `*.x.com` against any name under x.com."""
    a, b = a.lower(), b.lower()
    if a == b or a == "*" or b == "*":
        return True
    if a.startswith("*") and b.startswith("*"):
        return a.endswith(b[1:]) or b.endswith(a[1:])
    if a.startswith("*"):
        return b.endswith(a[1:])
    if b.startswith("*"):
        return a.endswith(b[1:])
    return False


def gateway_host_admits(server_host: str, gateway_namespace: str, vs_namespace: str) -> bool:
    """A Gateway server host's namespace prefix: `./h` admits VirtualServices in the Gateway's
    namespace, `ns/h` those in `ns`, `*/h` and a bare `h` those in any namespace."""
    prefix, slash, _ = server_host.partition("/")
    if not slash or prefix == "*":
        return True
    return vs_namespace == (gateway_namespace if prefix == "." else prefix)


def gateway_host_matches(vs_host: str, server_host: str) -> bool:
    """A VirtualService host against a server host (its `ns/` prefix dropped), wildcards both ways."""
    return hosts_overlap(vs_host, server_host.rpartition("/")[2])


def is_mesh_internal(
    host: str, known_namespace: Callable[[str], bool], known_service: Callable[[str], bool]
) -> bool:
    """The spec's mesh-internal host: short name, `name.ns`/`name.ns.svc` of a known namespace,
    anything under `.svc.cluster.local`, or the FQDN of a known Service. Wildcards never are.
    The inventory is asked (`known_service` of the host, `known_namespace`) only when the form of
    the host does not decide."""
    host = host.strip().lower()
    if not host or is_wildcard(host):
        return False
    if "." not in host or host.endswith(CLUSTER_SUFFIX) or known_service(host):
        return True
    labels = host.split(".")
    if len(labels) == 2 or (len(labels) == 3 and labels[2] == "svc"):
        return known_namespace(labels[1])
    return False


def parse_export_to(value: object) -> list[str] | None:
    """exportTo as a list (spec field) or a comma-separated annotation; None when not set."""
    if value is None:
        return None
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, list):
        items = [scalar_text(v).strip() for v in value]
    else:
        return None
    return items or None


def visible_from(export_to: list[str] | None, owner_namespace: str, viewer_namespace: str) -> bool:
    """Whether an object exported with `export_to` is visible in `viewer_namespace`."""
    if export_to is None:
        return True
    for target in export_to:
        if target == "*" or (target == "." and viewer_namespace == owner_namespace):
            return True
        if target == viewer_namespace:
            return True
    return False
