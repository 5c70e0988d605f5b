"""How often a load series takes a new value, found in its own history.

Many load metrics are read more often than they change: an exporter that scrapes its source every
five minutes, a recording rule over a coarse source, a cloud metric published once a minute. Read
every 15 seconds, such a series holds each value for a whole update period, and then it can only
change when the next update lands. Knowing when that is halves the uncertainty an autoscaler has
to buy headroom for: over a window with no update in it, the load is the value already held;
over a window with one, it is as uncertain as the next update (see :mod:`.calibration`, which
keeps separate errors for the two kinds of window).

The cadence is the median time between changes of value among the last ``MAX_CHANGES`` changes,
accepted only when it spans at least ``MIN_PERIOD_STEPS`` samples and most gaps
(``MIN_REGULAR_SHARE``) are whole multiples of it (an unchanged update makes a double gap); the
anchor is the most recent change, so a slow drift of the source's clock is followed. A series
that changes at nearly every sample, or irregularly, has no cadence, and every window is taken
to hold an update.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ebbtide.scaling.series import LoadSeries

MAX_CHANGES = 64
"""Changes of value the period is measured over: recent enough to follow a change of source."""
MIN_CHANGES = 6
"""Fewer changes than this in the history and no cadence is claimed."""
MIN_PERIOD_STEPS = 2.5
"""A period shorter than this many samples is no cadence worth using: nearly every window of a
horizon holds an update anyway."""
MIN_REGULAR_SHARE = 0.8
"""Share of the gaps between changes that must be a whole number of periods (within half a
sample)."""


@dataclass(frozen=True)
class Cadence:
    """The series takes a new value at ``anchor + n * period`` (seconds) for whole ``n``."""

    period: float
    anchor: float

    def update_within(self, start: float, end: float) -> bool:
        """Whether an update falls in ``(start, end]``."""
        latest = self.anchor + self.period * math.floor((end - self.anchor) / self.period)
        return latest > start


def detect_cadence(history: LoadSeries, *, step: float) -> Cadence | None:
    """The cadence of ``history`` (sampled every ``step`` seconds), or None when it has none."""
    values = history.values
    changed = np.flatnonzero(values[1:] != values[:-1]) + 1
    if changed.size < MIN_CHANGES:
        return None
    times = history.times[changed[-MAX_CHANGES:]]
    gaps = np.diff(times)
    period = float(np.median(gaps))
    if period < MIN_PERIOD_STEPS * step:
        return None
    periods = gaps / period
    regular = np.abs(periods - np.round(periods)) * period <= step / 2
    if float(np.mean(regular)) < MIN_REGULAR_SHARE:
        return None
    return Cadence(period=period, anchor=float(times[-1]))
