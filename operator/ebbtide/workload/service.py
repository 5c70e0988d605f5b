"""An HTTP service that takes ``startup_seconds`` to start and counts the requests it serves.

Until the start-up time has passed nothing listens, so a readiness probe fails and a new pod
adds no capacity yet: the start-up time an autoscaler must forecast across is real. Every request
to ``/`` increments ``http_requests_total{service=...}`` (served on ``/metrics``), from which
Prometheus computes the request rate a ScalingPolicy reads.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

REQUESTS_METRIC = "http_requests"  # exposed as http_requests_total


@dataclass(frozen=True)
class ServiceSettings:
    """How the service behaves: its ``service`` label, port, start-up and per-request times."""

    service: str
    port: int = 8080
    startup_seconds: float = 0.0
    work_seconds: float = 0.0


def application(settings: ServiceSettings) -> web.Application:
    """The service's routes: ``/`` (counted), ``/healthz`` and ``/metrics``."""
    registry = CollectorRegistry()
    requests = Counter(REQUESTS_METRIC, "HTTP requests served", ["service"], registry=registry).labels(
        service=settings.service
    )

    async def serve(request: web.Request) -> web.Response:
        if settings.work_seconds > 0:
            await asyncio.sleep(settings.work_seconds)
        requests.inc()
        return web.Response(text="ok\n")

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/", serve)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def run(settings: ServiceSettings) -> None:
    """Start up (sleeping ``startup_seconds``), then serve until cancelled."""
    await asyncio.sleep(settings.startup_seconds)
    runner = web.AppRunner(application(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host="0.0.0.0", port=settings.port).start()
    print(f"serving {settings.service!r} on :{settings.port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
