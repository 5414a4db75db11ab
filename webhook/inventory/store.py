"""An indexed, mutable set of objects. Every lookup the rules make is a dictionary access.

The file inventory (CLI, `--context`) fills it once; the live inventory keeps it current from
watch events with `add` and `remove`. Rules see it as an InventoryView: the lookups only.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, MutableMapping
from typing import Any, TypeAlias, TypeVar

from webhook.istio.virtualservice import all_routes, destinations
from webhook.kinds import (
    DESTINATION_RULE,
    GATEWAY,
    NAMESPACE,
    PEER_AUTHENTICATION,
    SERVICE,
    SERVICE_ENTRY,
    VIRTUAL_SERVICE,
)
from webhook.kube import PodTemplate, fqdn, pod_template, selector_matches, service_fqdn
from webhook.model import GroupKind, ObjectKey, ObjectRef, Resource, as_dict, as_list, string_map

TOPOLOGY_PREFIXES = ("topology.kubernetes.io/", "topology.istio.io/")

Keys = Callable[[Resource], Iterable[Hashable]]

Member = TypeVar("Member", Resource, PodTemplate)
Bucket: TypeAlias = Member | dict[ObjectKey, Member]
"""The objects under one index key (a host, a label): most keys have one, kept as itself; from the
second, a dictionary by identity. (A dictionary of one costs 184 bytes: with a bucket per key of
every Service, VirtualService and labelled pod, a third of the store.)"""


def _spec_hosts(resource: Resource) -> list[str]:
    return [fqdn(str(h), resource.namespace) for h in as_list(resource.spec.get("hosts")) if h]


def _service_hosts(resource: Resource) -> list[str]:
    return [service_fqdn(resource.name, resource.namespace)]


def _dr_hosts(resource: Resource) -> list[str]:
    host = resource.spec.get("host")
    return [fqdn(str(host), resource.namespace)] if host else []


def _namespace(resource: Resource) -> list[str]:
    return [resource.namespace]


def _selector_keys(resource: Resource) -> list[tuple[str, str]]:
    """One label of the selector (Services and Gateways): a pod it selects carries that label."""
    return sorted(string_map(resource.spec.get("selector")).items())[:1]


def gateway_server_key(number: int, host: str, bind: str) -> tuple[int, str, str]:
    """MW404's conflict key: port number, host without a `*/` prefix (which means any namespace), bind."""
    return number, host.removeprefix("*/"), bind


def _gateway_server_keys(resource: Resource) -> list[tuple[int, str, str]]:
    keys = []
    for server in as_list(resource.spec.get("servers")):
        server = as_dict(server)
        number = as_dict(server.get("port")).get("number")
        if isinstance(number, int) and not isinstance(number, bool):
            bind = str(server.get("bind") or "")
            keys += [gateway_server_key(number, str(host), bind) for host in as_list(server.get("hosts"))]
    return keys


def _vs_subset_keys(resource: Resource) -> list[tuple[str, str]]:
    return [
        (fqdn(destination.host, resource.namespace), destination.subset)
        for destination in destinations(all_routes(resource.spec))
        if destination.host and destination.subset
    ]


# Which index each kind feeds: (index name, key function).
INDEXES: Mapping[GroupKind, tuple[tuple[str, Keys], ...]] = {
    SERVICE: (("service-host", _service_hosts), ("service-selector", _selector_keys)),
    SERVICE_ENTRY: (("entry-host", _spec_hosts),),
    DESTINATION_RULE: (("dr-host", _dr_hosts),),
    VIRTUAL_SERVICE: (("vs-host", _spec_hosts), ("vs-subset", _vs_subset_keys)),
    GATEWAY: (("gateway-selector", _selector_keys), ("gateway-server", _gateway_server_keys)),
    PEER_AUTHENTICATION: (("pa-namespace", _namespace),),
}


