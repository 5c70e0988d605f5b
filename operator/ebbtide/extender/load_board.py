"""The latest node load figures, refreshed in the background and read by requests as arrays.

Requests never query Prometheus: a background task fetches the figures every ``refreshSeconds``
(in a thread, as the client is synchronous) and publishes the report here. Requests read columns
aligned to the node table, memoised per (table, report) pair, and treat a figure older than
``maxAgeSeconds`` as unknown, so a Prometheus outage degrades the load-aware factor to neutral and
the filter to "pass" instead of acting on stale data.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ebbtide.errors import NodeLoadError
from ebbtide.metrics.node_load import LoadSource, NodeLoadReport, PrometheusNodeLoad, PrometheusSettings
from ebbtide.metrics.prometheus_access import NO_CREDENTIALS, PrometheusCredentials
from ebbtide.scoring.imbalance import imbalance
from ebbtide.scoring.node_table import FloatArray, IntArray, NodeTable, frozen, gather
from ebbtide.scoring.values import LoadResource

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class LoadColumns:
    """Per resource, each table row's utilisation and sample time (NaN where unknown)."""

    values: Mapping[LoadResource, FloatArray]
    sampled_at: Mapping[LoadResource, FloatArray]

    def utilisation(
        self, resource: LoadResource, *, rows: IntArray, now: float, max_age: float
    ) -> FloatArray:
        """Utilisation of the given rows (-1: a node outside the table), NaN if unknown or stale."""
        values = self.values.get(resource)
        if values is None:
            return np.full(len(rows), np.nan)
        level = gather(values, rows, fill=np.nan)
        sampled_at = gather(self.sampled_at[resource], rows, fill=np.nan)
        result: FloatArray = np.where(now - sampled_at <= max_age, level, np.nan)
        return result


class LoadBoard:
    """Holds the latest :class:`NodeLoadReport` and hands out table-aligned columns."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.report: NodeLoadReport | None = None
        self._clock = clock
        # Two tables are in use at a time at most: the cache's and a full-node request's.
        self._memo: list[tuple[NodeTable, NodeLoadReport | None, LoadColumns]] = []

    def publish(self, report: NodeLoadReport) -> None:
        self.report = report

    def columns(self, table: NodeTable) -> LoadColumns:
        """Columns for ``table`` (recomputed only when the table or the report changed)."""
        report = self.report
        for known_table, known_report, columns in self._memo:
            if known_table is table and known_report is report:
                return columns
        columns = _align(report, table)
        self._memo = [entry for entry in self._memo[-1:] if entry[0] is not table]
        self._memo.append((table, report, columns))
        return columns

    def age_seconds(self) -> float:
        """Seconds since the figures in use were fetched; -1 when none were."""
        if self.report is None:
            return -1.0
        return max(0.0, self._clock() - self.report.fetched_at)

    def known_nodes(self, resource: LoadResource = "cpu") -> int:
        if self.report is None:
            return 0
        return len(self.report.samples.get(resource, {}))


class PrometheusSources:
    """One :class:`PrometheusNodeLoad` per distinct settings, replaced when the settings change."""

    def __init__(self, *, credentials: PrometheusCredentials = NO_CREDENTIALS) -> None:
        self._credentials = credentials
        self._settings: PrometheusSettings | None = None
        self._source: PrometheusNodeLoad | None = None

    def for_settings(self, settings: PrometheusSettings | None) -> LoadSource | None:
        if settings != self._settings:
            if self._source is not None:
                self._source.close()
            self._settings = settings
            self._source = (
                None if settings is None else PrometheusNodeLoad(settings, credentials=self._credentials)
            )
        return self._source


async def refresh_forever(
    *,
    board: LoadBoard,
    source: Callable[[], LoadSource | None],
    interval: Callable[[], float],
    table: Callable[[], NodeTable],
    on_refresh: Callable[[float], None],
    on_failure: Callable[[], None],
) -> None:
    """Fetch load figures every ``interval()`` seconds until cancelled.

    ``on_refresh`` receives the cluster imbalance LB over the table's nodes after each success;
    ``on_failure`` is called when a fetch fails, in which case the previous figures stay.
    """
    loop = asyncio.get_running_loop()
    while True:
        current = source()
        if current is not None:
            try:
                report = await loop.run_in_executor(None, current.fetch)
            except NodeLoadError as error:
                logger.warning("load refresh failed: %s", error)
                on_failure()
            except Exception:
                logger.exception("load refresh failed")
                on_failure()
            else:
                board.publish(report)
                columns = board.columns(table())
                on_refresh(imbalance(columns.values.get("cpu", np.zeros(0)).tolist()))
        await asyncio.sleep(interval())


def _align(report: NodeLoadReport | None, table: NodeTable) -> LoadColumns:
    values: dict[LoadResource, FloatArray] = {}
    sampled_at: dict[LoadResource, FloatArray] = {}
    for resource, samples in (report.samples if report is not None else {}).items():
        level = np.full(len(table), np.nan)
        when = np.full(len(table), np.nan)
        for node, sample in samples.items():
            row = table.index.get(node)
            if row is not None and math.isfinite(sample.utilisation):
                level[row] = sample.utilisation
                when[row] = sample.sampled_at
        values[resource] = frozen(level)
        sampled_at[resource] = frozen(when)
    return LoadColumns(values=values, sampled_at=sampled_at)
