"""What the rules derive from the object under review, once per evaluation.

Several rules read the same facts of one object: whether a pod is in the mesh and is a gateway pod
(MW101, MW102), a VirtualService's routes, match conditions, gateway references and destinations
(MW301-MW310), a Gateway's servers and pods (MW401-MW404). Every rule of one evaluation gets the
same Facts (`context.facts(resource)`): each fact is derived when a rule first asks for it, then
shared, and nothing is copied on the way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import chain
from typing import Any, Generic, TypeVar

from webhook.inventory import InventoryView
from webhook.istio import gateway, mesh, virtualservice
from webhook.istio.mesh import MeshFacts
from webhook.istio.virtualservice import MESH, SECTIONS, Destination, GatewayRef, Route
from webhook.kube import PodTemplate, pod_template
from webhook.model import Body, Resource

T = TypeVar("T")


class derived(Generic[T]):
    """A fact computed on its first read, then kept on the Facts object. As functools.cached_property,
    without the lock that Python 3.11's takes on every first read, one lock for all instances: the
    server's request threads would queue to derive the facts of different objects."""

    def __init__(self, derive: Callable[[Facts], T]):
        self._derive = derive
        self._name = derive.__name__

    def __get__(self, facts: Facts, owner: type[Facts]) -> T:
        value = facts.__dict__[self._name] = self._derive(facts)
        return value


class Facts:
    """The facts of one object, for one evaluation against one inventory and one mesh."""

    def __init__(self, resource: Resource, inventory: InventoryView, mesh_facts: MeshFacts):
        self.resource = resource
        self._inventory = inventory
        self._mesh = mesh_facts

    # --- every kind ---------------------------------------------------------------------------------

    @derived
    def annotations(self) -> Mapping[str, str]:
        pod = self.pod
        return pod.annotations if pod is not None and not pod.is_template else self.resource.annotations

    # --- pods and workloads -------------------------------------------------------------------------

    @derived
    def pod(self) -> PodTemplate | None:
        """The Pod, or the workload's pod template; None for other kinds."""
        return pod_template(self.resource)

    @derived
    def in_mesh(self) -> bool:
        """Whether the pod will run an Istio sidecar (rules.md, "Mesh membership")."""
        return self.pod is not None and mesh.in_mesh(self.pod, self._inventory, self._mesh)

    @derived
    def is_gateway_pod(self) -> bool:
        scoped = self._mesh.gateways_namespace_scoped
        return self.pod is not None and mesh.is_gateway_pod(self.pod, self._inventory, scoped)

    # --- VirtualServices ----------------------------------------------------------------------------

    @derived
    def hosts(self) -> list[str]:
        return virtualservice.hosts_of(self.resource.spec)

    @derived
    def bound_gateways(self) -> list[str]:
        return virtualservice.bound_gateways(self.resource.spec)

    @derived
    def applies_to_mesh(self) -> bool:
        return MESH in self.bound_gateways

    @derived
    def routes(self) -> Mapping[str, list[Route]]:
        """The http, tcp and tls routes, by section."""
        spec = self.resource.spec
        return {section: virtualservice.routes(spec, section) for section in SECTIONS}

    @property
    def http(self) -> list[Route]:
        return self.routes["http"]

    @derived
    def conditions(self) -> Mapping[Route, list[Body]]:
        """By route, the conditions of each of the route's matches (`conditions` in
        webhook.istio.virtualservice)."""
        return virtualservice.match_conditions(chain.from_iterable(self.routes.values()), self.bound_gateways)

    @derived
    def gateway_refs(self) -> list[GatewayRef]:
        resource, all_routes = self.resource, chain.from_iterable(self.routes.values())
        return virtualservice.gateway_refs(resource.spec, resource.namespace, all_routes)

    @derived
    def destinations(self) -> list[Destination]:
        return virtualservice.destinations(chain.from_iterable(self.routes.values()))

    # --- Gateways -----------------------------------------------------------------------------------

    @derived
    def servers(self) -> list[dict[str, Any]]:
        return gateway.servers_of(self.resource)

    @derived
    def selector(self) -> Mapping[str, str]:
        return gateway.selector_of(self.resource)

    @derived
    def gateway_pods(self) -> list[PodTemplate]:
        """The pods (and templates) the Gateway's selector picks."""
        return gateway.gateway_pods(self.resource, self._inventory, self._mesh.gateways_namespace_scoped)
