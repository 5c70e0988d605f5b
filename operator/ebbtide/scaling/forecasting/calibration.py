"""Calibrating any point forecaster into a :class:`~.peak.PeakDistribution`.

Each call, the wrapped model's point forecast is remembered with the period it speaks for and
the load's recent level; once the history has passed the end of that period, the peak load seen
in it minus the point forecast, in units of that level (see :mod:`.peak`), joins the last
``keep`` residuals. Their quantiles are the forecast's uncertainty: calibrated on this policy's
load and this model's errors, and causal (a residual exists only once its outcome is history).

Until ``MIN_RESIDUALS`` of its own exist (a new policy, an operator restart: the memo is lost),
a replay of the model at up to ``REPLAY_ORIGINS`` cut-offs spread over the history stands in,
each forecast made from the history before its cut-off only; with no history to replay, the
naive forecast's residuals, taken from the history in one vectorised pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ebbtide.scaling.forecasting.base import Forecast, Forecaster, ModelName
from ebbtide.scaling.forecasting.peak import PeakDistribution
from ebbtide.scaling.series import FloatArray, LoadSeries

KEEP_RESIDUALS = 1440
"""Residuals kept: six hours of 15-second rounds, enough for a 1 % tail, short enough to follow
a change of regime."""
MIN_RESIDUALS = 20
"""Fewer own residuals than this and the history's naive residuals stand in."""
LEVEL_FLOOR = 0.1
"""The level is at least this share of the history's mean load."""
RESIDUAL_LIMIT = 10.0
"""Residuals are clipped to +-10 levels: beyond that the level was no measure of the load (a
history that began with zeros), and one such outlier must not size a policy's capacity."""
REPLAY_ORIGINS = 60
"""Cut-offs replayed to start the residuals of a model without a memo."""
LEVEL_HORIZONS = 1
"""The level is the mean load over this many horizons back: local, so a ramp does not leave
it behind."""


@dataclass(frozen=True)
class PendingPeak:
    """A point forecast made at ``start`` for the period ``(start, end]``, and the level then."""

    start: float
    end: float
    base: float
    level: float


@dataclass(frozen=True, eq=False)
class CalibrationMemo:
    """The wrapped model's memo, its forecasts awaiting their outcome, and the residuals."""

    inner: object | None
    pending: tuple[PendingPeak, ...]
    residuals: FloatArray
    last_time: float


def peak_between(history: LoadSeries, *, start: float, end: float) -> float | None:
    """The highest sample with ``start < time <= end``, else the value held at ``end``."""
    first = int(np.searchsorted(history.times, start, side="right"))
    last = int(np.searchsorted(history.times, end, side="right"))
    if last > first:
        return float(np.max(history.values[first:last]))
    return history.value_at(end)


def recent_level(history: LoadSeries, *, horizon: float, floor: float = 0.0) -> float:
    """The mean load over the last ``LEVEL_HORIZONS`` horizons, but at least ``LEVEL_FLOOR``
    of the history's mean: a residual in units of a load near zero (a service waking up, a
    gauge read before it was set) would say nothing about the load to come (never zero)."""
    first = int(np.searchsorted(history.times, history.last_time - LEVEL_HORIZONS * horizon, side="left"))
    floor = max(floor, LEVEL_FLOOR * float(np.mean(np.abs(history.values))))
    return max(float(np.mean(np.abs(history.values[first:]))), floor, 1e-9)


