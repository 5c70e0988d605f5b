"""Holt-Winters (additive trend and season) fitted with statsmodels, and its state rolled forward.

statsmodels estimates the smoothing parameters and the initial state. Between two estimations the
fitted model is reused: its state (level, trend, seasonal terms) is advanced over each new bin with
the same recursions statsmodels uses (``statsmodels.tsa.holtwinters``, additive, undamped), so a
forecast always starts from the latest data while the costly optimisation runs only now and then.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ebbtide.scaling.series import FloatArray


@dataclass(frozen=True)
class SmoothingParams:
    """The smoothing weights: alpha (level), beta (trend), gamma (season), each in [0, 1]."""

    alpha: float
    beta: float
    gamma: float


@dataclass(frozen=True)
class SmoothingState:
    """The model after some bin: ``seasons[0]`` is the seasonal term of the next bin and
    ``seasons[-1]`` that of the bin just seen."""

    level: float
    trend: float
    seasons: tuple[float, ...]

    def advance(self, values: FloatArray, params: SmoothingParams) -> SmoothingState:
        """The state after seeing ``values``, one per bin, in order."""
        level, trend = self.level, self.trend
        seasons = list(self.seasons)
        length = len(seasons)
        alpha, beta, gamma = params.alpha, params.beta, params.gamma
        for offset, value in enumerate(values.tolist()):
            slot = offset % length
            season = seasons[slot]
            new_level = alpha * (value - season) + (1 - alpha) * (level + trend)
            seasons[slot] = gamma * (value - level - trend) + (1 - gamma) * season
            trend = beta * (new_level - level) + (1 - beta) * trend
            level = new_level
        turn = len(values) % length
        return SmoothingState(level=level, trend=trend, seasons=tuple(seasons[turn:] + seasons[:turn]))

    def predict(self, bins_ahead: float) -> float:
        """The model's value ``bins_ahead`` bins after the last bin seen (0 = its fitted value);
        fractional distances interpolate linearly between the neighbouring bins."""
        lower = int(np.floor(bins_ahead))
        share = bins_ahead - lower
        low = self._at(lower)
        return low if share == 0 else low + share * (self._at(lower + 1) - low)

    def _at(self, bins_ahead: int) -> float:
        season = self.seasons[(bins_ahead - 1) % len(self.seasons)]
        return self.level + bins_ahead * self.trend + season


@dataclass(frozen=True)
class Fit:
    """The outcome of one call into statsmodels, with the warnings it raised."""

    params: SmoothingParams
    state: SmoothingState
    warnings: tuple[str, ...]


def minimum_bins(per_season: int) -> int:
    """Bins statsmodels' heuristic initialisation needs: two full seasons, and at least ten
    seasonally adjusted points."""
    return max(2 * per_season, 10 + 2 * (per_season // 2))


def estimate(values: FloatArray, *, per_season: int, start: SmoothingParams | None) -> Fit:
    """Estimate the smoothing weights on ``values`` (one per bin) and return the state after the
    last bin.

    Starting from the previous weights (``start``) a local optimiser converges in a few
    iterations; without them statsmodels' default search (a coarse grid, then L-BFGS-B) is used.
    Initial states come from the heuristic of Hyndman & Athanasopoulos, FPP section 2.6, which is
    far cheaper than estimating one seasonal term per bin. Raises ValueError on data statsmodels
    cannot fit.
    """
    model = _model(values, per_season=per_season)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if start is None:
            result = model.fit()
        else:
            result = model.fit(
                start_params=np.array([start.alpha, start.beta, start.gamma]),
                use_brute=False,
                method="SLSQP",
            )
    return _as_fit(result, per_season=per_season, caught=caught)


def refilter(values: FloatArray, *, per_season: int, params: SmoothingParams) -> Fit:
    """Run the model with fixed weights over ``values`` and return the state after the last
    bin: what :func:`estimate` returns without the optimisation. Raises ValueError as it does."""
    model = _model(values, per_season=per_season)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(
            smoothing_level=params.alpha,
            smoothing_trend=params.beta,
            smoothing_seasonal=params.gamma,
            optimized=False,
        )
    return _as_fit(result, per_season=per_season, caught=caught)


def _model(values: FloatArray, *, per_season: int) -> Any:
    # Imported on first use: statsmodels takes seconds to import, and most callers of this
    # package (the reactive planner, the command line) never fit a model.
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    return ExponentialSmoothing(
        values,
        trend="add",
        seasonal="add",
        seasonal_periods=per_season,
        initialization_method="heuristic",
    )


def _as_fit(result: Any, *, per_season: int, caught: list[warnings.WarningMessage]) -> Fit:
    params = result.params
    weights = SmoothingParams(
        alpha=float(params["smoothing_level"]),
        beta=float(params["smoothing_trend"]),
        gamma=float(params["smoothing_seasonal"]),
    )
    state = SmoothingState(
        level=float(result.level[-1]),
        trend=float(result.trend[-1]),
        seasons=tuple(float(s) for s in result.season[-per_season:]),
    )
    numbers = (weights.alpha, weights.beta, weights.gamma, state.level, state.trend, *state.seasons)
    if not bool(np.all(np.isfinite(numbers))):
        raise ValueError("Holt-Winters fit produced non-finite values")
    messages = tuple(f"{w.category.__name__}: {w.message}" for w in caught)
    return Fit(params=weights, state=state, warnings=messages)
