"""``HoltWinters``: exponential smoothing with additive trend and season (statsmodels).

Cost control, because the forecast is recomputed every planning interval:

* the history is averaged into bins, at most ``max_season_points`` per season (96: 15-minute
  bins for a daily season), so the fit's size does not grow with the sampling rate;
* the smoothing weights are re-estimated only once a twelfth of the fitting window is new data
  (every 6 hours on a 3-day history). In between the fitted model is reused: its state is rolled
  forward over each new bin with the fitted weights, so forecasts still start from the latest bin.
  Weights describe how fast level, trend and season move, which changes slowly; the state is what
  must follow the data, and it does;
* a re-estimation starts from the previous weights, which makes it about ten times cheaper than
  the first one.

All of this lives in the returned ``memo``; the forecaster itself keeps no state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ebbtide.scaling.forecasting.base import Forecast, ModelName
from ebbtide.scaling.forecasting.holt_winters_fit import (
    SmoothingParams,
    SmoothingState,
    estimate,
    minimum_bins,
    refilter,
)
from ebbtide.scaling.forecasting.linear import Linear
from ebbtide.scaling.grid import Bins, complete_bins, latest_bin, seasonal_bin_width
from ebbtide.scaling.series import LoadSeries

MAX_SEASON_POINTS = 96
REFIT_WINDOW_SHARE = 1 / 12


@dataclass(frozen=True)
class HoltWintersMemo:
    """A fitted model: weights estimated on the window ending at bin ``estimated_bin``, state
    after bin ``last_bin``, for bins of ``width`` seconds, ``per_season`` to a season."""

    width: float
    per_season: int
    params: SmoothingParams
    state: SmoothingState
    last_bin: int
    estimated_bin: int


@dataclass(frozen=True)
class HoltWinters:
    """Additive Holt-Winters on bin means of the history, read off at ``last + horizon``.

    Needs a season and two full seasons of history (statsmodels' heuristic initialisation
    does); otherwise, or if the fit fails, answers as :class:`Linear` and says why in the note.
    Warnings statsmodels raises while fitting (ConvergenceWarning and the like) are caught and
    returned in ``Forecast.warnings``. A negative result is cut to zero.
    """

    season: float | None
    max_season_points: int = MAX_SEASON_POINTS
    refit_share: float = REFIT_WINDOW_SHARE

    @property
    def name(self) -> ModelName:
        return ModelName.HOLT_WINTERS

    def forecast(
        self, history: LoadSeries, *, horizon: float, step: float, memo: object | None = None
    ) -> Forecast:
        if self.season is None:
            return _fall_back(history, horizon=horizon, step=step, why="no seasonality set")
        width, per_season = seasonal_bin_width(
            season=self.season, step=step, max_points=self.max_season_points
        )
        if per_season < 2:
            return _fall_back(history, horizon=horizon, step=step, why="season shorter than 2 samples")
        bins = complete_bins(history, width=width)
        needed = minimum_bins(per_season)
        if bins is None or bins.values.size < needed:
            have = 0 if bins is None else bins.values.size
            why = (
                f"needs two full seasons of history ({needed * width / 3600:g}h), "
                f"has {have * width / 3600:g}h"
            )
            return _fall_back(history, horizon=horizon, step=step, why=why)
        previous = memo if isinstance(memo, HoltWintersMemo) else None
        if previous is not None and (previous.width, previous.per_season) != (width, per_season):
            previous = None
        try:
            fitted, caught = self._fitted(bins, previous=previous, per_season=per_season)
        except ValueError as error:
            return _fall_back(history, horizon=horizon, step=step, why=f"fit failed ({error})", memo=memo)
        state, reference = fitted.state, bins.last_time
        filling = latest_bin(history, width=width)
        if filling is not None and filling.index == bins.last + 1:
            # The bin still filling holds the freshest load: fold its mean in provisionally (not
            # into the memo, whose state must only ever see whole bins).
            state = state.advance(np.array([filling.value]), fitted.params)
            reference = filling.time
        bins_ahead = (history.last_time + horizon - reference) / width
        value = state.predict(bins_ahead)
        if not math.isfinite(value):
            return _fall_back(history, horizon=horizon, step=step, why="non-finite forecast", memo=memo)
        return Forecast(value=max(0.0, value), model=ModelName.HOLT_WINTERS, warnings=caught, memo=fitted)

    def _fitted(
        self, bins: Bins, *, previous: HoltWintersMemo | None, per_season: int
    ) -> tuple[HoltWintersMemo, tuple[str, ...]]:
        """The model fitted to ``bins``: reused and rolled forward when possible."""
        refit_after = max(1, math.ceil(bins.values.size * self.refit_share))
        if previous is not None:
            if previous.last_bin > bins.last:
                # Asked about an earlier time than last call (a hold-out replay): keep the weights,
                # rebuild the state from this history.
                fit = refilter(bins.values, per_season=per_season, params=previous.params)
                return replace(previous, state=fit.state, last_bin=bins.last), fit.warnings
            in_reach = previous.last_bin >= bins.first - 1
            if in_reach and bins.last - previous.estimated_bin < refit_after:
                fresh = bins.from_index(previous.last_bin + 1)
                state = previous.state.advance(fresh, previous.params)
                return replace(previous, state=state, last_bin=bins.last), ()
        start = None if previous is None else previous.params
        fit = estimate(bins.values, per_season=per_season, start=start)
        memo = HoltWintersMemo(
            width=bins.width,
            per_season=per_season,
            params=fit.params,
            state=fit.state,
            last_bin=bins.last,
            estimated_bin=bins.last,
        )
        return memo, fit.warnings


def _fall_back(
    history: LoadSeries, *, horizon: float, step: float, why: str, memo: object | None = None
) -> Forecast:
    linear = Linear().forecast(history, horizon=horizon, step=step)
    return Forecast(
        value=linear.value,
        model=linear.model,
        note=f"HoltWinters: {why}; used Linear",
        memo=memo,
    )
