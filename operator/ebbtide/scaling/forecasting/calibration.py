"""Calibrating any point forecaster into a :class:`~.peak.PeakDistribution`.

Each call, the wrapped model's point forecast is remembered with the period it speaks for; once
the history has passed the end of that period, the peak load seen in it is divided by the point
forecast (see :mod:`.peak`) and the ratio joins the last ``keep`` ones. The quantiles of those
ratios are the forecast's uncertainty: calibrated on this policy's load and this model's errors,
and causal (a ratio exists only once its outcome is history).

Until enough ratios have accrued (a new policy, an operator restart: the memo is lost), ratios of
the naive forecast are taken from the history itself, in one vectorised pass: for each past
sample, the peak over the following horizon divided by that sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ebbtide.scaling.forecasting.base import Forecast, Forecaster, ModelName
from ebbtide.scaling.forecasting.peak import PeakDistribution
from ebbtide.scaling.series import FloatArray, LoadSeries

KEEP_RATIOS = 1440
"""Ratios kept: six hours of 15-second rounds, enough for a 1 % tail, short enough to follow
a change of regime."""
MIN_RATIOS = 60
"""Fewer own ratios than this and the history's naive ratios stand in."""
SCALE_SHARE = 0.05
"""The ratio's additive scale, as a share of the mean load (see :mod:`.peak`)."""


@dataclass(frozen=True)
class PendingPeak:
    """A point forecast made at ``start`` for the period ``(start, end]``, with its scale."""

    start: float
    end: float
    base: float
    scale: float


@dataclass(frozen=True, eq=False)
class CalibrationMemo:
    """The wrapped model's memo, its forecasts awaiting their outcome, and the ratios so far."""

    inner: object | None
    pending: tuple[PendingPeak, ...]
    ratios: FloatArray
    last_time: float


def peak_between(history: LoadSeries, *, start: float, end: float) -> float | None:
    """The highest sample with ``start < time <= end``, else the value held at ``end``."""
    first = int(np.searchsorted(history.times, start, side="right"))
    last = int(np.searchsorted(history.times, end, side="right"))
    if last > first:
        return float(np.max(history.values[first:last]))
    return history.value_at(end)


def naive_ratios(history: LoadSeries, *, horizon: float, step: float, scale: float) -> FloatArray:
    """For each sample, ``(peak of the next horizon + scale) / (sample + scale)``, taking the
    history as sampled every ``step`` seconds; the last ``keep`` of them."""
    values = history.values
    ahead = max(1, round(horizon / step))
    if values.size <= ahead:
        return np.empty(0, dtype=np.float64)
    from numpy.lib.stride_tricks import sliding_window_view

    peaks = sliding_window_view(values[1:], ahead).max(axis=1)
    bases = values[: peaks.size]
    ratios = (peaks + scale) / (bases + scale)
    return np.asarray(ratios[-KEEP_RATIOS:], dtype=np.float64)


def ratio_scale(history: LoadSeries) -> float:
    """The additive scale for ratios: a share of the mean load (never zero)."""
    return max(SCALE_SHARE * float(np.mean(np.abs(history.values))), 1e-9)


@dataclass(frozen=True)
class Calibrated:
    """``model``'s point forecast with a calibrated :class:`PeakDistribution` attached."""

    model: Forecaster
    keep: int = KEEP_RATIOS

    @property
    def name(self) -> ModelName:
        return self.model.name

    def forecast(
        self, history: LoadSeries, *, horizon: float, step: float, memo: object | None = None
    ) -> Forecast:
        last = history.last_time
        previous = memo if isinstance(memo, CalibrationMemo) and memo.last_time <= last else None
        point = self.model.forecast(
            history, horizon=horizon, step=step, memo=None if previous is None else previous.inner
        )
        scale = ratio_scale(history)
        pending: tuple[PendingPeak, ...] = ()
        ratios = np.empty(0, dtype=np.float64)
        if previous is not None:
            pending, ratios = _resolve(previous, history=history, keep=self.keep)
        used = ratios
        if used.size < MIN_RATIOS:
            used = naive_ratios(history, horizon=horizon, step=step, scale=scale)
        # The peak is at least what the model says for the end of the period.
        base = point.value
        pending = (*pending, PendingPeak(start=last, end=last + horizon, base=base, scale=scale))
        return Forecast(
            value=point.value,
            model=point.model,
            note=point.note,
            warnings=point.warnings,
            memo=CalibrationMemo(inner=point.memo, pending=pending, ratios=ratios, last_time=last),
            peak=PeakDistribution.of(base=base, scale=scale, ratios=used),
        )


def _resolve(
    memo: CalibrationMemo, *, history: LoadSeries, keep: int
) -> tuple[tuple[PendingPeak, ...], FloatArray]:
    """The forecasts still waiting, and the ratios with every finished period's added."""
    last = history.last_time
    waiting: list[PendingPeak] = []
    new: list[float] = []
    for item in memo.pending:
        if item.end > last:
            waiting.append(item)
            continue
        peak = peak_between(history, start=item.start, end=item.end)
        if peak is not None:
            new.append((peak + item.scale) / (item.base + item.scale))
    ratios = memo.ratios
    if new:
        ratios = np.concatenate((ratios, np.array(new, dtype=np.float64)))[-keep:]
    return tuple(waiting), ratios
