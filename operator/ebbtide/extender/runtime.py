"""Assemble a running extender: service, HTTP app and its background tasks.

The background tasks (configuration reload, load refresh, garbage-collector housekeeping) live and
die with the aiohttp app. The node cache's threads are started by the caller, which knows how to
reach the API server.

Garbage-collector housekeeping: the cache holds a few objects per pod and node, and a full
collection over hundreds of thousands of them pauses the process for a hundred milliseconds or
more, in the middle of whatever request is running. So once the cache has synced, and again every
``freeze_interval`` seconds, the extender collects and then freezes what survived (``gc.freeze``):
later collections only look at objects created since. Objects are still freed by reference
counting as usual; only reference cycles created between two freezes and still alive at the
second could outlive their use.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from aiohttp import web

from ebbtide.extender.app import create_app
from ebbtide.extender.config_reload import DEFAULT_CHECK_INTERVAL, ConfigHolder
from ebbtide.extender.load_board import LoadBoard, PrometheusSources, refresh_forever
from ebbtide.extender.service import ClusterSource, ExtenderService
from ebbtide.extender.telemetry import Telemetry
from ebbtide.metrics.node_load import LoadSource
from ebbtide.metrics.prometheus_access import NO_CREDENTIALS, PrometheusCredentials

# How often derived per-table structures are rebuilt ahead of requests after a node change.
WARM_INTERVAL = 0.25


@dataclass
class Extender:
    """Everything one extender process runs, wired together."""

    config: ConfigHolder
    cluster: ClusterSource
    board: LoadBoard = field(default_factory=LoadBoard)
    telemetry: Telemetry = field(default_factory=Telemetry)
    # Where load figures come from; by default Prometheus as the configuration says.
    load_source: Callable[[], LoadSource | None] | None = None
    #: How to authenticate to the configured Prometheus (``--prometheus-*`` options).
    prometheus_credentials: PrometheusCredentials = NO_CREDENTIALS
    reload_interval: float = DEFAULT_CHECK_INTERVAL
    freeze_interval: float | None = 300.0  # None: leave the garbage collector alone (tests)

    service: ExtenderService = field(init=False)

    def __post_init__(self) -> None:
        if self.load_source is None:
            sources = PrometheusSources(credentials=self.prometheus_credentials)
            self.load_source = lambda: sources.for_settings(self.config().load.prometheus())

    def app(self) -> web.Application:
        self.service = service = ExtenderService(
            cluster=self.cluster,
            loads=self.board,
            settings=self.config.scoring,
            telemetry=self.telemetry,
        )
        app = create_app(
            service=service,
            telemetry=self.telemetry,
            health=self.health,
            max_body_bytes=self.config().server.max_body_bytes,
        )
        self.telemetry.observe_state(
            cache_objects=self._cache_objects,
            load_age_seconds=self.board.age_seconds,
            load_nodes=self.board.known_nodes,
        )
        app.cleanup_ctx.append(self._background)
        return app

    def health(self) -> dict[str, object]:
        """The ``/healthz`` body: always served, with what a person debugging needs."""
        snapshot = self.cluster.snapshot()
        return {
            "status": "ok" if snapshot.synced else "syncing",
            "nodes": len(snapshot.table),
            "boundPods": snapshot.bound_pods,
            "assumedPods": snapshot.assumed_pods,
            "loadAgeSeconds": round(self.board.age_seconds(), 3),
            "loadNodes": self.board.known_nodes(),
            "configError": self.config.last_error,
        }

    def _cache_objects(self) -> dict[str, int]:
        snapshot = self.cluster.snapshot()
        return {
            "nodes": len(snapshot.table),
            "bound_pods": snapshot.bound_pods,
            "assumed_pods": snapshot.assumed_pods,
        }

    async def _background(self, app: web.Application) -> AsyncIterator[None]:
        assert self.load_source is not None  # set in __post_init__
        tasks = [
            asyncio.create_task(self.config.watch_forever(interval=self.reload_interval)),
            asyncio.create_task(
                refresh_forever(
                    board=self.board,
                    source=self.load_source,
                    interval=lambda: self.config().load.refresh_seconds,
                    table=lambda: self.cluster.snapshot().table,
                    on_refresh=self.telemetry.imbalance.set,
                    on_failure=self.telemetry.load_refresh_failures.inc,
                )
            ),
        ]
        tasks.append(asyncio.create_task(self._keep_warm()))
        if self.freeze_interval is not None:
            tasks.append(asyncio.create_task(self._freeze_survivors(self.freeze_interval)))
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _keep_warm(self) -> None:
        while True:
            self.service.warm()
            await asyncio.sleep(WARM_INTERVAL)

    async def _freeze_survivors(self, interval: float) -> None:
        while not self.cluster.snapshot().synced:
            await asyncio.sleep(0.5)
        while True:
            gc.collect()
            gc.freeze()
            await asyncio.sleep(interval)