class InventoryView:
    """Objects by identity (API group, kind, namespace, name), with secondary indexes for every
    cross-rule lookup: what rules may ask. Whether the answers can be trusted (the world is
    complete) is the World's business (webhook.inventory.source), not the store's.

    Thread safety (the live inventory is written by watch threads while request threads read):
    writers hold `_lock`, so concurrent updates never interleave. Readers take no lock; every read
    first copies what it iterates with one `list(d.values())`, a single C-level call during which
    no other thread runs, so no reader iterates a dictionary that a writer is resizing. A reader
    may see an object mid-replacement (briefly absent); a cross rule reporting it missing is then
    confirmed against the API before anything is denied.
    """

    def __init__(self) -> None:
        self._by_name: dict[GroupKind, dict[str, Bucket[Resource]]] = defaultdict(dict)
        self._by_kind: dict[GroupKind, dict[ObjectKey, Resource]] = defaultdict(dict)
        self._indexes: dict[str, dict[Hashable, Bucket[Resource]]] = defaultdict(dict)
        self._pods: dict[ObjectKey, PodTemplate] = {}
        self._pods_by_label: dict[tuple[str, str], Bucket[PodTemplate]] = {}
        self._pods_by_namespace: dict[str, dict[ObjectKey, PodTemplate]] = defaultdict(dict)
        self._namespace_counts: Counter[str] = Counter()

    def __len__(self) -> int:
        return sum(len(objects) for objects in list(self._by_kind.values()))

    def get(self, kind: GroupKind, namespace: str, name: str) -> Resource | None:
        return self._by_kind.get(kind, {}).get((kind, namespace, name))

    def named(self, kind: GroupKind, name: str) -> list[Resource]:
        """Objects of a kind with this name, in any namespace (for did-you-mean fixes)."""
        return _members(self._by_name.get(kind, {}).get(name))

    def of_kind(self, kind: GroupKind) -> list[Resource]:
        return list(self._by_kind.get(kind, {}).values())

    def is_known_namespace(self, namespace: str) -> bool:
        """A known namespace: that of a Namespace object, or one that any object is in."""
        return namespace in self._namespace_counts

    def namespace_labels(self, namespace: str) -> Mapping[str, str] | None:
        """Labels of the Namespace object, or None when the inventory does not have it."""
        found = self.get(NAMESPACE, "", namespace)
        return found.labels if found is not None else None

    def services_for_host(self, host_fqdn: str) -> list[Resource]:
        return self._lookup("service-host", host_fqdn)

    def service_entries_for_host(self, host_fqdn: str) -> list[Resource]:
        return self._lookup("entry-host", host_fqdn)

    def destination_rules_for_host(self, host_fqdn: str) -> list[Resource]:
        return self._lookup("dr-host", host_fqdn)

    def virtual_services_for_host(self, host_fqdn: str) -> list[Resource]:
        return self._lookup("vs-host", host_fqdn)

    def virtual_services_routing_to(self, host_fqdn: str, subset: str) -> list[Resource]:
        """VirtualServices with a route or mirror destination to `subset` of `host_fqdn`."""
        return self._lookup("vs-subset", (host_fqdn, subset))

    def gateways_with_server(self, number: int, host: str, bind: str = "") -> list[Resource]:
        """Gateways with a server on port `number`, `bind`, and this host (`*/h` and `h` are one)."""
        return self._lookup("gateway-server", gateway_server_key(number, host, bind))

    def peer_authentications(self, namespace: str) -> list[Resource]:
        return self._lookup("pa-namespace", namespace)

    def pods_matching(self, selector: Mapping[str, str], namespace: str | None = None) -> list[PodTemplate]:
        """Pods and pod templates whose labels carry `selector` (in `namespace`, or anywhere).

        Topology labels are matched by Istio against the node, not the pod, so they are ignored,
        except that one with an empty value matches nothing.
        """
        wanted = {}
        for key, value in selector.items():
            if key.startswith(TOPOLOGY_PREFIXES):
                if not value:
                    return []
                continue
            wanted[key] = value
        if not wanted:
            pool = self._pods_by_namespace.get(namespace, {}) if namespace is not None else self._pods
            return list(pool.values())
        fewest = min((self._pods_by_label.get(pair) for pair in wanted.items()), key=_size)
        return [
            pod
            for pod in _members(fewest)
            if (namespace is None or pod.namespace == namespace) and selector_matches(wanted, pod.labels)
        ]

    def services_selecting(self, pod: PodTemplate) -> list[Resource]:
        """Services in the pod's namespace whose selector selects it."""
        return [
            service
            for service in self._candidates("service-selector", pod)
            if service.namespace == pod.namespace
            and selector_matches(string_map(service.spec.get("selector")), pod.labels)
        ]

    def gateways_selecting(self, pod: PodTemplate, *, namespace_scoped: bool = False) -> list[Resource]:
        return [
            gateway
            for gateway in self._candidates("gateway-selector", pod)
            if (not namespace_scoped or gateway.namespace == pod.namespace)
            and selector_matches(string_map(as_dict(gateway.spec).get("selector")), pod.labels)
        ]

    def _candidates(self, index: str, pod: PodTemplate) -> list[Resource]:
        table = self._indexes.get(index)
        if not table:
            return []
        seen: dict[ObjectKey, Resource] = {}
        for pair in pod.labels.items():
            seen.update((r.ref.key, r) for r in _members(table.get(pair)))
        return list(seen.values())

    def _lookup(self, index: str, key: Hashable) -> list[Resource]:
        table = self._indexes.get(index)
        return _members(table.get(key)) if table else []


