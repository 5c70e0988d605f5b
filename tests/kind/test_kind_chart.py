"""The chart with the real image on kind: the Dockerfile builds, `kind load docker-image` puts the
image on the nodes, the operator and the second scheduler become Available, and the operator's
webhook, served with the chart's certificate, gates a queued pod.

The pods run on kind's real nodes: they select and tolerate the label and taint that keep the e2e
scenarios' pods on KWOK's fake nodes (tests/support/kind.py), where no container would run.

Collected only with EBBTIDE_TEST_CLUSTER=kind (see conftest.py); needs Docker.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tests.support.cluster import REPO, E2ECluster
from tests.support.kind import kind_handle, real_node_placement
from tests.unit.chart.chart_rendering import CHART, helm, set_args

pytestmark = pytest.mark.e2e

IMAGE_REPOSITORY = "ebbtide"
IMAGE_TAG = "kind-test"
SCOPE_LABEL = "ebbtide-kind-test-webhook"


@pytest.fixture(scope="module")
def image(cluster: E2ECluster) -> str:
    """Build the image from the Dockerfile and load it into the kind cluster's nodes."""
    assert cluster.backend == "kind", "tests/kind runs only on the kind backend"
    docker = shutil.which("docker")
    assert docker, "the kind tests need Docker (docker on PATH)"
    reference = f"{IMAGE_REPOSITORY}:{IMAGE_TAG}"
    subprocess.run([docker, "build", "--tag", reference, str(REPO)], check=True, timeout=1800)
    # The kind cluster tests/support/kind.py created (same name, same kind binary).
    kind_handle().load_docker_image(reference)
    return reference


@pytest.fixture
def release(cluster: E2ECluster, image: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(release, namespace): the chart installed with the loaded image on kind's real nodes;
    uninstalled afterwards."""
    name, namespace = f"k{uuid.uuid4().hex[:6]}", f"kind-chart-{uuid.uuid4().hex[:6]}"
    placement = tmp_path / "placement.yaml"
    placement.write_text(yaml.safe_dump(real_node_placement()))
    server = json.loads(cluster.kubectl("version", "--output=json").stdout)["serverVersion"]["gitVersion"]
    values = {
        "image.repository": IMAGE_REPOSITORY,
        "image.tag": IMAGE_TAG,
        "image.pullPolicy": "Never",
        # The second scheduler at the cluster's own version (the version skew policy).
        "scheduler.image.tag": server.split("+")[0],
        "scheduler.name": f"{name}-scheduler",
        f"webhook.namespaceSelector.matchLabels.{SCOPE_LABEL}": name,
        "prometheus.url": cluster.prometheus_url,
    }
    common = [f"--kubeconfig={cluster.kubeconfig}", f"--namespace={namespace}"]
    try:
        helm(
            "install",
            name,
            str(CHART),
            *common,
            "--create-namespace",
            "--take-ownership",
            f"--values={placement}",
            *set_args(values),
            "--wait",
            "--timeout=10m",
        )
        yield name, namespace
    finally:
        helm("uninstall", name, *common, "--wait", check=False)
        cluster.kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=false")


def test_the_image_runs_the_operator_and_the_scheduler_and_the_webhook_gates_a_queued_pod(
    cluster: E2ECluster, release: tuple[str, str]
) -> None:
    name, namespace = release
    for component in ("operator", "scheduler"):
        cluster.kubectl(
            "wait",
            f"--namespace={namespace}",
            "--for=condition=Available",
            "--timeout=300s",
            f"deployment/{name}-ebbtide-{component}",
        )
    probe = f"{name}-probe"
    cluster.kubectl("create", "namespace", probe)
    try:
        cluster.kubectl("label", "namespace", probe, f"{SCOPE_LABEL}={name}")
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "queued", "namespace": probe, "labels": {"ebbtide.io/queue": "batch"}},
            "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
        }
        # The webhook Service may take a moment to route to the ready replicas.
        deadline = time.monotonic() + 120
        while True:
            created = cluster.kubectl(
                "create", "--filename=-", "--output=json", input=json.dumps(pod), check=False
            )
            if created.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert created.returncode == 0, created.stderr
        gates = json.loads(created.stdout)["spec"].get("schedulingGates") or []
        assert {"name": "ebbtide.io/fair-queue"} in gates
    finally:
        cluster.kubectl("delete", "namespace", probe, "--wait=false")
