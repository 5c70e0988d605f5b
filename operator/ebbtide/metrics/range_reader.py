"""Range queries against Prometheus: a load series for the backtest.

Implements :class:`ebbtide.scaling.load_source.LoadSource` with prometheus-api-client's
``custom_query_range``. Prometheus refuses ranges of more than 11,000 points per series, so
longer ranges are read in chunks and joined.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from ebbtide.errors import RangeReadError
from ebbtide.metrics.prometheus_access import NO_CREDENTIALS, PrometheusCredentials
from ebbtide.metrics.prometheus_connection import connect
from ebbtide.scaling.series import LoadSeries

# Below Prometheus' limit of 11,000 points per series and query.
MAX_POINTS_PER_QUERY = 10_000


def read_range(
    *,
    url: str,
    query: str,
    start: float,
    end: float,
    step: float,
    credentials: PrometheusCredentials = NO_CREDENTIALS,
) -> list[tuple[float, float]]:
    """The samples ``(unix_seconds, value)`` of ``query`` from ``start`` to ``end`` (Unix
    seconds) every ``step`` seconds, in time order; empty when Prometheus has none.

    Raises :class:`RangeReadError` when Prometheus fails or the query returns more than one
    series (aggregate it, e.g. with ``sum(...)``).
    """
    client = connect(url, retries=2, credentials=credentials)
    samples: list[tuple[float, float]] = []
    chunk = MAX_POINTS_PER_QUERY * step
    chunk_start = start
    while chunk_start <= end:
        chunk_end = min(end, chunk_start + chunk - step)
        try:
            result = client.custom_query_range(
                query,
                start_time=datetime.fromtimestamp(chunk_start, tz=UTC),
                end_time=datetime.fromtimestamp(chunk_end, tz=UTC),
                step=f"{step:g}s",
            )
        except Exception as error:  # the client raises its own, requests' and ValueError
            raise RangeReadError(f"range query to {url} failed: {error}") from error
        if len(result) > 1:
            raise RangeReadError(f"query returned {len(result)} series; it must return one (use sum(...))")
        for series in result:
            samples.extend((float(t), float(v)) for t, v in series["values"])
        chunk_start = chunk_end + step
    deduplicated = dict(samples)  # a chunk's first point may repeat the previous chunk's last
    return sorted(deduplicated.items())


class PrometheusRangeSource:
    """A :class:`~ebbtide.scaling.load_source.LoadSource` backed by one Prometheus server."""

    def __init__(self, url: str, *, credentials: PrometheusCredentials = NO_CREDENTIALS) -> None:
        self._url = url
        self._credentials = credentials

    def read_range(self, query: str, *, start: float, end: float, step: float) -> LoadSeries:
        if not (math.isfinite(step) and step > 0):
            raise ValueError("step must be positive")
        pairs = read_range(
            url=self._url, query=query, start=start, end=end, step=step, credentials=self._credentials
        )
        return LoadSeries.from_pairs(pairs)