def naive_residuals(history: LoadSeries, *, horizon: float, step: float) -> FloatArray:
    """For each sample, ``(peak of the next horizon - sample) / level then``, taking the
    history as sampled every ``step`` seconds; the last ``KEEP_RESIDUALS`` of them."""
    values = history.values
    ahead = max(1, round(horizon / step))
    if values.size <= ahead:
        return np.empty(0, dtype=np.float64)
    peaks = sliding_window_view(values[1:], ahead).max(axis=1)[-KEEP_RESIDUALS:]
    count = peaks.size
    start = values.size - 1 - ahead - count + 1
    bases = values[start : start + count]
    span = max(1, LEVEL_HORIZONS * ahead)
    sums = np.concatenate(([0.0], np.cumsum(np.abs(values))))
    ends = np.arange(start, start + count) + 1
    begins = np.maximum(0, ends - span)
    floor = max(LEVEL_FLOOR * float(np.mean(np.abs(values))), 1e-9)
    levels = np.maximum((sums[ends] - sums[begins]) / (ends - begins), floor)
    return np.asarray(np.clip((peaks - bases) / levels, -RESIDUAL_LIMIT, RESIDUAL_LIMIT), dtype=np.float64)


@dataclass(frozen=True)
class Calibrated:
    """``model``'s point forecast with a calibrated :class:`PeakDistribution` attached."""

    model: Forecaster
    keep: int = KEEP_RESIDUALS

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
        level = recent_level(history, horizon=horizon)
        pending: tuple[PendingPeak, ...] = ()
        residuals = np.empty(0, dtype=np.float64)
        if previous is not None:
            pending, residuals = _resolve(previous, history=history, keep=self.keep)
        used = residuals
        if used.size < MIN_RESIDUALS:
            used = np.concatenate((replayed_residuals(self.model, history, horizon=horizon, step=step), used))
        if used.size < MIN_RESIDUALS:
            used = naive_residuals(history, horizon=horizon, step=step)
        base = point.value
        pending = (*pending, PendingPeak(start=last, end=last + horizon, base=base, level=level))
        return Forecast(
            value=point.value,
            model=point.model,
            note=point.note,
            warnings=point.warnings,
            memo=CalibrationMemo(inner=point.memo, pending=pending, residuals=residuals, last_time=last),
            peak=PeakDistribution.of(base=base, level=level, residuals=used),
        )


def replayed_residuals(model: Forecaster, history: LoadSeries, *, horizon: float, step: float) -> FloatArray:
    """``model``'s residuals at up to ``REPLAY_ORIGINS`` cut-offs evenly spread over the
    history (the last one a horizon before its end, so every outcome is known), in time order
    with the model's memo threaded through."""
    latest = history.last_time - horizon
    if latest <= history.first_time:
        return np.empty(0, dtype=np.float64)
    residuals: list[float] = []
    memo: object | None = None
    floor = LEVEL_FLOOR * float(np.mean(np.abs(history.values)))
    for cut in np.linspace(history.first_time, latest, num=REPLAY_ORIGINS).tolist():
        past = history.until(cut)
        if len(past) < 2:
            continue
        forecast = model.forecast(past, horizon=horizon, step=step, memo=memo)
        memo = forecast.memo
        peak = peak_between(history, start=past.last_time, end=past.last_time + horizon)
        if peak is not None:
            level = recent_level(past, horizon=horizon, floor=floor)
            residuals.append((peak - forecast.value) / level)
    return np.clip(np.array(residuals, dtype=np.float64), -RESIDUAL_LIMIT, RESIDUAL_LIMIT)


def _resolve(
    memo: CalibrationMemo, *, history: LoadSeries, keep: int
) -> tuple[tuple[PendingPeak, ...], FloatArray]:
    """The forecasts still waiting, and the residuals with every finished period's added."""
    last = history.last_time
    waiting: list[PendingPeak] = []
    new: list[float] = []
    for item in memo.pending:
        if item.end > last:
            waiting.append(item)
            continue
        peak = peak_between(history, start=item.start, end=item.end)
        if peak is not None:
            new.append(min(max((peak - item.base) / item.level, -RESIDUAL_LIMIT), RESIDUAL_LIMIT))
    residuals = memo.residuals
    if new:
        residuals = np.concatenate((residuals, np.array(new, dtype=np.float64)))[-keep:]
    return tuple(waiting), residuals
