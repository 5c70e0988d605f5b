"""The demo workload's HTTP service: every request to / is counted for Prometheus."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from ebbtide.workload.service import ServiceSettings, application


async def _exchange() -> tuple[list[int], str]:
    async with TestClient(TestServer(application(ServiceSettings(service="web")))) as client:
        statuses = [(await client.get("/")).status for _ in range(3)]
        statuses.append((await client.get("/healthz")).status)
        metrics = await (await client.get("/metrics")).text()
    return statuses, metrics


def test_requests_to_the_root_are_counted_and_health_checks_are_not() -> None:
    statuses, metrics = asyncio.run(_exchange())
    assert statuses == [200, 200, 200, 200]
    assert 'http_requests_total{service="web"} 3.0' in metrics
