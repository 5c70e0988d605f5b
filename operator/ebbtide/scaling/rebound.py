"""How far a load comes back after it has fallen: the evidence a scale-down on the forecast to a
replica's full capacity needs.

The calibrated peak distribution (:mod:`.forecasting.calibration`) pools the errors of every
forecast alike, and most forecasts are made while the load holds steady, so its upper tail says
little about the moment a scale-down is asked for: just after the load fell. A load that swings
(a noisy CPU, a batch every few minutes) falls and comes back within a replica's start-up time
again and again; the HPA's stabilisation window rides out such dips, and a scale-down on each dip
is paid for with an overload each time the load returns.

:func:`rebound` reads the load's own history instead: at every earlier sample that stood at
least as far below the highest load of the ``period`` before it as the latest sample stands now,
the highest load of the ``period`` after it, as a multiple of that sample. The ``quantile`` of
those multiples is how far the load may come back now. With fewer than ``MIN_ALIKE`` such
moments there is no evidence, and no answer.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ebbtide.scaling.series import FloatArray, LoadSeries

MIN_ALIKE = 40
"""Earlier moments, at least as far fallen as now, that a rebound needs: enough that a high
quantile is not just the largest of a handful."""
_NO_LOAD = 1e-12
"""Below this a sample counts as no load: what follows it is then an unbounded multiple."""


def rebound(history: LoadSeries, *, period: float, step: float, quantile: float) -> float | None:
    """The ``quantile`` of how far the load rose within ``period`` seconds after each earlier
    sample of ``history`` (sampled every ``step`` seconds) that stood at least as far below the
    peak of the ``period`` before it as the latest sample does, as a multiple of that sample; None
    with fewer than ``MIN_ALIKE`` such samples, or when the latest sample is no load (a multiple
    of nothing says nothing). Samples are counted, not timed: a gap in the history makes a
    ``period`` of samples span longer."""
    values = history.values
    span = max(1, round(period / step))
    if values.size <= 2 * span or not values[-1] > _NO_LOAD:
        return None
    # Sample i (span <= i < n - span): the peak of the span before it (itself included) and of the
    # span after it.
    before = sliding_window_view(values, span + 1).max(axis=1)[: values.size - 2 * span]
    after = sliding_window_view(values[span + 1 :], span).max(axis=1)
    samples = values[span : values.size - span]
    now = _standing(values[-1:], values[-span - 1 :].max(keepdims=True))[0]
    alike = _standing(samples, before) <= now
    fallen = samples[alike]
    if fallen.size < MIN_ALIKE:
        return None
    # A rise from no load is unbounded; the largest float keeps the quantile a number.
    rises = np.full(fallen.size, np.finfo(np.float64).max)
    np.divide(after[alike], fallen, out=rises, where=fallen > _NO_LOAD)
    return float(np.quantile(rises, quantile))


def _standing(samples: FloatArray, peaks: FloatArray) -> FloatArray:
    """Each sample as a share of the peak before it: 1 where nothing fell (or there was no load)."""
    return np.divide(samples, peaks, out=np.ones_like(samples), where=peaks > _NO_LOAD)
