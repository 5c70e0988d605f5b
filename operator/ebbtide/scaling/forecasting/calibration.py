"""Calibrating any point forecaster into two :class:`~.peak.PeakDistribution`: of the peak load
over the horizon, and of the load at its end.

Each call, the wrapped model's point forecast is remembered with the period it speaks for and
the model's current error scales; once the history has passed the end of that period, the peak
load seen in it minus the point forecast is that forecast's peak error, and the load at its end
minus the point forecast its error at the horizon. The planner sizes a scale-up by the load at
the horizon (replicas asked for now serve from then on; what comes before, earlier decisions
provided for) and confirms a scale-down by the peak (a removed replica is missed until one
asked for could be back). Both are kept the same way: Errors in units of the scale
that was current when the forecast was made join the last ``keep`` residuals; their quantiles,
times the scale now, are the forecast's uncertainty: calibrated on this policy's load and this
model's errors, and causal (a residual exists only once its outcome is history).

The scale is the root mean square of the last ``SCALE_ERRORS`` errors (an hour of 15-second
rounds), at least ``SCALE_FLOOR`` of the history's mean load. Surprises in load come in
clusters (a busy hour is jumpy, a quiet night is not), so a scale that follows them spends
headroom where it is needed; a scale fixed by the load's level would buy the same headroom in
calm hours, where it is pure cost. They also recur at the same phase of a season: given one
(``season``, as Auto gives its candidates), the scale is at least how far the load moved around
this time one season ago (:mod:`.seasonal_scale`).

Until ``MIN_RESIDUALS`` of its own exist (a new policy, an operator restart: the memo is lost),
a replay of the model at up to ``REPLAY_ORIGINS`` cut-offs spread over the history stands in,
each forecast made from the history before its cut-off only, made again every ``REPLAY_EVERY``
seconds; with no history to replay, the naive forecast's residuals, taken from the history in one
vectorised pass.

A load that changes only when its source updates (see :mod:`.cadence`) is uncertain only over
windows an update can land in; over the others it stays where it is. Residuals are therefore kept
in two pools, one for windows with an update due and one for windows without (quiet ones), and a
forecast takes its quantiles from the pool of its own kind of window: headroom is bought before
the next update, not all the time. A series without a cadence has only windows with an update
due, and one pool, as before. A quiet window whose pool is still short uses the other pool, the
cautious side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ebbtide.scaling.forecasting.base import Forecast, Forecaster, ModelName
from ebbtide.scaling.forecasting.cadence import Cadence, detect_cadence
from ebbtide.scaling.forecasting.peak import PeakDistribution
from ebbtide.scaling.forecasting.seasonal_scale import seasonal_scales
from ebbtide.scaling.series import FloatArray, LoadSeries

KEEP_RESIDUALS = 1440
"""Residuals kept: six hours of 15-second rounds, enough for a 1 % tail, short enough to follow
a change of regime."""
MIN_RESIDUALS = 20
"""Fewer own residuals than this and the history's naive residuals stand in."""
SCALE_ERRORS = 240
"""Errors the scale is measured over: an hour of 15-second rounds, short enough to follow a
burst of surprises, long enough that one error does not make it."""
SCALE_FLOOR = 0.02
"""The scale is at least this share of the history's mean load: on a load that has been flat
the errors are zero, and a residual in units of zero would say nothing."""
RESIDUAL_LIMIT = 50.0
"""Residuals are clipped to +-50 scales: one outlier after a long flat spell must not size a
policy's capacity for the next six hours."""
REPLAY_ORIGINS = 60
"""Cut-offs replayed to start the residuals of a model without a memo."""
REPLAY_EVERY = 300.0
"""Seconds a replay stands in before it is made again. A replay is ``REPLAY_ORIGINS`` forecasts,
most of a round's work while it stands in, and its residuals change little from one round to
the next (its cut-offs span the whole history)."""
CADENCE_SEARCH_EVERY = 300.0
"""Seconds between two searches for the load's cadence (see :mod:`.cadence`)."""


