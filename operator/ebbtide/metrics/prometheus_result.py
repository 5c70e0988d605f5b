"""Reading a Prometheus range-query answer into a :class:`~ebbtide.scaling.series.LoadSeries`.

A load query must evaluate to exactly one series. Nothing here ever turns missing data into zero:
an empty answer, several series, or a latest sample that is missing, NaN or infinite is a
:class:`~ebbtide.scaling.series.ReadFailure` whose message says what to fix.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ebbtide.scaling.series import LoadSeries, ReadFailure

_SHOWN_SERIES = 3


def series_from_matrix(result: Any, *, query: str) -> LoadSeries | ReadFailure:
    """The one series of a ``query_range`` answer (possibly with no samples when the answer is
    empty, which :func:`latest_problem` reports); a failure for several series or a malformed
    answer."""
    if not isinstance(result, list):
        return ReadFailure("Prometheus did not answer with a range of samples (a matrix)")
    if not result:
        return LoadSeries.empty()
    if len(result) > 1:
        shown = ", ".join(_labels(series) for series in result[:_SHOWN_SERIES])
        more = "" if len(result) <= _SHOWN_SERIES else ", ..."
        return ReadFailure(
            f"the query returned {len(result)} series ({shown}{more}) but must return one: "
            f"aggregate it into the total load, e.g. sum({query})"
        )
    try:
        pairs = [(float(t), float(v)) for t, v in result[0]["values"]]
    except (KeyError, TypeError, ValueError):
        return ReadFailure("Prometheus's answer holds samples that are not (time, number) pairs")
    pairs.sort()
    times = np.array([t for t, _ in pairs], dtype=np.float64)
    values = np.array([v for _, v in pairs], dtype=np.float64)
    return LoadSeries(times=times, values=values)


def latest_problem(series: LoadSeries, *, at: float) -> str | None:
    """Why ``series`` has no usable sample at ``at`` (Unix seconds), or None when it has one.

    Prometheus answers a range query only at steps where the query has a value, so a series
    that stops before ``at`` means the metric is gone now (stale), not that the load is zero.
    """
    if len(series) == 0:
        return (
            "the query returned no data: the metric does not exist (check its name and labels) or "
            "has no samples in the queried time range"
        )
    if series.last_time < at - 0.5:
        return (
            f"the query has no value at {_iso(at)}; its latest value is from {_iso(series.last_time)} "
            "(the metric is no longer reported)"
        )
    value = series.last_value
    if math.isnan(value):
        return "the query returned NaN (not a number), e.g. a division by zero while there is no traffic"
    if math.isinf(value):
        return f"the query returned {value} (an infinite value), e.g. a division by zero"
    return None


def _labels(series: Any) -> str:
    metric = series.get("metric") if isinstance(series, dict) else None
    if not isinstance(metric, dict) or not metric:
        return "{}"
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items())) + "}"


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge(parts: Sequence[LoadSeries]) -> LoadSeries:
    """The samples of ``parts`` in time order, the first sample kept where times repeat."""
    parts = [part for part in parts if len(part)]
    if not parts:
        return LoadSeries.empty()
    if len(parts) == 1:
        return parts[0]
    times = np.concatenate([part.times for part in parts])
    values = np.concatenate([part.values for part in parts])
    if all(a.last_time < b.first_time for a, b in itertools.pairwise(parts)):
        return LoadSeries(times=times, values=values)  # the usual case: a tail after the cache
    times, first = np.unique(times, return_index=True)
    return LoadSeries(times=times, values=values[first])
