"""Putting a series on a regular time grid: held samples for replays, bin means for fitting."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ebbtide.scaling.series import FloatArray, LoadSeries


def hold_on_grid(series: LoadSeries, *, start: float, step: float, count: int) -> FloatArray:
    """Values at ``start + k * step`` for ``k < count``, each the last sample at or before it.

    A sample is held until the next one, however far away; grid points before the first sample
    are NaN (no data is not zero load).
    """
    grid = start + step * np.arange(count, dtype=np.float64)
    index = np.searchsorted(series.times, grid, side="right") - 1
    held = np.full(count, np.nan, dtype=np.float64)
    seen = index >= 0
    held[seen] = series.values[index[seen]]
    return held


@dataclass(frozen=True, eq=False)
class Bins:
    """Means over regular bins: bin ``k`` covers ``[k * width, (k + 1) * width)`` in Unix seconds.

    Anchoring bins at multiples of ``width`` (not at the latest sample) keeps a bin's index stable
    from one call to the next, so a model's state can be rolled forward bin by bin.
    """

    width: float
    first: int
    values: FloatArray
    last_time: float
    """The mean time of the last bin's samples: the time its mean stands for. (For samples at
    the start of each bin that is the bin's start, not its middle.)"""

    @property
    def last(self) -> int:
        """Index of the last bin."""
        return self.first + int(self.values.size) - 1

    def from_index(self, index: int) -> FloatArray:
        """Values of the bins ``index..last`` (empty if ``index > last``)."""
        return self.values[max(0, index - self.first) :]


def complete_bins(series: LoadSeries, *, width: float) -> Bins | None:
    """Means of the finite samples per bin, for the bins that are over.

    A bin is over once a sample at or after its end has been seen, so the bin holding the latest
    sample is left out: its mean would change as more samples arrive. Bins without samples between
    two that have some take the previous bin's mean. Returns None when no bin is complete.
    """
    usable = series.finite()
    if len(usable) == 0:
        return None
    index = np.floor(usable.times / width).astype(np.int64)
    current = int(index[-1])
    done = index < current
    if not bool(np.any(done)):
        return None
    index, values = index[done], usable.values[done]
    last_time = float(np.mean(usable.times[done][index == index[-1]]))
    first = int(index[0])
    offsets = index - first
    size = int(offsets[-1]) + 1
    sums = np.bincount(offsets, weights=values, minlength=size)
    counts = np.bincount(offsets, minlength=size)
    means = np.divide(sums, counts, out=np.full(size, np.nan), where=counts > 0)
    if not bool(np.all(counts > 0)):
        # Hold the previous bin's mean across empty bins (the first bin always has samples).
        filled = np.where(counts > 0, np.arange(size), 0)
        means = means[np.maximum.accumulate(filled)]
    return Bins(width=width, first=first, values=means, last_time=last_time)


@dataclass(frozen=True)
class BinMean:
    """The mean ``value`` of bin ``index`` over the samples seen so far, and their mean ``time``."""

    index: int
    value: float
    time: float


def latest_bin(series: LoadSeries, *, width: float) -> BinMean | None:
    """The bin holding the latest finite sample, which :func:`complete_bins` leaves out, over
    the samples it has so far. None when there are no finite samples."""
    usable = series.finite()
    if len(usable) == 0:
        return None
    index = math.floor(usable.last_time / width)
    partial = usable.since(index * width)
    return BinMean(index, float(np.mean(partial.values)), float(np.mean(partial.times)))


def seasonal_bin_width(*, season: float, step: float, max_points: int) -> tuple[float, int]:
    """The bin width and the bins per season for a seasonal model.

    The season is split into as many bins as the sampling ``step`` allows, but at most
    ``max_points``: fitting cost grows with the season's length in points, and a few dozen points
    per season describe a daily shape well. Returns ``(width, bins_per_season)``; the width is
    never below ``step``, so bins are not empty on a regular series.
    """
    per_season = max(1, min(math.floor(season / step + 1e-9), max_points))
    return season / per_season, per_season