@dataclass(frozen=True)
class PendingPeak:
    """A point forecast made at ``start`` for the period ``(start, end]``, the error scales then
    (of the peak, and of the load at ``end``), and whether an update of the load was due within
    the period."""

    start: float
    end: float
    base: float
    scale: float
    update_due: bool = True
    end_scale: float = 1.0


@dataclass(frozen=True, eq=False)
class ResidualPool:
    """Residuals (in scales, the last ``keep``) and recent errors (in load, the last
    ``SCALE_ERRORS``) of one kind of forecast window: of the peak over the window, and
    (``end_``) of the load at its end, one of each per forecast."""

    residuals: FloatArray
    errors: FloatArray
    end_residuals: FloatArray
    end_errors: FloatArray

    @classmethod
    def empty(cls) -> ResidualPool:
        empty = np.empty(0, dtype=np.float64)
        return cls(empty, empty, empty, empty)

    @property
    def size(self) -> int:
        return int(self.residuals.size)

    def added(self, found: ResidualPool, *, keep: int) -> ResidualPool:
        """This pool with ``found`` appended, trimmed to ``keep`` residuals and
        ``SCALE_ERRORS`` errors."""
        if found.errors.size == 0:
            return self
        return ResidualPool(
            residuals=np.concatenate((self.residuals, found.residuals))[-keep:],
            errors=np.concatenate((self.errors, found.errors))[-SCALE_ERRORS:],
            end_residuals=np.concatenate((self.end_residuals, found.end_residuals))[-keep:],
            end_errors=np.concatenate((self.end_errors, found.end_errors))[-SCALE_ERRORS:],
        )


@dataclass(frozen=True, eq=False)
class Replay:
    """Residuals and errors of a replay (:func:`replayed_residuals`), made when the history ended
    at ``at`` for forecasts ``horizon`` seconds ahead."""

    pool: ResidualPool
    at: float
    horizon: float

    def fresh(self, *, now: float, horizon: float) -> bool:
        """True if it may stand in for a forecast ``horizon`` ahead with the history ending at ``now``."""
        return horizon == self.horizon and self.at <= now < self.at + REPLAY_EVERY


@dataclass(frozen=True, eq=False)
class CalibrationMemo:
    """The wrapped model's memo, its forecasts awaiting their outcome, the residual pools of
    windows with an update due (``due``) and without (``quiet``), the load's cadence with when it
    was last searched for, and the last replay (None until one was needed)."""

    inner: object | None
    pending: tuple[PendingPeak, ...]
    due: ResidualPool
    quiet: ResidualPool
    last_time: float
    cadence: Cadence | None = None
    cadence_searched_at: float = float("-inf")
    replay: Replay | None = None


def peak_between(history: LoadSeries, *, start: float, end: float) -> float | None:
    """The highest sample with ``start < time <= end``, else the value held at ``end``."""
    first = int(np.searchsorted(history.times, start, side="right"))
    last = int(np.searchsorted(history.times, end, side="right"))
    if last > first:
        return float(np.max(history.values[first:last]))
    return history.value_at(end)


def scale_floor(history: LoadSeries) -> float:
    """The least error scale for ``history``: ``SCALE_FLOOR`` of its mean load (never zero)."""
    return max(SCALE_FLOOR * float(np.mean(np.abs(history.values))), 1e-9)


def error_scale(errors: FloatArray, *, floor: float) -> float:
    """The root mean square of the last ``SCALE_ERRORS`` errors, at least ``floor``."""
    recent = errors[-SCALE_ERRORS:]
    if recent.size == 0:
        return floor
    return max(float(np.sqrt(np.mean(recent * recent))), floor)