class Inventory(InventoryView):
    """The store with its writers: the CLI adds the files' objects, the live inventory applies
    watch events. Writers hold `_lock`, so concurrent updates never interleave."""

    def __init__(self, resources: Iterable[Resource] = ()):
        super().__init__()
        self._lock = threading.RLock()
        for resource in resources:
            self.add(resource)

    def add(self, resource: Resource) -> None:
        """Adds or replaces the object with this identity."""
        with self._lock:
            key = resource.ref.key
            kind = key[0]
            if key in self._by_kind.get(kind, ()):
                self.remove(resource.ref)
            _put(self._by_name[kind], resource.name, key, resource)
            self._by_kind[kind][key] = resource
            namespace = resource.name if kind == NAMESPACE else resource.namespace
            if namespace:
                self._namespace_counts[namespace] += 1
            for index, keys in INDEXES.get(kind, ()):
                table = self._indexes[index]
                for k in keys(resource):
                    _put(table, k, key, resource)
            template = pod_template(resource)
            if template is not None:
                self._pods[key] = template
                self._pods_by_namespace[resource.namespace][key] = template
                for pair in template.labels.items():
                    _put(self._pods_by_label, pair, key, template)

    def remove(self, ref: ObjectRef) -> None:
        with self._lock:
            key = ref.key
            kind = key[0]
            resource = self._by_kind.get(kind, {}).get(key)
            if resource is None:
                return
            names = self._by_name[kind]
            _take_out(names, resource.name, key)
            if not names:
                del self._by_name[kind]
            _discard(self._by_kind, kind, key)
            namespace = resource.name if kind == NAMESPACE else resource.namespace
            if namespace:
                self._namespace_counts[namespace] -= 1
                if self._namespace_counts[namespace] <= 0:
                    del self._namespace_counts[namespace]
            for index, keys in INDEXES.get(kind, ()):
                for k in keys(resource):
                    _take_out(self._indexes[index], k, key)
            template = self._pods.pop(key, None)
            if template is not None:
                _discard(self._pods_by_namespace, resource.namespace, key)
                for pair in template.labels.items():
                    _take_out(self._pods_by_label, pair, key)


def _discard(table: MutableMapping[Any, dict[ObjectKey, Any]], bucket: Hashable, key: ObjectKey) -> None:
    """Removes `key` from the bucket, and the bucket once it is empty: the keys of objects that
    come and go (a ReplicaSet's `pod-template-hash` label, a deleted Service's host) would
    otherwise stay in the live inventory for the life of the process."""
    found = table.get(bucket)
    if found is not None:
        found.pop(key, None)
        if not found:
            del table[bucket]


def _key_of(member: Resource | PodTemplate) -> ObjectKey:
    return member.ref.key if isinstance(member, Resource) else member.owner.ref.key


def _members(found: Bucket[Member] | None) -> list[Member]:
    if found is None:
        return []
    return list(found.values()) if isinstance(found, dict) else [found]


def _size(found: Bucket[Member] | None) -> int:
    if found is None:
        return 0
    return len(found) if isinstance(found, dict) else 1


def _put(table: dict[Any, Bucket[Member]], bucket: Hashable, key: ObjectKey, member: Member) -> None:
    found = table.get(bucket)
    if isinstance(found, dict):
        found[key] = member
    elif found is None or _key_of(found) == key:
        table[bucket] = member
    else:
        table[bucket] = {_key_of(found): found, key: member}


def _take_out(table: dict[Any, Bucket[Member]], bucket: Hashable, key: ObjectKey) -> None:
    """Removes `key` from the bucket, and the bucket once it is empty (see _discard)."""
    found = table.get(bucket)
    if isinstance(found, dict):
        found.pop(key, None)
        if len(found) == 1:
            table[bucket] = next(iter(found.values()))
        elif not found:
            del table[bucket]
    elif found is not None and _key_of(found) == key:
        del table[bucket]
