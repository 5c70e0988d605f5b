"""The load source of ScalingPolicies: their PromQL queries, read from Prometheus.

prometheus-api-client is synchronous, so every query runs in a dedicated thread pool whose size
(``prometheus_concurrency``) bounds how many queries the operator has in flight, whatever the
number of policies; the event loop never waits on the network. Each worker thread has its own
client (a ``requests.Session`` is not meant to be shared between threads).

History comes from ``query_range`` and is cached per policy (see :mod:`.load_history`), so a
round costs one small query. Every failure (unreachable, timeout, PromQL error, empty result,
several series, NaN, Inf, a metric that stopped) is a ``ReadFailure`` with a message for the
user, never a zero load.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from prometheus_api_client.prometheus_connect import PrometheusConnect

from ebbtide.metrics import prometheus_connection, scaling_metrics
from ebbtide.metrics.load_history import LoadHistoryCache, RangeRead, grid_step
from ebbtide.metrics.prometheus_access import NO_CREDENTIALS, PrometheusCredentials
from ebbtide.metrics.prometheus_errors import QueryError, describe_error
from ebbtide.metrics.prometheus_result import latest_problem, merge, series_from_matrix
from ebbtide.scaling.series import LoadSeries, ReadFailure

#: Prometheus refuses a range query of more than 11,000 points per series; stay below it.
MAX_POINTS = 10_000
#: Seconds a query may take (the client takes whole seconds); Prometheus is told the same.
DEFAULT_TIMEOUT = 10

logger = logging.getLogger(__name__)
Connect = Callable[[str], PrometheusConnect]


def connect(url: str, credentials: PrometheusCredentials = NO_CREDENTIALS) -> PrometheusConnect:
    """A client for the load source: two retries (see :mod:`.prometheus_connection`)."""
    return prometheus_connection.connect(url, retries=2, credentials=credentials)


#: :func:`connect`, under a name the source's ``connect`` parameter does not shadow.
_connect = connect


class PrometheusLoadSource:
    """Reads each policy's load history; :meth:`read` is a coroutine, the I/O runs in threads."""

    def __init__(
        self,
        *,
        url: str,
        concurrency: int,
        timeout: int = DEFAULT_TIMEOUT,
        credentials: PrometheusCredentials = NO_CREDENTIALS,
        connect: Connect | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._connect: Connect = connect or functools.partial(_connect, credentials=credentials)
        self._clock = clock
        self._cache = LoadHistoryCache()
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, concurrency), thread_name_prefix="ebbtide-prometheus"
        )
        self._local = threading.local()
        self._clients: list[PrometheusConnect] = []
        self._clients_lock = threading.Lock()

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
            loop = asyncio.get_running_loop()
            fresh = await loop.run_in_executor(self._executor, self._fetch, query, plan, time.perf_counter())
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

    def close(self) -> None:
        """Stop the worker threads and close every client's connections."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._clients_lock:
            for client in self._clients:
                client.close()
            self._clients.clear()

    # -- in the worker threads -----------------------------------------------------------------

    def _fetch(self, query: str, plan: RangeRead, submitted: float) -> LoadSeries | ReadFailure | QueryError:
        """Run ``plan`` (in chunks Prometheus accepts) and return its samples."""
        scaling_metrics.POOL_WAIT_SECONDS.labels(pool="prometheus").observe(time.perf_counter() - submitted)
        parts: list[LoadSeries] = []
        for chunk in _chunks(plan):
            started = time.perf_counter()
            try:
                result = self._client().custom_query_range(
                    query,
                    start_time=datetime.fromtimestamp(chunk.start, UTC),
                    end_time=datetime.fromtimestamp(chunk.end, UTC),
                    step=f"{chunk.step:g}",
                    params={"timeout": f"{self.timeout}s"},
                    timeout=self.timeout,
                )
            except Exception as error:
                scaling_metrics.QUERY_SECONDS.labels(outcome="error").observe(time.perf_counter() - started)
                logger.debug("query %r failed: %r", query, error)
                return describe_error(error, url=self.url, timeout=self.timeout)
            scaling_metrics.QUERY_SECONDS.labels(outcome="ok").observe(time.perf_counter() - started)
            part = series_from_matrix(result, query=query)
            if isinstance(part, ReadFailure):
                return part
            parts.append(part)
        return merge(parts)

    def _client(self) -> PrometheusConnect:
        client: PrometheusConnect | None = getattr(self._local, "client", None)
        if client is None:
            client = self._connect(self.url)
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client


def _chunks(plan: RangeRead) -> list[RangeRead]:
    """``plan`` split into reads of at most :data:`MAX_POINTS` samples, oldest first."""
    chunks = []
    start = plan.start
    while start <= plan.end:
        end = min(plan.end, start + (MAX_POINTS - 1) * plan.step)
        chunks.append(RangeRead(start=start, end=end, step=plan.step))
        start = end + plan.step
    return chunks
