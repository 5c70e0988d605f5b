"""How ebbtide connects to the Kubernetes API: a kubeconfig file, else the in-cluster service account."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client, config


def load_api_client(kubeconfig: Path | None = None) -> client.ApiClient:
    """An API client for ``kubeconfig``, or for the pod's service account when it is None.

    Raises ``kubernetes.config.ConfigException`` when neither is available.
    """
    if kubeconfig is not None:
        return config.new_client_from_config(config_file=str(kubeconfig))
    configuration = client.Configuration()
    config.load_incluster_config(client_configuration=configuration)
    return client.ApiClient(configuration)
