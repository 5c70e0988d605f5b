"""The command line of an ``ebbtide operator`` that runs only the ScalingPolicy side, as the
operator benches start it: on the cluster's kubeconfig and Prometheus, watching one namespace,
with its metrics and health endpoints on the given loopback ports."""

from __future__ import annotations

import sys

from ebbtide.devcluster.cluster import ClusterInfo


def scaling_operator_argv(
    info: ClusterInfo, *, namespace: str, metrics_port: int, health_port: int
) -> list[str]:
    return [
        sys.executable, "-m", "ebbtide", "operator",
        f"--kubeconfig={info.kubeconfig}",
        f"--prometheus-url={info.prometheus_url}",
        "--controllers=scaling",
        f"--namespace={namespace}",
        "--metrics-host=127.0.0.1",
        f"--metrics-port={metrics_port}",
        f"--health-port={health_port}",
    ]  # fmt: skip
