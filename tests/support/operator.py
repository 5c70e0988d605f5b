"""Running the real ``ebbtide operator`` process against the test cluster."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.chart_identities import ChartIdentities
from tests.support.cluster import E2ECluster


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OperatorProcess:
    """One ``ebbtide operator`` run: start, crash (SIGKILL), restart, and read its log."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    health_port: int
    metrics_port: int
    process: subprocess.Popen[bytes] | None = field(default=None)

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self, *, timeout: float = 60) -> None:
        """Start the operator and wait until it reports healthy."""
        self.launch()
        self.wait_healthy(timeout=timeout)

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the operator without waiting for it (e.g. while the API server is down)."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        return self.process

    def wait_healthy(self, *, timeout: float = 60) -> None:
        """Wait until the running operator answers its health probe; fail if it exits."""
        assert self.process is not None, "the operator was never started"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"operator exited with {self.process.returncode}:\n{self.log_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"operator not healthy after {timeout:.0f}s:\n{self.log_text()[-3000:]}")

    def kill(self) -> None:
        """Crash the operator: SIGKILL, no chance to clean up."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """Stop the operator gracefully."""
        self._signal(signal.SIGTERM)

    def _signal(self, signum: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signum)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def running_operator(
    cluster: E2ECluster,
    *,
    log: Path,
    controllers: str = "scaling,queueing",
    kubeconfig: Path | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[OperatorProcess]:
    """Run ``ebbtide operator`` (admin kubeconfig unless ``kubeconfig`` is given) until the block ends."""
    health_port, metrics_port = free_port(), free_port()
    argv = [
        sys.executable,
        "-m",
        "ebbtide",
        "operator",
        f"--kubeconfig={kubeconfig or cluster.kubeconfig}",
        f"--prometheus-url={cluster.prometheus_url}",
        f"--controllers={controllers}",
        "--metrics-host=127.0.0.1",
        f"--metrics-port={metrics_port}",
        f"--health-port={health_port}",
        *extra_args,
    ]
    operator = OperatorProcess(
        argv=argv, env=dict(os.environ), log=log, health_port=health_port, metrics_port=metrics_port
    )
    operator.start()
    try:
        yield operator
    finally:
        operator.stop()


@contextmanager
def namespaced_scaling_operator(
    cluster: E2ECluster,
    identities: ChartIdentities,
    namespace: str,
    *,
    log: Path,
    extra_args: tuple[str, ...] = (),
) -> Iterator[OperatorProcess]:
    """The scaling controller alone, as the chart's operator service account runs it, watching
    only ``namespace`` (so tests side by side never see each other's policies), with
    ``extra_args`` on its command line."""
    with running_operator(
        cluster,
        log=log,
        controllers="scaling",
        kubeconfig=identities.operator,
        extra_args=(f"--namespace={namespace}", *extra_args),
    ) as operator:
        yield operator