def naive_residuals(history: LoadSeries, *, horizon: float, step: float) -> ResidualPool:
    """The naive forecast's residuals and errors over ``history`` (sampled every ``step``
    seconds): for each sample, the peak of the next horizon (and the load at its end) minus the
    sample, in units of the error scale of the ``SCALE_ERRORS`` errors known by then (the first
    ones: of the earliest errors); the last ``KEEP_RESIDUALS`` of them, and the errors."""
    values = history.values
    ahead = max(1, round(horizon / step))
    if values.size <= ahead:
        return ResidualPool.empty()
    peaks = sliding_window_view(values[1:], ahead).max(axis=1)
    residuals, errors = _scaled(peaks - values[: peaks.size], ahead=ahead, floor=scale_floor(history))
    ends, end_errors = _scaled(values[ahead:] - values[:-ahead], ahead=ahead, floor=scale_floor(history))
    return ResidualPool(residuals, errors, ends, end_errors)


def _scaled(errors: FloatArray, *, ahead: int, floor: float) -> tuple[FloatArray, FloatArray]:
    """``errors`` (one per origin, each known ``ahead`` origins later) in units of the error
    scale known at its origin, the last ``KEEP_RESIDUALS`` of them, and the errors."""
    squares = np.concatenate(([0.0], np.cumsum(errors * errors)))
    # Origin k's errors known then: those of origins up to k - ahead, the last SCALE_ERRORS.
    ends = np.clip(np.arange(errors.size) - ahead + 1, 1, errors.size)
    begins = np.maximum(0, ends - SCALE_ERRORS)
    scales = np.maximum(np.sqrt((squares[ends] - squares[begins]) / (ends - begins)), floor)
    residuals = np.clip(errors / scales, -RESIDUAL_LIMIT, RESIDUAL_LIMIT)[-KEEP_RESIDUALS:]
    return np.asarray(residuals, dtype=np.float64), np.asarray(errors, dtype=np.float64)


@dataclass(frozen=True)
class Calibrated:
    """``model``'s point forecast with calibrated distributions attached: of the peak load over
    the horizon (``Forecast.peak``) and of the load at its end (``Forecast.at_horizon``).
    ``season`` (None: none known) lets the error scale look one season back."""

    model: Forecaster
    keep: int = KEEP_RESIDUALS
    season: float | None = None

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
        pending: tuple[PendingPeak, ...] = ()
        due = quiet = ResidualPool.empty()
        if previous is not None:
            pending, due, quiet = _resolve(previous, history=history, keep=self.keep)
        cadence, searched_at = _cadence(previous, history=history, step=step)
        update_due = cadence is None or cadence.update_within(last, last + horizon)
        pool = due if update_due or quiet.size < MIN_RESIDUALS else quiet
        replay = None if previous is None else previous.replay
        if pool.size < MIN_RESIDUALS:
            if replay is None or not replay.fresh(now=last, horizon=horizon):
                replayed = replayed_residuals(self.model, history, horizon=horizon, step=step)
                replay = Replay(replayed, at=last, horizon=horizon)
            pool = replay.pool
        if pool.size < MIN_RESIDUALS:
            pool = naive_residuals(history, horizon=horizon, step=step)
        floor = scale_floor(history)
        scale = error_scale(pool.errors, floor=floor)
        end_scale = error_scale(pool.end_errors, floor=floor)
        if self.season is not None:
            then = seasonal_scales(history, season=self.season, horizon=horizon, step=step)
            if then is not None:
                scale, end_scale = max(scale, then.peak), max(end_scale, then.end)
        base = point.value
        pending = (
            *pending,
            PendingPeak(
                start=last,
                end=last + horizon,
                base=base,
                scale=scale,
                update_due=update_due,
                end_scale=end_scale,
            ),
        )
        return Forecast(
            value=point.value,
            model=point.model,
            note=point.note,
            warnings=point.warnings,
            memo=CalibrationMemo(
                inner=point.memo,
                pending=pending,
                due=due,
                quiet=quiet,
                last_time=last,
                cadence=cadence,
                cadence_searched_at=searched_at,
                replay=replay,
            ),
            peak=PeakDistribution.of(base=base, scale=scale, residuals=pool.residuals),
            at_horizon=PeakDistribution.of(base=base, scale=end_scale, residuals=pool.end_residuals),
        )


