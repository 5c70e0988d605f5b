"""ebbtide's Helm chart on a kind cluster, with the ebbtide image built here.

The chart runs as users run it (two operator replicas, the webhook behind its Service, the
second scheduler beside the extender); only the image is the local one, never pulled, and the
extender's Service gets the fixed address the repository's kind-config.yaml wires the cluster's
own scheduler to.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from ebbtide.devcluster.paths import bin_dir
from ebbtide.errors import KindError
from ebbtide.kind.cluster import KindCluster

#: The extender Service's clusterIP that kind-config.yaml's scheduler patch calls.
EXTENDER_CLUSTER_IP = "10.96.0.88"


def chart_values(*, image: str, prometheus_url: str) -> dict[str, str]:
    """The chart values for the local ``image`` (``repository:tag``) and ``prometheus_url``."""
    repository, tag = image.rsplit(":", 1)
    return {
        "image.repository": repository,
        "image.tag": tag,
        "image.pullPolicy": "Never",
        "prometheus.url": prometheus_url,
        "scheduler.extender.clusterIP": EXTENDER_CLUSTER_IP,
    }


def install(
    cluster: KindCluster,
    chart: Path,
    *,
    release: str,
    namespace: str,
    values: dict[str, str],
    timeout: float = 600,
) -> None:
    """``helm upgrade --install`` of ``chart`` as ``release`` in ``namespace`` (created when
    missing), waiting until its Deployments are Available."""
    sets = [f"--set={name}={value}" for name, value in values.items()]
    helm(
        cluster, "upgrade", "--install", release, str(chart), f"--namespace={namespace}",
        "--create-namespace", *sets, "--wait", f"--timeout={timeout:.0f}s", timeout=timeout + 60,
    )  # fmt: skip


def uninstall(cluster: KindCluster, *, release: str, namespace: str, timeout: float = 300) -> None:
    """``helm uninstall`` of ``release``, waiting until its objects are gone."""
    helm(
        cluster, "uninstall", release, f"--namespace={namespace}", "--wait", f"--timeout={timeout:.0f}s",
        "--ignore-not-found", timeout=timeout + 60,
    )  # fmt: skip


def helm(cluster: KindCluster, *args: str, timeout: float = 300) -> str:
    """Run the pinned helm against ``cluster`` with a home of its own (no user repositories,
    plugins or cache); raises :class:`KindError` with helm's words when it fails."""
    home = Path(tempfile.gettempdir()) / "ebbtide-helm-home"
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    command = [str(bin_dir() / "helm"), f"--kubeconfig={cluster.kubeconfig}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    if done.returncode != 0:
        raise KindError(f"helm {' '.join(args[:2])} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout
