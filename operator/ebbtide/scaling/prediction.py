"""The planner's forecast: the load expected at ``now + horizon``, the distributions of the load
then and of the peak load until then, and the load the predictive part provisions for (priced
on the same history, see :mod:`~ebbtide.scaling.forecasting.sizing`), or why there is none.

The season a seasonal model uses is the declared one, else the one found in the history
(:mod:`~ebbtide.scaling.forecasting.seasonality`); the search runs once every
``SEASON_SEARCH_EVERY`` seconds, its answer kept in the memo. The price of an overload is
measured on the whole history window, which moves little from one round to the next, so it too
is measured once every ``PRICE_EVERY`` seconds and kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ebbtide.scaling.forecasting import Forecast, Forecaster, ModelName, Sizing, forecaster_for
from ebbtide.scaling.forecasting.seasonality import detect_season
from ebbtide.scaling.forecasting.sizing import overload_value
from ebbtide.scaling.series import LoadSeries
from ebbtide.scaling.settings import PlannerSettings

SEASON_SEARCH_EVERY = 3600.0
PRICE_EVERY = 900.0
_SEASONAL = (ModelName.AUTO, ModelName.HOLT_WINTERS, ModelName.SEASONAL_NAIVE)


@dataclass(frozen=True)
class PredictionMemo:
    """The season in use and when it was found, the price of an overload and when it was
    measured, and the forecaster's own memo."""

    season: float | None
    searched_at: float
    inner: object | None
    price: float = 0.0
    priced_at: float = float("-inf")
    priced_for: tuple[float, float] | None = None
    """The overload weight and target per replica the price was measured for."""


def forecast_ahead(
    *,
    settings: PlannerSettings,
    history: LoadSeries,
    now: float,
    memo: object | None,
    forecaster: Forecaster | None = None,
) -> tuple[Forecast | None, str]:
    """The forecast for ``now + horizon`` from the last ``prediction.history`` seconds of
    ``history`` (finite samples only), or None and why not (an empty reason: the model is None).
    ``memo`` is the previous forecast's memo. ``forecaster``, if given, stands in for the model
    the settings name. A model that raises or returns a non-finite value gives None: a failing
    model must never stop reactive scaling."""
    prediction = settings.prediction
    if prediction.model is ModelName.NONE:
        return None, ""
    window = history.since(now - prediction.history).finite()
    if len(window) == 0:
        return None, "no finite samples within the history window"
    previous = memo if isinstance(memo, PredictionMemo) and memo.searched_at <= window.last_time else None
    season, searched_at = _season(settings, window=window, previous=previous)
    price, priced_at = _price(settings, window=window, previous=previous)
    sizing = Sizing(
        quantile=prediction.quantile, target_per_replica=settings.target_per_replica, overload_value=price
    )
    if forecaster is None:
        forecaster = forecaster_for(prediction.model, season=season, sizing=sizing)
    if forecaster is None:
        return None, ""
    # Measured from the last sample, so the metrics lag is forecast across too.
    horizon = max(0.0, now + prediction.horizon - window.last_time)
    # A new season makes a seasonal model's memo meaningless; Auto sorts out its candidates'.
    carries = prediction.model is ModelName.AUTO
    inner = None if previous is None or (previous.season != season and not carries) else previous.inner
    try:
        forecast = forecaster.forecast(window, horizon=horizon, step=settings.interval, memo=inner)
    except Exception as error:  # a failing model must never stop reactive scaling
        return None, f"forecast failed: {type(error).__name__}: {error}"
    if not math.isfinite(forecast.value):
        return None, f"forecast is {forecast.value}"
    wrapped = PredictionMemo(
        season=season,
        searched_at=searched_at,
        inner=forecast.memo,
        price=price,
        priced_at=priced_at,
        priced_for=(prediction.overload_weight, settings.target_per_replica),
    )
    return replace(forecast, memo=wrapped, provisioned=sizing.provisioned(forecast)), ""


def _season(
    settings: PlannerSettings, *, window: LoadSeries, previous: PredictionMemo | None
) -> tuple[float | None, float]:
    prediction = settings.prediction
    if prediction.seasonality is not None or prediction.model not in _SEASONAL:
        return prediction.seasonality, window.last_time
    if previous is not None and window.last_time - previous.searched_at < SEASON_SEARCH_EVERY:
        return previous.season, previous.searched_at
    return detect_season(window, step=settings.interval), window.last_time


def _price(
    settings: PlannerSettings, *, window: LoadSeries, previous: PredictionMemo | None
) -> tuple[float, float]:
    """The price of an overload on ``window`` (see :func:`overload_value`) and when it was
    measured: the memo's, unless that is ``PRICE_EVERY`` old (or from the future) or for another
    weight or target."""
    prediction = settings.prediction
    if (
        previous is not None
        and previous.priced_for == (prediction.overload_weight, settings.target_per_replica)
        and 0.0 <= window.last_time - previous.priced_at < PRICE_EVERY
    ):
        return previous.price, previous.priced_at
    price = overload_value(
        window,
        weight=prediction.overload_weight,
        target_per_replica=settings.target_per_replica,
        horizon=prediction.horizon,
    )
    return price, window.last_time
