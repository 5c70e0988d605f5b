"""The demo's load: a Prometheus gauge whose value follows the load pattern, served in-process.

The value is computed when Prometheus scrapes, from the time since :meth:`LoadExporter.begin`,
so the series Prometheus records is the pattern itself, sampled every scrape interval. The
local cluster's Prometheus finds the exporter through a file-SD target (job ``ebbtide-demo``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Gauge, start_http_server

from ebbtide.demo.pattern import LoadPattern
from ebbtide.devcluster.configs import write_scrape_targets
from ebbtide.devcluster.layout import LOOPBACK, Layout
from ebbtide.metrics.prometheus_connection import connect

LOAD_METRIC = "ebbtide_demo_requests_per_second"
SCRAPE_JOB = "ebbtide-demo"


class LoadExporter:
    """Serves :data:`LOAD_METRIC` on a free loopback port until :meth:`close`.

    Before :meth:`begin` the load is the pattern's quiet level.
    """

    def __init__(self, pattern: LoadPattern, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.pattern = pattern
        self._clock = clock
        self._began: float | None = None
        self._registry = CollectorRegistry()
        gauge = Gauge(LOAD_METRIC, "Requests per second the ebbtide demo plays", registry=self._registry)
        gauge.set_function(self.load)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def serve(self) -> str:
        """Start serving; returns ``host:port``."""
        self._server, self._thread = start_http_server(0, addr=LOOPBACK, registry=self._registry)
        return f"{LOOPBACK}:{self._server.server_port}"

    def begin(self) -> None:
        """Start the pattern now."""
        self._began = self._clock()

    def elapsed(self) -> float | None:
        """Seconds since :meth:`begin`; None before."""
        return None if self._began is None else self._clock() - self._began

    def load(self) -> float:
        """The load now."""
        elapsed = self.elapsed()
        return self.pattern.base if elapsed is None else self.pattern.value(elapsed)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def register(layout: Layout, target: str) -> None:
    """Have the cluster's Prometheus scrape ``target`` (``host:port``) as :data:`SCRAPE_JOB`."""
    write_scrape_targets(layout, job=SCRAPE_JOB, targets=[target])


def unregister(layout: Layout) -> None:
    write_scrape_targets(layout, job=SCRAPE_JOB, targets=[])


def wait_until_scraped(prometheus_url: str, *, query: str, timeout: float = 60.0) -> None:
    """Wait until ``query`` returns a sample; raises TimeoutError."""
    client = connect(prometheus_url, retries=2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.custom_query(query):
                return
        except Exception:  # Prometheus still starting, or a transient error: ask again
            pass
        time.sleep(1.0)
    raise TimeoutError(f"Prometheus at {prometheus_url} had no sample of {query} after {timeout:.0f}s")
