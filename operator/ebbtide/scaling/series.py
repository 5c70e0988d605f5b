"""Load series: the plain values every scaling decision starts from.

A :class:`LoadSeries` is what a load source returns (Prometheus in production, a recorded trace in
the backtest): samples ``(unix_seconds, value)`` in time order, regular or not. A failed read is a
:class:`ReadFailure`, never an empty or zero-valued series that could pass for "no load".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ReadFailure:
    """A load read that failed (an error, a timeout); ``message`` says why."""

    message: str


@dataclass(frozen=True, eq=False)
class LoadSeries:
    """Load samples in time order.

    ``times`` are Unix seconds, strictly increasing; ``values`` are the load at those times and may
    hold NaN or Inf (a broken reading): what that means is for the consumer to decide. The arrays
    are treated as read-only; slicing methods return views, so keep them cheap to call per step.
    """

    times: FloatArray
    values: FloatArray

    def __post_init__(self) -> None:
        if self.times.ndim != 1 or self.times.shape != self.values.shape:
            raise ValueError("times and values must be 1-D arrays of the same length")
        if self.times.size > 1 and not bool(np.all(np.diff(self.times) > 0)):
            raise ValueError("times must be strictly increasing")

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[float, float]]) -> LoadSeries:
        """Build a series from ``(unix_seconds, value)`` pairs already in time order."""
        rows = list(pairs)
        times = np.array([t for t, _ in rows], dtype=np.float64)
        values = np.array([v for _, v in rows], dtype=np.float64)
        return cls(times=times, values=values)

    @classmethod
    def unchecked(cls, times: FloatArray, values: FloatArray) -> LoadSeries:
        """A series without the checks, for a part of one already checked (or a regular grid):
        slicing keeps the checks' results true, and re-checking every slice would cost more than
        the work done on it (forecasters slice long histories many times per decision)."""
        part = object.__new__(cls)
        object.__setattr__(part, "times", times)
        object.__setattr__(part, "values", values)
        return part

    @classmethod
    def empty(cls) -> LoadSeries:
        return cls(times=np.empty(0, dtype=np.float64), values=np.empty(0, dtype=np.float64))

    def __len__(self) -> int:
        return int(self.times.size)

    @property
    def first_time(self) -> float:
        """Time of the first sample; raises IndexError when empty."""
        return float(self.times[0])

    @property
    def last_time(self) -> float:
        """Time of the last sample; raises IndexError when empty."""
        return float(self.times[-1])

    @property
    def last_value(self) -> float:
        """The latest value (possibly NaN); raises IndexError when empty."""
        return float(self.values[-1])

    def until(self, time: float) -> LoadSeries:
        """The samples at or before ``time``."""
        end = int(np.searchsorted(self.times, time, side="right"))
        return LoadSeries.unchecked(self.times[:end], self.values[:end])

    def since(self, time: float) -> LoadSeries:
        """The samples at or after ``time``."""
        start = int(np.searchsorted(self.times, time, side="left"))
        return LoadSeries.unchecked(self.times[start:], self.values[start:])

    def finite(self) -> LoadSeries:
        """The series without its NaN and Inf samples."""
        keep = np.isfinite(self.values)
        if bool(np.all(keep)):
            return self
        return LoadSeries.unchecked(self.times[keep], self.values[keep])

    def value_at(self, time: float) -> float | None:
        """The value of the last sample at or before ``time`` (held until the next); None before
        the first sample."""
        index = int(np.searchsorted(self.times, time, side="right")) - 1
        return None if index < 0 else float(self.values[index])

    def mean_between(self, start: float, end: float) -> float | None:
        """Mean of the samples with ``start < time <= end``; None when there are none."""
        first = int(np.searchsorted(self.times, start, side="right"))
        last = int(np.searchsorted(self.times, end, side="right"))
        if last <= first:
            return None
        return float(np.mean(self.values[first:last]))
