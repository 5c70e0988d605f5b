"""The planner's forecast: the load expected at ``now + horizon``, or why there is none."""

from __future__ import annotations

import math

from ebbtide.scaling.forecasting import Forecast, Forecaster, ModelName, forecaster_for
from ebbtide.scaling.series import LoadSeries
from ebbtide.scaling.settings import PlannerSettings


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
    if forecaster is None:
        forecaster = forecaster_for(prediction.model, season=prediction.seasonality)
    if forecaster is None:
        return None, ""
    window = history.since(now - prediction.history).finite()
    if len(window) == 0:
        return None, "no finite samples within the history window"
    # Measured from the last sample, so the metrics lag is forecast across too.
    horizon = max(0.0, now + prediction.horizon - window.last_time)
    try:
        forecast = forecaster.forecast(window, horizon=horizon, step=settings.interval, memo=memo)
    except Exception as error:  # a failing model must never stop reactive scaling
        return None, f"forecast failed: {type(error).__name__}: {error}"
    if not math.isfinite(forecast.value):
        return None, f"forecast is {forecast.value}"
    return forecast, ""
