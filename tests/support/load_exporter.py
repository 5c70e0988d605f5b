"""A load metric the test controls, served over HTTP for the test cluster's Prometheus to scrape.

The value is computed when Prometheus scrapes, so a ramp (``ramp(start=..., per_second=...)``)
rises smoothly with no thread to keep it updated. The exporter listens on 127.0.0.1 and is
registered with Prometheus through file-based service discovery (``cluster.add_scrape_target``).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Gauge, start_http_server
from tests.support.cluster import E2ECluster

METRIC = "ebbtide_test_load"


@dataclass
class LoadExporter:
    """The load as Prometheus sees it: ``set`` a constant or ``ramp`` it; ``query`` is the
    PromQL that reads it back as one series."""

    job: str
    port: int
    clock: Callable[[], float] = time.monotonic
    _value: Callable[[], float] = field(default=lambda: 0.0)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def query(self) -> str:
        return f'sum({METRIC}{{job="{self.job}"}})'

    def set(self, value: float) -> None:
        """Serve the constant ``value`` from now on."""
        with self._lock:
            self._value = lambda: value

    def ramp(self, *, start: float, per_second: float) -> None:
        """Serve ``start`` now, rising by ``per_second`` every second from now on."""
        began = self.clock()
        with self._lock:
            self._value = lambda: start + per_second * (self.clock() - began)

    def value(self) -> float:
        """The value a scrape would see now."""
        with self._lock:
            return self._value()


@contextmanager
def load_exporter(cluster: E2ECluster, *, job: str, initial: float = 0.0) -> Iterator[LoadExporter]:
    """Serve ``ebbtide_test_load`` for ``job`` and have Prometheus scrape it until the block ends."""
    registry = CollectorRegistry()
    port = _free_port()
    exporter = LoadExporter(job=job, port=port)
    exporter.set(initial)
    gauge = Gauge(METRIC, "Load the test drives", registry=registry)
    gauge.set_function(exporter.value)
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    cluster.add_scrape_target(job=job, targets=[f"127.0.0.1:{port}"])
    try:
        yield exporter
    finally:
        cluster.add_scrape_target(job=job, targets=[])
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
