"""The kinds Meshwarden knows, each with its API group.

A kind of another group that shares a name with one of these (the Gateway API's
`gateway.networking.k8s.io` Gateway) is a different kind: no rule checks it, and no lookup of the
Istio kind finds it.
"""

from __future__ import annotations

from webhook.model import GroupKind

ISTIO_NETWORKING = "networking.istio.io"
ISTIO_SECURITY = "security.istio.io"
K8S_NETWORKING = "networking.k8s.io"
GATEWAY_API = "gateway.networking.k8s.io"

NAMESPACE = GroupKind("", "Namespace")
SERVICE = GroupKind("", "Service")
POD = GroupKind("", "Pod")
REPLICATION_CONTROLLER = GroupKind("", "ReplicationController")
DEPLOYMENT = GroupKind("apps", "Deployment")
STATEFUL_SET = GroupKind("apps", "StatefulSet")
DAEMON_SET = GroupKind("apps", "DaemonSet")
REPLICA_SET = GroupKind("apps", "ReplicaSet")
JOB = GroupKind("batch", "Job")
CRON_JOB = GroupKind("batch", "CronJob")
INGRESS = GroupKind(K8S_NETWORKING, "Ingress")
INGRESS_CLASS = GroupKind(K8S_NETWORKING, "IngressClass")
GATEWAY = GroupKind(ISTIO_NETWORKING, "Gateway")
VIRTUAL_SERVICE = GroupKind(ISTIO_NETWORKING, "VirtualService")
DESTINATION_RULE = GroupKind(ISTIO_NETWORKING, "DestinationRule")
SERVICE_ENTRY = GroupKind(ISTIO_NETWORKING, "ServiceEntry")
PEER_AUTHENTICATION = GroupKind(ISTIO_SECURITY, "PeerAuthentication")
GATEWAY_API_GATEWAY = GroupKind(GATEWAY_API, "Gateway")
"""Never checked; read only where Istio reads it: a VirtualService may bind to one (MW301)."""

WORKLOADS = frozenset(
    {DEPLOYMENT, STATEFUL_SET, DAEMON_SET, REPLICA_SET, REPLICATION_CONTROLLER, JOB, CRON_JOB}
)
"""Kinds with a pod template."""
POD_KINDS = WORKLOADS | {POD}
"""A Pod, or a workload whose pod template stands for the pods it will create."""
