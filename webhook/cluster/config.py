"""How to reach the Kubernetes API: the pod's service account, or a kubeconfig and context."""

from __future__ import annotations

import os

from kubernetes import client, config

from webhook.cluster.api import ClusterError


class KubeconfigError(ClusterError):
    """No usable configuration: no kubeconfig, an unknown context, no service account."""


# Every watch holds a connection for its lifetime; confirmations from request threads use others.
POOL_SIZE = 32


def api_client(kubeconfig: str | None = None, context: str | None = None) -> client.ApiClient:
    """In a pod with neither argument: the service account. Otherwise the kubeconfig (the file given,
    else $KUBECONFIG or ~/.kube/config), at `context` or its current context."""
    configuration = client.Configuration()
    try:
        if kubeconfig is None and context is None and "KUBERNETES_SERVICE_HOST" in os.environ:
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(
                config_file=kubeconfig,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
    except (config.ConfigException, OSError) as error:
        raise KubeconfigError(f"no usable Kubernetes configuration: {error}") from error
    configuration.retries = False  # our callers retry with backoff, or answer within a deadline
    configuration.keep_alive = True  # TCP keepalive: a silently dropped watch connection is noticed
    configuration.connection_pool_maxsize = POOL_SIZE
    return client.ApiClient(configuration)
