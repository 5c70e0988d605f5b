"""The ``ebbtide operator`` the demo runs beside the local cluster, and its readiness checks.

It runs as a component of the cluster would (:mod:`ebbtide.devcluster.process`): in a session
of its own, logging into the cluster's ``logs/`` folder, with a pid file in ``run/``. The demo
stops it when it ends; ``ebbtide dev down`` would stop it too, should the demo be killed.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ebbtide.api.fairqueue_vocabulary import QUEUE_LABEL, SCHEDULING_GATE
from ebbtide.devcluster import process
from ebbtide.devcluster.cluster import ClusterInfo
from ebbtide.devcluster.layout import LOOPBACK, Layout
from ebbtide.devcluster.probes import HttpProbe
from ebbtide.errors import OperatorFailedError

COMPONENT = "ebbtide-demo-operator"


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class OperatorRun:
    """A started operator: where it logs, its pid file, its health and metrics ports."""

    log: Path
    pid_file: Path
    health_port: int
    metrics_port: int
    argv: tuple[str, ...]

    @property
    def metrics_url(self) -> str:
        return f"http://{LOOPBACK}:{self.metrics_port}/metrics"

    def running(self) -> bool:
        return process.find(self.pid_file) is not None

    def stop(self) -> bool:
        """SIGTERM to its process group (SIGKILL after a grace period); False if it had stopped."""
        return process.stop(self.pid_file)


def start_operator(layout: Layout, info: ClusterInfo) -> OperatorRun:
    """Start ``ebbtide operator`` with the admin kubeconfig, on free loopback ports."""
    process.stop(layout.pid_file(COMPONENT))  # one left by an earlier run that was killed
    health_port, metrics_port = free_port(), free_port()
    argv = (
        sys.executable,
        "-m",
        "ebbtide",
        "operator",
        f"--kubeconfig={info.kubeconfig}",
        f"--prometheus-url={info.prometheus_url}",
        f"--metrics-host={LOOPBACK}",
        f"--metrics-port={metrics_port}",
        f"--health-port={health_port}",
        f"--webhook-host={LOOPBACK}",
        f"--webhook-port={free_port()}",
    )
    run = OperatorRun(
        log=layout.log_file(COMPONENT),
        pid_file=layout.pid_file(COMPONENT),
        health_port=health_port,
        metrics_port=metrics_port,
        argv=argv,
    )
    process.start(argv=list(argv), log=run.log, pid_file=run.pid_file)
    return run


def wait_healthy(run: OperatorRun, *, timeout: float = 90.0) -> None:
    """Wait for the operator's /healthz; raises :class:`OperatorFailedError`."""
    healthy = HttpProbe(f"http://{LOOPBACK}:{run.health_port}/healthz")
    _wait(run, healthy, timeout=timeout, what="answer on /healthz")


def wait_for_webhook(run: OperatorRun, core: client.CoreV1Api, *, timeout: float = 90.0) -> None:
    """Wait until the API server has the fair-queue webhook gate a labelled pod (a dry run:
    nothing is created); raises :class:`OperatorFailedError`."""

    _wait(
        run, lambda: webhook_gates(core), timeout=timeout, what="have the fair-queue webhook gate queued pods"
    )


def webhook_gates(core: client.CoreV1Api) -> bool:
    """Whether the API server has the fair-queue webhook gate a pod labelled for a queue (a dry
    run: nothing is created)."""
    try:
        pod = core.create_namespaced_pod("default", _probe_pod(), dry_run="All")
    except ApiException:
        return False  # no webhook configuration yet, or one naming a previous server
    return any(gate.name == SCHEDULING_GATE for gate in pod.spec.scheduling_gates or [])


def _wait(run: OperatorRun, ready: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not run.running():
            raise OperatorFailedError(
                f"the operator exited; last lines of {run.log}:\n{process.log_tail(run.log)}"
            )
        if ready():
            return
        time.sleep(0.5)
    raise OperatorFailedError(
        f"the operator did not {what} within {timeout:.0f}s; last lines of {run.log}:\n"
        f"{process.log_tail(run.log)}"
    )


def _probe_pod() -> dict[str, Any]:
    return {
        "metadata": {"name": "ebbtide-demo-webhook-probe", "labels": {QUEUE_LABEL: "webhook-probe"}},
        "spec": {"containers": [{"name": "probe", "image": "registry.k8s.io/pause:3.10"}]},
    }
