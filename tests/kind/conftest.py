"""Tests on a kind cluster with real nodes: collected only with ``EBBTIDE_TEST_CLUSTER=kind``.

With the local backend they are left out at collection, not skipped (a skip fails a strict run):
the local cluster's KWOK nodes run no containers. Here everything is real: the images are built
on this machine (:mod:`ebbtide.kind.images`), the cluster runs the offline node image
(``ebbtide kind image``), and ebbtide is installed with its Helm chart. The cluster is named by
``EBBTIDE_KIND_CLUSTER_NAME`` (default ``ebbtide-test``); one this session created is deleted at
the end unless ``EBBTIDE_KEEP_CLUSTER=1``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
from tests.support.cluster import BACKEND_ENV, REPO
from tests.support.kind_bed import PROMETHEUS_URL, KindBed, with_images

from ebbtide.devcluster.paths import state_root
from ebbtide.kind.binaries import ensure_kind
from ebbtide.kind.cluster import KindCluster
from ebbtide.kind.images import ensure_images
from ebbtide.kind.nodeimage import ensure_node_image

collect_ignore_glob = [] if os.environ.get(BACKEND_ENV) == "kind" else ["test_*.py"]


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@pytest.fixture(scope="session")
def kind_bed() -> Iterator[KindBed]:
    """The kind cluster with the images built here loaded on every node."""
    log = state_root() / "kind-build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    images = ensure_images(progress=_progress, log=log)
    node_image = ensure_node_image(progress=_progress, log=log)
    cluster = KindCluster(os.environ.get("EBBTIDE_KIND_CLUSTER_NAME", "ebbtide-test"), ensure_kind(_progress))
    existed = cluster.exists()
    try:
        # Inside the try: kind keeps the nodes of a creation that fails (--retain, for its logs).
        cluster.create(image=node_image, config=REPO / "kind-config.yaml", progress=_progress)
        cluster.load(images.ebbtide, images.workload, images.loadgen, images.prometheus)
        yield KindBed(cluster=cluster, images=images)
    finally:
        if not existed and os.environ.get("EBBTIDE_KEEP_CLUSTER") != "1":
            cluster.delete()


@pytest.fixture(scope="session")
def prometheus(kind_bed: KindBed) -> str:
    """Prometheus in the cluster (examples/kind/prometheus.yaml), Ready; its in-cluster URL."""
    manifest = with_images(
        REPO / "examples/kind/prometheus.yaml", {"ebbtide-prometheus": kind_bed.images.prometheus}
    )
    kind_bed.kubectl("apply", "--filename=-", input=manifest)
    kind_bed.kubectl(
        "rollout", "status", "--namespace=monitoring", "deployment/prometheus", "--timeout=300s", timeout=320
    )
    return PROMETHEUS_URL
