"""An in-memory cache of each policy's load history, so a round only queries the tail.

A policy's forecaster reads ``prediction.history`` of past load (hours, at the policy's interval)
every round. Re-reading all of it from Prometheus every round, for hundreds of policies, would
cost Prometheus far more than the one new sample each round adds. So the history read once is
kept here and each round asks Prometheus only for the samples after the last one kept.

Nothing is persisted: after a restart the first round reads the whole window again, which is
the same answer (Prometheus holds the data), just more expensive once.

Samples sit on a grid that ends at the round's time (``end``, whole seconds): the newest sample is
always the load *now*, and every sample is a true evaluation of the query at its time. Grids of
consecutive rounds need not line up, so the merged series may be slightly irregular; the
forecasters accept that.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

from ebbtide.metrics.prometheus_result import merge
from ebbtide.scaling.series import LoadSeries


@dataclass(frozen=True)
class RangeRead:
    """A ``query_range`` to make: samples at ``start``, ``start + step``, ... up to ``end``."""

    start: float
    end: float
    step: float

    @property
    def points(self) -> int:
        return round((self.end - self.start) / self.step) + 1


@dataclass(frozen=True)
class _Entry:
    query: str
    step: float
    history: float
    series: LoadSeries


def grid_step(interval: float) -> float:
    """The query step for a policy's ``interval``: whole seconds (the client rounds times to
    whole seconds, so a fractional step would drift off the grid), at least 1 s."""
    return float(max(1, round(interval)))


class LoadHistoryCache:
    """The last-read history per key (one key per policy). Not thread-safe: use it from the
    event loop only; the reads themselves may run anywhere."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def next_read(
        self, key: Hashable, *, query: str, step: float, history: float, now: float
    ) -> RangeRead | None:
        """What to query for ``key`` at Unix time ``now``; None when the cache already holds
        the sample at ``now`` (rounded down to the second).

        With nothing cached (or a changed query, step or history window) the whole window is
        read; otherwise only the samples after the newest one cached.
        """
        end = float(math.floor(now))
        most = max(0, math.floor(history / step))
        entry = self._matching(key, query=query, step=step, history=history)
        if entry is None:
            return RangeRead(start=end - most * step, end=end, step=step)
        last = entry.series.last_time
        if end <= last:
            return None
        # The earliest grid point after ``last``: k steps back from ``end`` with end - k*step > last.
        steps_back = min(most, max(0, math.ceil((end - last) / step) - 1))
        return RangeRead(start=end - steps_back * step, end=end, step=step)

    def cached(self, key: Hashable, *, query: str, step: float, history: float) -> LoadSeries:
        """The history held for ``key`` (empty when none matches the query, step and history)."""
        entry = self._matching(key, query=query, step=step, history=history)
        return LoadSeries.empty() if entry is None else entry.series

    def store(
        self,
        key: Hashable,
        *,
        query: str,
        step: float,
        history: float,
        end: float,
        fresh: LoadSeries,
    ) -> LoadSeries:
        """Add ``fresh`` samples to ``key``'s history, drop samples older than ``end - history``
        and return the result."""
        kept = self.cached(key, query=query, step=step, history=history)
        series = merge([kept, fresh]).since(end - history)
        self._entries[key] = _Entry(query=query, step=step, history=history, series=series)
        return series

    def forget(self, key: Hashable) -> None:
        """Drop ``key``'s history (its policy is gone)."""
        self._entries.pop(key, None)

    def _matching(self, key: Hashable, *, query: str, step: float, history: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None or len(entry.series) == 0:
            return None
        if (entry.query, entry.step, entry.history) != (query, step, history):
            return None
        return entry
