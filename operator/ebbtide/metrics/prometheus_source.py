"""The load source of ScalingPolicies: their PromQL queries, read from Prometheus.

Queries run in the event loop (:mod:`.prometheus_queries`), at most ``concurrency`` in flight
whatever the number of policies.

History comes from ``query_range`` and is cached per policy (see :mod:`.load_history`), so a
round costs one small query. Every failure (unreachable, timeout, PromQL error, empty result,
several series, NaN, Inf, a metric that stopped) is a ``ReadFailure`` with a message for the
user, never a zero load.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Hashable

from ebbtide.metrics import scaling_metrics
from ebbtide.metrics.load_history import LoadHistoryCache, RangeRead, grid_step
from ebbtide.metrics.prometheus_access import NO_CREDENTIALS, PrometheusCredentials
from ebbtide.metrics.prometheus_errors import QueryError
from ebbtide.metrics.prometheus_queries import PrometheusQueries
from ebbtide.metrics.prometheus_result import latest_problem, merge, series_from_matrix
from ebbtide.scaling.series import LoadSeries, ReadFailure

#: Prometheus refuses a range query of more than 11,000 points per series; stay below it.
MAX_POINTS = 10_000
#: Seconds a query may take; Prometheus is told the same.
DEFAULT_TIMEOUT = 10

logger = logging.getLogger(__name__)


class PrometheusLoadSource:
    """Reads each policy's load history; :meth:`read` is a coroutine run in the operator's loop."""

    def __init__(
        self,
        *,
        url: str,
        concurrency: int,
        timeout: int = DEFAULT_TIMEOUT,
        credentials: PrometheusCredentials = NO_CREDENTIALS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url.rstrip("/")
        self._queries = PrometheusQueries(
            self.url, timeout=timeout, concurrency=concurrency, credentials=credentials
        )
        self._clock = clock
        self._cache = LoadHistoryCache()

    async def read(
        self, *, key: Hashable, query: str, history: float, interval: float
    ) -> LoadSeries | ReadFailure:
        """The load history of ``query`` over the last ``history`` seconds, sampled about every
        ``interval`` seconds, ending with the load now; or why it cannot be had.

        ``key`` names the policy whose cached history to extend.
        """
        step = grid_step(interval)
        now = self._clock()
        plan = self._cache.next_read(key, query=query, step=step, history=history, now=now)
        if plan is None:
            series = self._cache.cached(key, query=query, step=step, history=history)
            end = float(math.floor(now))
        else:
            fresh = await self._fetch(query, plan)
            if isinstance(fresh, QueryError):
                scaling_metrics.ERRORS.labels(kind=f"prometheus_{fresh.kind}").inc()
                return ReadFailure(fresh.message)
            if isinstance(fresh, ReadFailure):
                scaling_metrics.ERRORS.labels(kind="prometheus_answer").inc()
                return fresh
            end = plan.end
            series = self._cache.store(key, query=query, step=step, history=history, end=end, fresh=fresh)
        problem = latest_problem(series, at=end)
        if problem is not None:
            scaling_metrics.ERRORS.labels(kind="no_data").inc()
            return ReadFailure(problem)
        return series

    def forget(self, key: Hashable) -> None:
        """Drop the cached history of ``key`` (its policy is gone)."""
        self._cache.forget(key)

    async def close(self) -> None:
        """Close the connections to Prometheus."""
        await self._queries.close()

    async def _fetch(self, query: str, plan: RangeRead) -> LoadSeries | ReadFailure | QueryError:
        """Run ``plan`` (in chunks Prometheus accepts) and return its samples."""
        parts: list[LoadSeries] = []
        for chunk in _chunks(plan):
            result = await self._queries.query_range(query, start=chunk.start, end=chunk.end, step=chunk.step)
            if isinstance(result, QueryError):
                logger.debug("query %r failed: %s", query, result.message)
                return result
            part = series_from_matrix(result, query=query)
            if isinstance(part, ReadFailure):
                return part
            parts.append(part)
        return merge(parts)


def _chunks(plan: RangeRead) -> list[RangeRead]:
    """``plan`` split into reads of at most :data:`MAX_POINTS` samples, oldest first."""
    chunks = []
    start = plan.start
    while start <= plan.end:
        end = min(plan.end, start + (MAX_POINTS - 1) * plan.step)
        chunks.append(RangeRead(start=start, end=end, step=plan.step))
        start = end + plan.step
    return chunks
