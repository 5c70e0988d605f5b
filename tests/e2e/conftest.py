"""Fixtures for end-to-end tests: the real cluster, its CRDs, fresh namespaces, Prometheus."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from kubernetes.client.exceptions import ApiException
from tests.support.chart_identities import ChartIdentities, install_chart_identities
from tests.support.cluster import REPO, E2ECluster, provide_cluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[E2ECluster]:
    with provide_cluster() as running:
        yield running


@pytest.fixture(scope="session")
def prometheus(cluster: E2ECluster) -> str:
    """The URL of the Prometheus server that scrapes the test targets."""
    return cluster.prometheus_url


@pytest.fixture(scope="session")
def crds(cluster: E2ECluster) -> list[str]:
    """Apply crds/*.yaml and wait until every CRD is Established; returns their names."""
    files = sorted((REPO / "crds").glob("*.yaml"))
    assert files, "crds/ holds no CRDs"
    cluster.kubectl("apply", "--server-side", "--force-conflicts", *[f"-f={f}" for f in files])
    names = [
        line.split("/", 1)[1]
        for line in cluster.kubectl("get", *[f"-f={f}" for f in files], "-o", "name").stdout.split()
    ]
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", *[f"crd/{name}" for name in names]
    )
    return names


@pytest.fixture(scope="session")
def chart_identities(
    cluster: E2ECluster, crds: list[str], tmp_path_factory: pytest.TempPathFactory
) -> ChartIdentities:
    """The Helm chart's service accounts and RBAC, applied; the operator and the extender run
    with their tokens, so every scenario proves the chart grants enough."""
    return install_chart_identities(cluster, tmp_path_factory.mktemp("chart-identities"))


@pytest.fixture
def namespace(cluster: E2ECluster) -> Iterator[str]:
    """A fresh namespace whose default service account exists; deleted after the test."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    cluster.core.create_namespace({"metadata": {"name": name, "labels": {"ebbtide.io/test": "true"}}})
    deadline = time.monotonic() + 60
    while True:
        try:
            cluster.core.read_namespaced_service_account("default", name)
            break
        except ApiException as error:
            if error.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    yield name
    cluster.core.delete_namespace(name)
