"""Handles on the kind cluster with real nodes that tests/kind runs on (see its conftest)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from kubernetes import client, config

from ebbtide.devcluster.paths import bin_dir
from ebbtide.kind.cluster import KindCluster
from ebbtide.kind.images import Images

#: Where examples/kind/prometheus.yaml serves Prometheus, inside the cluster.
PROMETHEUS_URL = "http://prometheus.monitoring.svc:9090"


@dataclass
class KindBed:
    """The cluster, the images loaded on its nodes, API clients and the pinned kubectl."""

    cluster: KindCluster
    images: Images
    api_client: client.ApiClient = field(init=False)

    def __post_init__(self) -> None:
        self.api_client = config.new_client_from_config(config_file=str(self.kubeconfig))

    @property
    def kubeconfig(self) -> Path:
        return self.cluster.kubeconfig

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api_client)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api_client)

    @property
    def batch(self) -> client.BatchV1Api:
        return client.BatchV1Api(self.api_client)

    @property
    def coordination(self) -> client.CoordinationV1Api:
        return client.CoordinationV1Api(self.api_client)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api_client)

    @property
    def admission(self) -> client.AdmissionregistrationV1Api:
        return client.AdmissionregistrationV1Api(self.api_client)

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run the pinned kubectl against the cluster."""
        return subprocess.run(
            [str(bin_dir() / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )


def with_images(manifest: Path, images: dict[str, str]) -> str:
    """The YAML documents of ``manifest`` with each container image whose repository is a key of
    ``images`` replaced by its value (the tags built here), and pulled never."""
    documents = [d for d in yaml.safe_load_all(manifest.read_text()) if d]
    for document in documents:
        pod = ((document.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container in pod.get("containers") or []:
            repository = container["image"].rsplit(":", 1)[0]
            if repository in images:
                container["image"] = images[repository]
                container["imagePullPolicy"] = "Never"
    return yaml.safe_dump_all(documents)