def _cadence(
    previous: CalibrationMemo | None, *, history: LoadSeries, step: float
) -> tuple[Cadence | None, float]:
    """The load's cadence and when it was searched for: the memo's, unless that search is
    ``CADENCE_SEARCH_EVERY`` old."""
    last = history.last_time
    if previous is not None and last - previous.cadence_searched_at < CADENCE_SEARCH_EVERY:
        return previous.cadence, previous.cadence_searched_at
    return detect_cadence(history, step=step), last


def replayed_residuals(
    model: Forecaster, history: LoadSeries, *, horizon: float, step: float
) -> ResidualPool:
    """``model``'s residuals and errors at up to ``REPLAY_ORIGINS`` cut-offs evenly spread over
    the history (the last one a horizon before its end, so every outcome is known), in time
    order with the model's memo threaded through. The cut-offs are too far apart for a scale
    that follows them, so the residuals are in units of the scale of all of them."""
    latest = history.last_time - horizon
    if latest <= history.first_time:
        return ResidualPool.empty()
    errors: list[float] = []
    end_errors: list[float] = []
    memo: object | None = None
    for cut in np.linspace(history.first_time, latest, num=REPLAY_ORIGINS).tolist():
        past = history.until(cut)
        if len(past) < 2:
            continue
        forecast = model.forecast(past, horizon=horizon, step=step, memo=memo)
        memo = forecast.memo
        end = past.last_time + horizon
        peak = peak_between(history, start=past.last_time, end=end)
        at_end = history.value_at(end)
        if peak is not None and at_end is not None:
            errors.append(peak - forecast.value)
            end_errors.append(at_end - forecast.value)
    floor = scale_floor(history)
    return ResidualPool(*_whole_scale(errors, floor=floor), *_whole_scale(end_errors, floor=floor))


def _whole_scale(errors: list[float], *, floor: float) -> tuple[FloatArray, FloatArray]:
    """``errors`` in units of their own error scale (clipped), and the errors."""
    found = np.array(errors, dtype=np.float64)
    scale = error_scale(found, floor=floor)
    return np.clip(found / scale, -RESIDUAL_LIMIT, RESIDUAL_LIMIT), found


def _resolve(
    memo: CalibrationMemo, *, history: LoadSeries, keep: int
) -> tuple[tuple[PendingPeak, ...], ResidualPool, ResidualPool]:
    """The forecasts still waiting, and both pools with every finished period's residuals
    added to the pool of its kind of window."""
    last = history.last_time
    waiting: list[PendingPeak] = []
    found: dict[bool, list[tuple[float, float, float, float]]] = {True: [], False: []}
    for item in memo.pending:
        if item.end > last:
            waiting.append(item)
            continue
        peak = peak_between(history, start=item.start, end=item.end)
        at_end = history.value_at(item.end)
        if peak is not None and at_end is not None:
            error, end_error = peak - item.base, at_end - item.base
            found[item.update_due].append(
                (_clipped(error / item.scale), error, _clipped(end_error / item.end_scale), end_error)
            )
    due = memo.due.added(_pool(found[True]), keep=keep)
    quiet = memo.quiet.added(_pool(found[False]), keep=keep)
    return tuple(waiting), due, quiet


def _clipped(residual: float) -> float:
    return min(max(residual, -RESIDUAL_LIMIT), RESIDUAL_LIMIT)


def _pool(rows: list[tuple[float, float, float, float]]) -> ResidualPool:
    """Rows of (residual, error, end residual, end error) as a pool."""
    if not rows:
        return ResidualPool.empty()
    columns = np.array(rows, dtype=np.float64).T
    return ResidualPool(columns[0], columns[1], columns[2], columns[3])
